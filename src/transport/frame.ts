/**
 * The transport's frame codec: pure functions and a streaming decoder, no I/O.
 *
 * Every frame is a 5-byte header, then its body:
 *
 * ```
 * frame  = length:u32 type:u8 body[length]        (length counts the body only)
 * ```
 *
 * Integers are big-endian. The body layout depends on the type (docs/transport.md has the
 * table); raft messages inside are etcd's raftpb wire format (src/raftpb/codec.ts).
 * The decoder accepts any chunking of the stream, down to one byte at a time
 * (brianc/node-postgres `pg-protocol/src/parser.ts`).
 */
import {
  RaftpbDecodeError,
  decodeMessage,
  encodeMessage,
  encodeMessageInto,
} from '../raftpb/codec.ts';
import type { DecodeOptions } from '../raftpb/codec.ts';
import type { Message } from '../raftpb/types.ts';
import { FrameDecodeError } from './errors.ts';

/** Byte order of every fixed-width integer in a frame: big-endian (network order). */
const LITTLE_ENDIAN = false;

/** FRAME_HEADER_BYTES is the size of the header: a u32 body length and a u8 type. */
export const FRAME_HEADER_BYTES = 5;

/** PROTOCOL_VERSION is the version carried by Hello and Welcome; others are refused. */
export const PROTOCOL_VERSION = 1;

/** DEFAULT_MAX_FRAME_BYTES is the default limit on a frame's body (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** HANDSHAKE_MAX_FRAME_BYTES limits frames before the handshake completes (1 KiB). */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;

/** MAX_REJECT_DETAIL_BYTES limits the UTF-8 explanation carried by a Reject frame. */
export const MAX_REJECT_DETAIL_BYTES = 512;

/** SHA256_BYTES is the length of the snapshot checksum carried by SnapEnd. */
export const SHA256_BYTES = 32;

/** The largest body a u32 length can describe. */
const MAX_U32 = 0xffffffff;

/** Hello and Welcome bodies: version u16, clusterId u64, from u64, to u64. */
const HANDSHAKE_BODY_BYTES = 2 + 8 + 8 + 8;

/** FrameType enumerates the frame types; numbers are the wire values of the type byte. */
export const FrameType = {
  /** Dialer → acceptor, first frame: who I am, whom I want, which cluster. */
  Hello: 1,
  /** Acceptor → dialer: handshake accepted; the same fields seen from the acceptor. */
  Welcome: 2,
  /** Either side: the handshake is refused; the connection closes after it. */
  Reject: 3,
  /** One or more raftpb messages, each prefixed with its u32 length. */
  Messages: 4,
  /** Start of a streamed MsgSnap: stream id, total data size, the message without data. */
  SnapBegin: 5,
  /** A piece of the snapshot data, in order. */
  SnapChunk: 6,
  /** End of a snapshot stream: SHA-256 of all the data. */
  SnapEnd: 7,
  /** Receiver → sender: the snapshot was handed to raft (ok) or refused. */
  SnapAck: 8,
} as const;
/** FrameType is the numeric wire value of a frame type. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** FrameTypeNames maps a FrameType number to its name (index 0 is unused). */
export const FrameTypeNames: readonly string[] = ['', ...Object.keys(FrameType)];

/** RejectReason enumerates why a handshake was refused; numbers are wire values. */
export const RejectReason = {
  Version: 1,
  WrongCluster: 2,
  WrongReceiver: 3,
  UnknownMember: 4,
  RemovedMember: 5,
  Identity: 6,
} as const;
/** RejectReason is the numeric wire value of a reject reason. */
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** RejectReasonNames maps a RejectReason number to a stable kebab-case name. */
export const RejectReasonNames: Readonly<Record<RejectReason, string>> = {
  1: 'version',
  2: 'wrong-cluster',
  3: 'wrong-receiver',
  4: 'unknown-member',
  5: 'removed-member',
  6: 'identity',
};

/** Handshake is the body of Hello and Welcome: `from` is the sender of the frame. */
export interface Handshake {
  version: number;
  clusterId: number;
  from: number;
  to: number;
}

/** HelloFrame opens a connection (dialer → acceptor). */
export interface HelloFrame extends Handshake {
  type: typeof FrameType.Hello;
}
/** WelcomeFrame accepts a connection (acceptor → dialer). */
export interface WelcomeFrame extends Handshake {
  type: typeof FrameType.Welcome;
}
/** RejectFrame refuses a handshake; `detail` is a short human-readable explanation. */
export interface RejectFrame {
  type: typeof FrameType.Reject;
  reason: RejectReason;
  detail: string;
}
/** MessagesFrame carries one or more raft messages, in order. */
export interface MessagesFrame {
  type: typeof FrameType.Messages;
  messages: Message[];
}
/** SnapBeginFrame starts snapshot stream `snapId` of `totalBytes` bytes of data. */
export interface SnapBeginFrame {
  type: typeof FrameType.SnapBegin;
  snapId: number;
  totalBytes: number;
  /** The MsgSnap, with snapshot.data left out (it follows in chunks). */
  message: Message;
}
/** SnapChunkFrame carries the next bytes of snapshot stream `snapId`. */
export interface SnapChunkFrame {
  type: typeof FrameType.SnapChunk;
  snapId: number;
  data: Uint8Array;
}
/** SnapEndFrame closes snapshot stream `snapId` with the SHA-256 of its data. */
export interface SnapEndFrame {
  type: typeof FrameType.SnapEnd;
  snapId: number;
  sha256: Uint8Array;
}
/** SnapAckFrame reports whether snapshot stream `snapId` reached raft. */
export interface SnapAckFrame {
  type: typeof FrameType.SnapAck;
  snapId: number;
  ok: boolean;
}

/** Frame is any decoded frame, discriminated by `type`. */
export type Frame =
  | HelloFrame
  | WelcomeFrame
  | RejectFrame
  | MessagesFrame
  | SnapBeginFrame
  | SnapChunkFrame
  | SnapEndFrame
  | SnapAckFrame;

// ---------------------------------------------------------------------------------------
// Encoding

/** checkU32 throws a RangeError unless v is an integer in 0 .. 2^32-1. */
function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_U32) {
    throw new RangeError(`Cannot encode frame: ${what} ${v} is not an integer in 0..2^32-1`);
  }
}

/** checkU64 throws a RangeError unless v is a safe non-negative integer. */
function checkU64(v: number, what: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`Cannot encode frame: ${what} ${v} is not a safe non-negative integer`);
  }
}

/** view returns a DataView on exactly the bytes of buf. */
function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** writeU64 writes a safe integer as a big-endian u64. */
function writeU64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, Math.floor(v / 0x1_0000_0000), LITTLE_ENDIAN);
  dv.setUint32(at + 4, v >>> 0, LITTLE_ENDIAN);
}

/**
 * writeFrameHeader writes the 5-byte header of a frame with a body of `bodyLength` bytes at
 * `offset` of buf and returns the offset just past it.
 */
export function writeFrameHeader(
  buf: Uint8Array,
  offset: number,
  type: FrameType,
  bodyLength: number,
): number {
  checkU32(bodyLength, 'body length');
  const dv = view(buf);
  dv.setUint32(offset, bodyLength, LITTLE_ENDIAN);
  dv.setUint8(offset + 4, type);
  return offset + FRAME_HEADER_BYTES;
}

/** newFrame allocates a frame with a body of n bytes and writes its header. */
function newFrame(type: FrameType, n: number): { buf: Uint8Array; dv: DataView } {
  const buf = new Uint8Array(FRAME_HEADER_BYTES + n);
  writeFrameHeader(buf, 0, type, n);
  return { buf, dv: view(buf) };
}

/** encodeHandshake encodes a Hello or Welcome frame. */
function encodeHandshake(type: FrameType, h: Handshake): Uint8Array {
  if (!Number.isInteger(h.version) || h.version < 0 || h.version > 0xffff) {
    throw new RangeError(`Cannot encode frame: version ${h.version} is not a u16`);
  }
  checkU64(h.clusterId, 'clusterId');
  checkU64(h.from, 'from');
  checkU64(h.to, 'to');
  const { buf, dv } = newFrame(type, HANDSHAKE_BODY_BYTES);
  const at = FRAME_HEADER_BYTES;
  dv.setUint16(at, h.version, LITTLE_ENDIAN);
  writeU64(dv, at + 2, h.clusterId);
  writeU64(dv, at + 10, h.from);
  writeU64(dv, at + 18, h.to);
  return buf;
}

/** encodeHello encodes a Hello frame. Throws a RangeError for ids that are not safe. */
export function encodeHello(h: Handshake): Uint8Array {
  return encodeHandshake(FrameType.Hello, h);
}

/** encodeWelcome encodes a Welcome frame. Throws a RangeError for ids that are not safe. */
export function encodeWelcome(h: Handshake): Uint8Array {
  return encodeHandshake(FrameType.Welcome, h);
}

/** encodeReject encodes a Reject frame; a detail longer than the limit is cut. */
export function encodeReject(reason: RejectReason, detail: string): Uint8Array {
  let text = new TextEncoder().encode(detail);
  if (text.length > MAX_REJECT_DETAIL_BYTES) {
    // Cut on a character boundary so that the receiver's strict UTF-8 check passes.
    let end = MAX_REJECT_DETAIL_BYTES;
    while (end > 0 && (text[end]! & 0xc0) === 0x80) end--;
    text = text.subarray(0, end);
  }
  const { buf } = newFrame(FrameType.Reject, 1 + text.length);
  buf[FRAME_HEADER_BYTES] = reason;
  buf.set(text, FRAME_HEADER_BYTES + 1);
  return buf;
}

/**
 * messagesFrameSize returns the size (header included) of a Messages frame holding the
 * already-encoded raftpb messages `encoded[start..end)`.
 */
export function messagesFrameSize(
  encoded: readonly Uint8Array[],
  start = 0,
  end = encoded.length,
): number {
  let n = FRAME_HEADER_BYTES;
  for (let i = start; i < end; i++) n += 4 + encoded[i]!.length;
  return n;
}

/**
 * writeMessagesFrame writes a Messages frame holding the encoded raftpb messages
 * `encoded[start..end)` into buf at offset and returns the offset just past it. buf must
 * hold messagesFrameSize(encoded, start, end) bytes there.
 */
export function writeMessagesFrame(
  buf: Uint8Array,
  offset: number,
  encoded: readonly Uint8Array[],
  start = 0,
  end = encoded.length,
): number {
  const size = messagesFrameSize(encoded, start, end);
  if (end <= start) throw new RangeError('Cannot encode frame: a Messages frame needs a message');
  if (offset < 0 || buf.length - offset < size) {
    throw new RangeError(
      `Cannot encode frame: ${size} bytes at offset ${offset} exceed buffer length ${buf.length}`,
    );
  }
  const dv = view(buf);
  let pos = writeFrameHeader(buf, offset, FrameType.Messages, size - FRAME_HEADER_BYTES);
  for (let i = start; i < end; i++) {
    const m = encoded[i]!;
    dv.setUint32(pos, m.length, LITTLE_ENDIAN);
    buf.set(m, pos + 4);
    pos += 4 + m.length;
  }
  return pos;
}

/** encodeMessagesFrame returns a Messages frame holding already-encoded raftpb messages. */
export function encodeMessagesFrame(encoded: readonly Uint8Array[]): Uint8Array {
  const buf = new Uint8Array(messagesFrameSize(encoded));
  writeMessagesFrame(buf, 0, encoded);
  return buf;
}

/** SizedMessage is a raft message with its encoded size (messageSize), as queued for a peer. */
export interface SizedMessage {
  message: Message;
  size: number;
}

/** sizedMessagesFrameSize is messagesFrameSize for messages not yet encoded. */
export function sizedMessagesFrameSize(
  items: readonly SizedMessage[],
  start = 0,
  end = items.length,
): number {
  let n = FRAME_HEADER_BYTES;
  for (let i = start; i < end; i++) n += 4 + items[i]!.size;
  return n;
}

/**
 * writeSizedMessagesFrame encodes the raft messages `items[start..end)` straight into buf as
 * one Messages frame at offset (no intermediate copy) and returns the offset just past it.
 * buf must hold sizedMessagesFrameSize(items, start, end) bytes there. It throws the raftpb
 * encoder's RangeError for a message that cannot be encoded (buf is then partly written),
 * and an Error if a message's size is not the one recorded.
 */
export function writeSizedMessagesFrame(
  buf: Uint8Array,
  offset: number,
  items: readonly SizedMessage[],
  start = 0,
  end = items.length,
): number {
  if (end <= start) throw new RangeError('Cannot encode frame: a Messages frame needs a message');
  const size = sizedMessagesFrameSize(items, start, end);
  const dv = view(buf);
  let pos = writeFrameHeader(buf, offset, FrameType.Messages, size - FRAME_HEADER_BYTES);
  for (let i = start; i < end; i++) {
    const { message, size: n } = items[i]!;
    dv.setUint32(pos, n, LITTLE_ENDIAN);
    const next = encodeMessageInto(buf, pos + 4, message);
    if (next - pos - 4 !== n) {
      throw new Error(`Message ${i} encoded to ${next - pos - 4} bytes, not its recorded ${n}`);
    }
    pos = next;
  }
  return pos;
}

/**
 * encodeSnapBegin encodes a SnapBegin frame. `message` is the encoded MsgSnap whose
 * snapshot has no data; `totalBytes` is the length of the data that the chunks will carry.
 */
export function encodeSnapBegin(
  snapId: number,
  totalBytes: number,
  message: Uint8Array,
): Uint8Array {
  checkU32(snapId, 'snapId');
  checkU64(totalBytes, 'totalBytes');
  const { buf, dv } = newFrame(FrameType.SnapBegin, 12 + message.length);
  dv.setUint32(FRAME_HEADER_BYTES, snapId, LITTLE_ENDIAN);
  writeU64(dv, FRAME_HEADER_BYTES + 4, totalBytes);
  buf.set(message, FRAME_HEADER_BYTES + 12);
  return buf;
}

/**
 * encodeSnapChunkHeader returns the header and stream id of a SnapChunk frame (9 bytes); the
 * `dataLength` bytes of data follow it on the wire, so a caller can send them without a copy.
 */
export function encodeSnapChunkHeader(snapId: number, dataLength: number): Uint8Array {
  checkU32(snapId, 'snapId');
  const buf = new Uint8Array(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(buf, 0, FrameType.SnapChunk, 4 + dataLength);
  view(buf).setUint32(FRAME_HEADER_BYTES, snapId, LITTLE_ENDIAN);
  return buf;
}

/** encodeSnapChunk encodes a whole SnapChunk frame (header, stream id and data). */
export function encodeSnapChunk(snapId: number, data: Uint8Array): Uint8Array {
  const head = encodeSnapChunkHeader(snapId, data.length);
  const buf = new Uint8Array(head.length + data.length);
  buf.set(head, 0);
  buf.set(data, head.length);
  return buf;
}

/** encodeSnapEnd encodes a SnapEnd frame; sha256 must be 32 bytes. */
export function encodeSnapEnd(snapId: number, sha256: Uint8Array): Uint8Array {
  checkU32(snapId, 'snapId');
  if (sha256.length !== SHA256_BYTES) {
    throw new RangeError(`Cannot encode frame: sha256 has ${sha256.length} bytes, not 32`);
  }
  const { buf, dv } = newFrame(FrameType.SnapEnd, 4 + SHA256_BYTES);
  dv.setUint32(FRAME_HEADER_BYTES, snapId, LITTLE_ENDIAN);
  buf.set(sha256, FRAME_HEADER_BYTES + 4);
  return buf;
}

/** encodeSnapAck encodes a SnapAck frame. */
export function encodeSnapAck(snapId: number, ok: boolean): Uint8Array {
  checkU32(snapId, 'snapId');
  const { buf, dv } = newFrame(FrameType.SnapAck, 5);
  dv.setUint32(FRAME_HEADER_BYTES, snapId, LITTLE_ENDIAN);
  buf[FRAME_HEADER_BYTES + 4] = ok ? 1 : 0;
  return buf;
}

/**
 * encodeFrame encodes any Frame (raft messages are encoded here). The transport uses the
 * specialised encoders above; this one serves tests and tools.
 */
export function encodeFrame(f: Frame): Uint8Array {
  switch (f.type) {
    case FrameType.Hello:
      return encodeHello(f);
    case FrameType.Welcome:
      return encodeWelcome(f);
    case FrameType.Reject:
      return encodeReject(f.reason, f.detail);
    case FrameType.Messages:
      return encodeMessagesFrame(f.messages.map((m) => encodeMessage(m)));
    case FrameType.SnapBegin:
      return encodeSnapBegin(f.snapId, f.totalBytes, encodeMessage(f.message));
    case FrameType.SnapChunk:
      return encodeSnapChunk(f.snapId, f.data);
    case FrameType.SnapEnd:
      return encodeSnapEnd(f.snapId, f.sha256);
    case FrameType.SnapAck:
      return encodeSnapAck(f.snapId, f.ok);
  }
}

// ---------------------------------------------------------------------------------------
// Decoding

/** FrameDecoderOptions tunes a FrameDecoder. */
export interface FrameDecoderOptions {
  /** maxFrameBytes limits each frame's body; default DEFAULT_MAX_FRAME_BYTES. */
  maxFrameBytes?: number;
  /** decode is passed to decodeMessage for the raft messages (default: copy bytes). */
  decode?: DecodeOptions;
}

/**
 * FrameDecoder turns a byte stream, cut into chunks of any size, into frames.
 *
 * Error contract: push() throws a FrameDecodeError for the first bad frame; frames before it
 * have already been handed to `onFrame`, whatever the chunking. After an error the decoder
 * is poisoned: every later push() or end() throws the same error. `onFrame` must not throw
 * (an exception from it propagates, and the rest of that chunk is lost).
 */
export class FrameDecoder {
  /**
   * maxFrameBytes is the limit on a frame's body, checked as soon as a header is complete,
   * before any of the body is buffered. It may be raised between frames (after a handshake).
   */
  maxFrameBytes: number;
  readonly #decode: DecodeOptions | undefined;
  /** The header being assembled when it straddles chunks; #hdrFill bytes of it are valid. */
  readonly #hdr = new Uint8Array(FRAME_HEADER_BYTES);
  #hdrFill = 0;
  /** The current frame's body length once its header is known, else -1. */
  #bodyLen = -1;
  #type = 0;
  /** The body being assembled when it straddles chunks; #bodyFill bytes of it are valid. */
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  /** Stream offset of the start of the chunk being consumed, and of the current frame. */
  #offset = 0;
  #frameStart = 0;
  #failed: FrameDecodeError | undefined;

  /** Creates a decoder; throws a RangeError for a limit that is not in 0 .. 2^32-1. */
  constructor(opts: FrameDecoderOptions = {}) {
    const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    checkU32(max, 'maxFrameBytes');
    this.maxFrameBytes = max;
    this.#decode = opts.decode;
  }

  /** bufferedBytes is how many bytes of an incomplete frame are held. */
  get bufferedBytes(): number {
    return this.#hdrFill + this.#bodyFill + (this.#bodyLen >= 0 ? FRAME_HEADER_BYTES : 0);
  }

  /** push consumes one chunk of the stream and calls onFrame for every complete frame. */
  push(chunk: Uint8Array, onFrame: (f: Frame) => void): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#push(chunk, onFrame);
    } catch (err) {
      if (err instanceof FrameDecodeError) this.#failed = err;
      throw err;
    }
  }

  /** end tells the decoder the stream is over; it throws if a frame was cut short. */
  end(): void {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.bufferedBytes === 0) return;
    const inHeader = this.#bodyLen < 0;
    const what = inHeader ? 'header' : `${FrameTypeNames[this.#type]} body`;
    const have = inHeader ? this.#hdrFill : this.#bodyFill;
    const want = inHeader ? FRAME_HEADER_BYTES : this.#bodyLen;
    this.#failed = new FrameDecodeError(
      `stream ended inside a frame (${what}: ${have} of ${want} bytes)`,
      this.#frameStart,
    );
    throw this.#failed;
  }

  #push(chunk: Uint8Array, onFrame: (f: Frame) => void): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.#bodyLen < 0) {
        if (this.#hdrFill === 0) this.#frameStart = this.#offset + pos;
        if (this.#hdrFill === 0 && n - pos >= FRAME_HEADER_BYTES) {
          // The whole header is in this chunk: read it in place.
          this.#readHeader(chunk, pos);
          pos += FRAME_HEADER_BYTES;
        } else {
          const take = Math.min(FRAME_HEADER_BYTES - this.#hdrFill, n - pos);
          this.#hdr.set(chunk.subarray(pos, pos + take), this.#hdrFill);
          this.#hdrFill += take;
          pos += take;
          if (this.#hdrFill < FRAME_HEADER_BYTES) break;
          this.#hdrFill = 0;
          this.#readHeader(this.#hdr, 0);
        }
      }
      const len = this.#bodyLen;
      if (this.#body === undefined && n - pos >= len) {
        // The whole body is in this chunk: decode it in place, without a copy.
        const body = chunk.subarray(pos, pos + len);
        pos += len;
        this.#finishFrame(body, onFrame);
        continue;
      }
      this.#body ??= new Uint8Array(len);
      const take = Math.min(len - this.#bodyFill, n - pos);
      this.#body.set(chunk.subarray(pos, pos + take), this.#bodyFill);
      this.#bodyFill += take;
      pos += take;
      if (this.#bodyFill < len) break;
      this.#finishFrame(this.#body, onFrame);
    }
    this.#offset += n;
  }

  /** readHeader checks the header at buf[at..] before any of the body is buffered. */
  #readHeader(buf: Uint8Array, at: number): void {
    const dv = view(buf);
    const length = dv.getUint32(at, LITTLE_ENDIAN);
    const type = dv.getUint8(at + 4);
    if (length > this.maxFrameBytes) {
      throw new FrameDecodeError(
        `length ${length} exceeds limit ${this.maxFrameBytes}`,
        this.#frameStart,
      );
    }
    if (type < FrameType.Hello || type > FrameType.SnapAck) {
      throw new FrameDecodeError(`unknown frame type ${type}`, this.#frameStart);
    }
    this.#type = type;
    this.#bodyLen = length;
  }

  /** finishFrame resets for the next header, then decodes the complete body. */
  #finishFrame(body: Uint8Array, onFrame: (f: Frame) => void): void {
    const type = this.#type as FrameType;
    this.#bodyLen = -1;
    this.#body = undefined;
    this.#bodyFill = 0;
    onFrame(decodeBody(type, body, this.#frameStart, this.#decode));
  }
}

/** fail throws a FrameDecodeError about a frame of the given type. */
function fail(type: FrameType, reason: string, at: number, cause?: unknown): never {
  const opts = cause === undefined ? undefined : { cause };
  throw new FrameDecodeError(`${FrameTypeNames[type]} frame: ${reason}`, at, opts);
}

/** readU64 reads a big-endian u64 and refuses values above 2^53-1. */
function readU64(dv: DataView, at: number, type: FrameType, field: string, start: number): number {
  const hi = dv.getUint32(at, LITTLE_ENDIAN);
  const lo = dv.getUint32(at + 4, LITTLE_ENDIAN);
  if (hi > 0x1fffff) fail(type, `${field} exceeds 2^53-1 (Number.MAX_SAFE_INTEGER)`, start);
  return hi * 0x1_0000_0000 + lo;
}

/** needLength throws unless the body length is in [min, max]. */
function needLength(type: FrameType, body: Uint8Array, min: number, max: number, at: number) {
  if (body.length < min || body.length > max) {
    const want = min === max ? `${min}` : max === MAX_U32 ? `at least ${min}` : `${min}..${max}`;
    fail(type, `body has ${body.length} bytes, expected ${want}`, at);
  }
}

/** decodeRaft decodes one raftpb message of a frame, wrapping its errors. */
function decodeRaft(type: FrameType, b: Uint8Array, at: number, opts?: DecodeOptions): Message {
  try {
    return decodeMessage(b, opts);
  } catch (err) {
    if (err instanceof RaftpbDecodeError) fail(type, err.message, at, err);
    throw err;
  }
}

/** decodeBody turns a complete body into a Frame; `at` is the frame's stream offset. */
function decodeBody(type: FrameType, body: Uint8Array, at: number, opts?: DecodeOptions): Frame {
  const dv = view(body);
  switch (type) {
    case FrameType.Hello:
    case FrameType.Welcome: {
      needLength(type, body, HANDSHAKE_BODY_BYTES, HANDSHAKE_BODY_BYTES, at);
      return {
        type,
        version: dv.getUint16(0, LITTLE_ENDIAN),
        clusterId: readU64(dv, 2, type, 'clusterId', at),
        from: readU64(dv, 10, type, 'from', at),
        to: readU64(dv, 18, type, 'to', at),
      };
    }
    case FrameType.Reject:
      return decodeReject(body, at);
    case FrameType.Messages:
      return { type, messages: decodeMessages(dv, body, at, opts) };
    case FrameType.SnapBegin: {
      needLength(type, body, 13, MAX_U32, at);
      const snapId = dv.getUint32(0, LITTLE_ENDIAN);
      const totalBytes = readU64(dv, 4, type, 'totalBytes', at);
      return { type, snapId, totalBytes, message: decodeRaft(type, body.subarray(12), at, opts) };
    }
    case FrameType.SnapChunk: {
      needLength(type, body, 4, MAX_U32, at);
      return { type, snapId: dv.getUint32(0, LITTLE_ENDIAN), data: body.subarray(4) };
    }
    case FrameType.SnapEnd: {
      needLength(type, body, 4 + SHA256_BYTES, 4 + SHA256_BYTES, at);
      return { type, snapId: dv.getUint32(0, LITTLE_ENDIAN), sha256: body.slice(4) };
    }
    case FrameType.SnapAck: {
      needLength(type, body, 5, 5, at);
      const ok = body[4]!;
      if (ok > 1) fail(type, `ok byte is ${ok}, expected 0 or 1`, at);
      return { type, snapId: dv.getUint32(0, LITTLE_ENDIAN), ok: ok === 1 };
    }
  }
}

/** strictUtf8 rejects malformed UTF-8 instead of replacing it. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** decodeReject decodes a Reject body: reason byte, then UTF-8 detail. */
function decodeReject(body: Uint8Array, at: number): RejectFrame {
  const type = FrameType.Reject;
  needLength(type, body, 1, 1 + MAX_REJECT_DETAIL_BYTES, at);
  const reason = body[0]!;
  if (!(reason in RejectReasonNames)) fail(type, `unknown reject reason ${reason}`, at);
  let detail: string;
  try {
    detail = strictUtf8.decode(body.subarray(1));
  } catch (err) {
    fail(type, 'detail is not valid UTF-8', at, err);
  }
  return { type, reason: reason as RejectReason, detail };
}

/** decodeMessages decodes the length-prefixed raftpb messages of a Messages body. */
function decodeMessages(
  dv: DataView,
  body: Uint8Array,
  at: number,
  opts?: DecodeOptions,
): Message[] {
  const type = FrameType.Messages;
  const out: Message[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (body.length - pos < 4) {
      fail(type, `message ${out.length} length prefix truncated at body byte ${pos}`, at);
    }
    const len = dv.getUint32(pos, LITTLE_ENDIAN);
    pos += 4;
    if (len > body.length - pos) {
      fail(
        type,
        `message ${out.length} length ${len} overruns the ${body.length - pos} bytes left`,
        at,
      );
    }
    out.push(decodeRaft(type, body.subarray(pos, pos + len), at, opts));
    pos += len;
  }
  if (out.length === 0) fail(type, 'no message', at);
  return out;
}
