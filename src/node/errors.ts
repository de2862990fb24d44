/**
 * Errors that the Node's promises reject with.
 *
 * Every class carries a stable `code` and, where one exists, the lower-level error as
 * `cause`. Compare with `instanceof` or `code`:
 *
 * ```ts
 * try { await node.propose(data); } catch (err) { if (err instanceof ErrNotLeader) ... }
 * ```
 *
 * A proposal can also reject with the core's ErrProposalDropped (code ERR_PROPOSAL_DROPPED,
 * re-exported from src/node/index.ts) and any wait rejects with its `signal.reason` when the
 * signal aborts.
 */

/** NodeErrorCode lists the stable `code` of every NodeError subclass. */
export const NodeErrorCode = {
  ErrNodeClosed: 'ERR_NODE_CLOSED',
  ErrNodeStopped: 'ERR_NODE_STOPPED',
  ErrNotLeader: 'ERR_NOT_LEADER',
  ErrLeaderChanged: 'ERR_LEADER_CHANGED',
  ErrOutcomeUnknown: 'ERR_OUTCOME_UNKNOWN',
  ErrTransferFailed: 'ERR_TRANSFER_FAILED',
} as const;
/** NodeErrorCode is the `code` string of a NodeError. */
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

/** NodeErrorOptions are the optional constructor arguments of every NodeError. */
export interface NodeErrorOptions {
  /** The lower-level error that led to this one, if any. */
  cause?: unknown;
}

/** NodeError is the base class of the Node's errors; `code` never changes. */
export class NodeError extends Error {
  readonly code: NodeErrorCode;

  constructor(code: NodeErrorCode, message: string, options?: NodeErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * ErrNodeClosed: the node was closed (or is closing) before the operation finished. A
 * proposal that was already handed to raft may still be committed by the others.
 */
export class ErrNodeClosed extends NodeError {
  override readonly name = 'ErrNodeClosed';
  constructor(options?: NodeErrorOptions) {
    super(NodeErrorCode.ErrNodeClosed, 'raft node is closed', options);
  }
}

/**
 * ErrNodeStopped: the node stopped for good after a fatal error (a failed storage write, a
 * state machine that threw, a broken raft invariant); `cause` is that error.
 */
export class ErrNodeStopped extends NodeError {
  override readonly name = 'ErrNodeStopped';
  constructor(options?: NodeErrorOptions) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(NodeErrorCode.ErrNodeStopped, `raft node stopped after a fatal error${why}`, options);
  }
}

/**
 * ErrNotLeader: the operation must run on the leader. `leader` is the leader this node
 * knows of (0 if none) and `leaderAddress` its address, when known.
 */
export class ErrNotLeader extends NodeError {
  override readonly name = 'ErrNotLeader';
  readonly leader: number;
  readonly leaderAddress: string | undefined;
  constructor(leader: number, leaderAddress?: string, options?: NodeErrorOptions) {
    const where = leader === 0 ? 'no leader known' : `leader is ${leader}`;
    super(NodeErrorCode.ErrNotLeader, `raft node is not the leader (${where})`, options);
    this.leader = leader;
    this.leaderAddress = leaderAddress;
  }
}

/**
 * ErrLeaderChanged: the proposal's entry was replaced by another leader's entry, or a
 * forwarded proposal never reached the log of the leader it was sent to before that
 * leader's term ended. Either way the proposal was not applied and will not be: it is safe
 * to retry.
 */
export class ErrLeaderChanged extends NodeError {
  override readonly name = 'ErrLeaderChanged';
  constructor(options?: NodeErrorOptions) {
    super(NodeErrorCode.ErrLeaderChanged, 'raft leader changed; proposal was not applied', options);
  }
}

/**
 * ErrOutcomeUnknown: a snapshot from the leader replaced the part of this node's log that
 * held the proposal, so this node cannot tell whether it was applied (the snapshot's state
 * includes it or not). Check the state before retrying.
 */
export class ErrOutcomeUnknown extends NodeError {
  override readonly name = 'ErrOutcomeUnknown';
  constructor(options?: NodeErrorOptions) {
    super(
      NodeErrorCode.ErrOutcomeUnknown,
      'raft proposal outcome unknown: a snapshot replaced its log entry',
      options,
    );
  }
}

/**
 * ErrTransferFailed: a leadership transfer was refused (unknown or learner target) or timed
 * out inside raft (the target did not catch up within an election timeout). `leader` is the
 * leader after the attempt.
 */
export class ErrTransferFailed extends NodeError {
  override readonly name = 'ErrTransferFailed';
  readonly leader: number;
  constructor(target: number, leader: number, options?: NodeErrorOptions) {
    super(
      NodeErrorCode.ErrTransferFailed,
      `raft leadership transfer to ${target} failed (leader is ${leader})`,
      options,
    );
    this.leader = leader;
  }
}
