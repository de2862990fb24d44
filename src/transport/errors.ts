/**
 * Errors of the transport. None of them ever reaches the raft core: the transport catches
 * each one, closes the connection it concerns and logs one line naming the peer and the
 * reason. They are exported so that tests, tools and log readers can match `code`.
 *
 * Every class carries a stable `code` and, where one exists, the lower-level `cause`
 * (nodejs/undici `lib/core/errors.js`).
 */

/** TransportErrorCode lists the stable `code` of every TransportError subclass. */
export const TransportErrorCode = {
  /** A frame was malformed or larger than the limit (see FrameDecodeError). */
  Frame: 'ERR_TRANSPORT_FRAME',
  /** The handshake failed: wrong cluster, receiver, member, identity or version. */
  Handshake: 'ERR_TRANSPORT_HANDSHAKE',
  /** A well-formed frame broke the protocol (wrong time, wrong ids, wrong message type). */
  Protocol: 'ERR_TRANSPORT_PROTOCOL',
  /** A streamed snapshot was too large, out of order or failed its checksum. */
  Snapshot: 'ERR_TRANSPORT_SNAPSHOT',
  /** The transport could not listen on its address. */
  Listen: 'ERR_TRANSPORT_LISTEN',
} as const;
/** TransportErrorCode is the `code` string of a TransportError. */
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];

/** TransportErrorOptions are the optional constructor arguments of every TransportError. */
export interface TransportErrorOptions {
  /** The lower-level error that led to this one, if any. */
  cause?: unknown;
}

/** TransportError is the base class of the transport's errors; `code` never changes. */
export class TransportError extends Error {
  /** code identifies the kind of failure; see TransportErrorCode. */
  readonly code: TransportErrorCode;

  /** Creates the error with its stable code and message. */
  constructor(code: TransportErrorCode, message: string, options?: TransportErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'TransportError';
  }
}

/**
 * FrameDecodeError is thrown by FrameDecoder for bytes it refuses: a length above the
 * limit, an unknown frame type, a body whose layout is wrong for its type, a raftpb message
 * that fails to decode (then `cause` is the RaftpbDecodeError), or a stream that ends inside
 * a frame. `offset` is the position in the stream where the offending frame starts.
 */
export class FrameDecodeError extends TransportError {
  /** offset is the stream offset of the first byte of the offending frame. */
  readonly offset: number;

  /** Creates the error; the message always starts with "Cannot decode frame". */
  constructor(reason: string, offset: number, options?: TransportErrorOptions) {
    super(TransportErrorCode.Frame, `Cannot decode frame: ${reason}`, options);
    this.name = 'FrameDecodeError';
    this.offset = offset;
  }
}

/**
 * HandshakeError explains why a connection was refused before any message could pass:
 * `reason` is the RejectReason sent to (or received from) the other side, or `tls` when
 * the certificate check failed.
 */
export class HandshakeError extends TransportError {
  /** reason is the machine-readable cause, such as `wrong-cluster`. */
  readonly reason: string;

  /** Creates the error. */
  constructor(reason: string, message: string, options?: TransportErrorOptions) {
    super(TransportErrorCode.Handshake, message, options);
    this.name = 'HandshakeError';
    this.reason = reason;
  }
}

/** ProtocolError is a well-formed frame that the protocol does not allow where it came. */
export class ProtocolError extends TransportError {
  /** Creates the error. */
  constructor(message: string, options?: TransportErrorOptions) {
    super(TransportErrorCode.Protocol, message, options);
    this.name = 'ProtocolError';
  }
}

/** SnapshotStreamError is a streamed snapshot that was refused (size, order, checksum). */
export class SnapshotStreamError extends TransportError {
  /** Creates the error. */
  constructor(message: string, options?: TransportErrorOptions) {
    super(TransportErrorCode.Snapshot, message, options);
    this.name = 'SnapshotStreamError';
  }
}
