/**
 * Errors of the write-ahead log that callers are expected to catch.
 *
 * Every class carries a stable `code`; compare with `instanceof` or `code`. The lower-level
 * error (an `EIO` from the file system, a decode error) is kept as `cause`.
 */

/** WalErrorCode lists the stable `code` of every WalError subclass. */
export const WalErrorCode = {
  Corrupt: 'ERR_WAL_CORRUPT',
  Failed: 'ERR_WAL_FAILED',
  Closed: 'ERR_WAL_CLOSED',
} as const;
/** WalErrorCode is the `code` string of a WalError. */
export type WalErrorCode = (typeof WalErrorCode)[keyof typeof WalErrorCode];

/** WalErrorOptions are the optional constructor arguments of every WalError. */
export interface WalErrorOptions {
  /** The lower-level error that led to this one, if any. */
  cause?: unknown;
}

/** WalError is the base class of the errors in this file; `code` never changes. */
export class WalError extends Error {
  /** code is the stable error code. */
  readonly code: WalErrorCode;

  /** Creates the error with its code, message and optional cause. */
  constructor(code: WalErrorCode, message: string, options?: WalErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * WalCorruptError is thrown by openDiskStorage when the data on disk cannot be trusted: a
 * checksum mismatch, a malformed record or non-zero bytes anywhere before the torn tail, a
 * missing segment, or a log that no valid snapshot covers. Open refuses instead of
 * truncating: a human decides what to do. `file` names the file (or directory) and `offset`
 * the byte where the bad record starts.
 */
export class WalCorruptError extends WalError {
  override readonly name = 'WalCorruptError';
  /** file is the path of the damaged file, or of the directory for a missing file. */
  readonly file: string;
  /** offset is the byte offset in `file` where the damaged record starts. */
  readonly offset: number;
  /** reason says what is wrong, without the file and offset. */
  readonly reason: string;

  /** Creates the error; the message reads "wal: <file> at offset <offset>: <reason>". */
  constructor(file: string, offset: number, reason: string, options?: WalErrorOptions) {
    super(WalErrorCode.Corrupt, `wal: ${file} at offset ${offset}: ${reason}`, options);
    this.file = file;
    this.offset = offset;
    this.reason = reason;
  }
}

/**
 * WalFailedError rejects every write after an I/O error (a failed write, fsync, rename...).
 * The storage never retries: after a failed fsync the kernel may have dropped the dirty
 * pages, so a retry that succeeds would acknowledge data that is not on disk. The writes
 * that were in flight are not acknowledged; the process must reopen the storage (which
 * recovers whatever did reach the disk). `cause` is the first I/O error.
 */
export class WalFailedError extends WalError {
  override readonly name = 'WalFailedError';

  /** Creates the error around the I/O error that stopped the storage. */
  constructor(options?: WalErrorOptions) {
    super(
      WalErrorCode.Failed,
      'wal: storage failed after an I/O error and accepts no more writes',
      options,
    );
  }
}

/** WalClosedError rejects every write after close() was called. */
export class WalClosedError extends WalError {
  override readonly name = 'WalClosedError';

  /** Creates the error. */
  constructor(options?: WalErrorOptions) {
    super(WalErrorCode.Closed, 'wal: storage is closed', options);
  }
}
