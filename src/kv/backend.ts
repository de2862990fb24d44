/**
 * RaftBackend: everything raftkv's API needs from the raft member it runs on. The Node
 * (src/node) provides it through nodeBackend() (node_backend.ts); LocalBackend
 * (local_backend.ts) is a single-member implementation on RawNode for tests and `local`.
 */
import type { AbortLike } from '../node/waiter.ts';

/** BackendWaitOptions is the `{ signal }` of every backend call that waits. */
export interface BackendWaitOptions {
  /**
   * Aborting it rejects the call with `signal.reason`; a proposal may still be applied. An
   * AbortSignal, or any AbortLike (KvService passes its RequestCall).
   */
  signal?: AbortLike | undefined;
}

/** BackendStatus is the member's raft state as the API reports it. */
export interface BackendStatus {
  /** leader is the id of the leader this member knows of; 0 when there is none. */
  leader: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  /** isLearner: this member is a non-voting learner. */
  isLearner: boolean;
}

/** BackendMember is one member of the raft configuration. */
export interface BackendMember {
  id: number;
  /** peerURLs are the addresses other members reach it at (may be empty when unknown). */
  peerURLs: string[];
  isLearner: boolean;
}

/**
 * RaftBackend is one raft member with the KvStateMachine as its state machine.
 *
 * Error contract: waits reject with `signal.reason` when the signal aborts, and otherwise
 * with errors whose `code` is one of BackendErrorCode (the Node's error classes have these
 * codes): ERR_PROPOSAL_DROPPED and ERR_LEADER_CHANGED mean the command was not applied and
 * may be retried; ERR_OUTCOME_UNKNOWN that it may or may not have been; ERR_NOT_LEADER that
 * the call must go to the leader; ERR_NODE_CLOSED / ERR_NODE_STOPPED that the member is
 * gone. Membership calls reject with RangeError for a change raft refuses, and with an
 * error of code ERR_LEARNER_NOT_READY when a learner to promote is not caught up.
 */
export interface RaftBackend {
  /** id is this member's id. */
  readonly id: number;
  /** clusterId identifies the cluster; the same on every member. */
  readonly clusterId: number;
  /**
   * propose replicates cmd (a raftkv.Command) and resolves with what the state machine's
   * apply() returned for it on this member.
   */
  propose(cmd: Uint8Array, options?: BackendWaitOptions): Promise<unknown>;
  /**
   * readIndex resolves once this member's state machine has applied everything committed
   * before the call (ReadIndex, Raft thesis §6.4), so that a read from it is linearizable.
   */
  readIndex(options?: BackendWaitOptions): Promise<void>;
  /** status returns the member's raft state now. */
  status(): BackendStatus;
  /** members returns the current configuration (voters, then learners). */
  members(): BackendMember[];
  /** addMember adds member id reachable at peerURLs, as a voter or a learner. Leader only. */
  addMember(
    id: number,
    peerURLs: readonly string[],
    options: BackendWaitOptions & { learner: boolean },
  ): Promise<void>;
  /** promoteMember makes learner id a voter. Leader only. */
  promoteMember(id: number, options?: BackendWaitOptions): Promise<void>;
  /** removeMember removes member id. Leader only. */
  removeMember(id: number, options?: BackendWaitOptions): Promise<void>;
  /** transferLeadership hands leadership to member `to`; resolves once it leads. Leader only. */
  transferLeadership(to: number, options?: BackendWaitOptions): Promise<void>;
  /** onLeaderChange calls listener with each new leader id (0: none); returns unsubscribe. */
  onLeaderChange(listener: (leader: number) => void): () => void;
}

/** BackendErrorCode lists the `code` values of the errors a RaftBackend rejects with. */
export const BackendErrorCode = {
  ProposalDropped: 'ERR_PROPOSAL_DROPPED',
  LeaderChanged: 'ERR_LEADER_CHANGED',
  OutcomeUnknown: 'ERR_OUTCOME_UNKNOWN',
  NotLeader: 'ERR_NOT_LEADER',
  NodeClosed: 'ERR_NODE_CLOSED',
  NodeStopped: 'ERR_NODE_STOPPED',
  TransferFailed: 'ERR_TRANSFER_FAILED',
  LearnerNotReady: 'ERR_LEARNER_NOT_READY',
} as const;
/** BackendErrorCode is the `code` string of a backend error. */
export type BackendErrorCode = (typeof BackendErrorCode)[keyof typeof BackendErrorCode];

/** errorCode returns err.code when err is an object with a string code. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** BackendError is an error a backend raises itself, with one of BackendErrorCode. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  readonly code: BackendErrorCode;
  constructor(code: BackendErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
