/**
 * Errors of the raft core that callers are expected to catch.
 *
 * Every class carries a stable `code` and keeps etcd-raft's message text, so logs and
 * conformance output read the same as Go's. Compare with `instanceof` or `code`:
 *
 * ```ts
 * try { storage.term(i); } catch (err) { if (err instanceof ErrCompacted) ... }
 * ```
 *
 * A broken invariant is not one of these: it throws a RaftPanic (see logger.ts).
 */

/** ErrorCode lists the stable `code` of every RaftError subclass. */
export const ErrorCode = {
  ErrCompacted: 'ERR_COMPACTED',
  ErrSnapOutOfDate: 'ERR_SNAP_OUT_OF_DATE',
  ErrUnavailable: 'ERR_UNAVAILABLE',
  ErrSnapshotTemporarilyUnavailable: 'ERR_SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  ErrProposalDropped: 'ERR_PROPOSAL_DROPPED',
  ErrStepLocalMsg: 'ERR_STEP_LOCAL_MSG',
  ErrStepPeerNotFound: 'ERR_STEP_PEER_NOT_FOUND',
  ErrConfigInvalid: 'ERR_CONFIG_INVALID',
} as const;
/** ErrorCode is the `code` string of a RaftError. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** RaftErrorOptions are the optional constructor arguments of every RaftError. */
export interface RaftErrorOptions {
  /** The lower-level error that led to this one, if any. */
  cause?: unknown;
}

/** RaftError is the base class of the errors in this file; `code` never changes. */
export class RaftError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: RaftErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * ErrCompacted is thrown by Storage.entries, Storage.term and MemoryStorage.compact when the
 * requested index predates the last snapshot (it was compacted away).
 */
export class ErrCompacted extends RaftError {
  static readonly code = ErrorCode.ErrCompacted;
  static readonly message = 'requested index is unavailable due to compaction';
  override readonly name = 'ErrCompacted';
  constructor(options?: RaftErrorOptions) {
    super(ErrCompacted.code, ErrCompacted.message, options);
  }
}

/**
 * ErrSnapOutOfDate is thrown by MemoryStorage.createSnapshot and applySnapshot when the
 * snapshot is not newer than the one already held.
 */
export class ErrSnapOutOfDate extends RaftError {
  static readonly code = ErrorCode.ErrSnapOutOfDate;
  static readonly message = 'requested index is older than the existing snapshot';
  override readonly name = 'ErrSnapOutOfDate';
  constructor(options?: RaftErrorOptions) {
    super(ErrSnapOutOfDate.code, ErrSnapOutOfDate.message, options);
  }
}

/** ErrUnavailable is thrown by Storage when a requested entry is past the end of the log. */
export class ErrUnavailable extends RaftError {
  static readonly code = ErrorCode.ErrUnavailable;
  static readonly message = 'requested entry at index is unavailable';
  override readonly name = 'ErrUnavailable';
  constructor(options?: RaftErrorOptions) {
    super(ErrUnavailable.code, ErrUnavailable.message, options);
  }
}

/**
 * ErrSnapshotTemporarilyUnavailable is thrown by Storage.snapshot when a snapshot is being
 * prepared; raft then retries later instead of giving up.
 */
export class ErrSnapshotTemporarilyUnavailable extends RaftError {
  static readonly code = ErrorCode.ErrSnapshotTemporarilyUnavailable;
  static readonly message = 'snapshot is temporarily unavailable';
  override readonly name = 'ErrSnapshotTemporarilyUnavailable';
  constructor(options?: RaftErrorOptions) {
    super(
      ErrSnapshotTemporarilyUnavailable.code,
      ErrSnapshotTemporarilyUnavailable.message,
      options,
    );
  }
}

/**
 * ErrProposalDropped is thrown when a proposal is ignored (no leader, leadership transfer
 * in progress, uncommitted size limit, ...); the caller may retry.
 */
export class ErrProposalDropped extends RaftError {
  static readonly code = ErrorCode.ErrProposalDropped;
  static readonly message = 'raft proposal dropped';
  override readonly name = 'ErrProposalDropped';
  constructor(options?: RaftErrorOptions) {
    super(ErrProposalDropped.code, ErrProposalDropped.message, options);
  }
}

/** ErrStepLocalMsg is thrown when a raft-local message type is passed to RawNode.step. */
export class ErrStepLocalMsg extends RaftError {
  static readonly code = ErrorCode.ErrStepLocalMsg;
  static readonly message = 'raft: cannot step raft local message';
  override readonly name = 'ErrStepLocalMsg';
  constructor(options?: RaftErrorOptions) {
    super(ErrStepLocalMsg.code, ErrStepLocalMsg.message, options);
  }
}

/** ErrStepPeerNotFound is thrown when a response arrives from a peer that is not tracked. */
export class ErrStepPeerNotFound extends RaftError {
  static readonly code = ErrorCode.ErrStepPeerNotFound;
  static readonly message = 'raft: cannot step as peer not found';
  override readonly name = 'ErrStepPeerNotFound';
  constructor(options?: RaftErrorOptions) {
    super(ErrStepPeerNotFound.code, ErrStepPeerNotFound.message, options);
  }
}

/** ErrConfigInvalid is thrown by Config validation; the message names the bad field. */
export class ErrConfigInvalid extends RaftError {
  static readonly code = ErrorCode.ErrConfigInvalid;
  override readonly name = 'ErrConfigInvalid';
  constructor(message: string, options?: RaftErrorOptions) {
    super(ErrConfigInvalid.code, message, options);
  }
}

/** isRaftError reports whether err is a RaftError, optionally with the given code. */
export function isRaftError(err: unknown, code?: ErrorCode): err is RaftError {
  return err instanceof RaftError && (code === undefined || err.code === code);
}
