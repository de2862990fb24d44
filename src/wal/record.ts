/**
 * WAL record framing (docs/wal.md has the picture). A frame is
 *
 *     0   u32  body length (bytes)
 *     4   u8   record type
 *     5   u8   padding length, 1..8
 *     6   u16  header check: low 16 bits of CRC-32C over bytes 0..5
 *     8   u32  CRC-32C of the body, seeded with the CRC of the previous record (the chain)
 *     12  body
 *         padding: zeros, then one TRAILER byte; the frame ends 8-byte aligned
 *
 * The header check lets a reader trust the length before it trusts the body, so a flipped
 * length bit is reported where it is instead of swallowing the records after it. The
 * trailer makes the last byte of every frame non-zero, so a frame cut short by a crash
 * (zeros where its end should be) can never be mistaken for a complete one, and no single
 * bit flip can make a complete frame look cut short.
 */
import { encodeEntryInto, encodeHardState } from '../raftpb/codec.ts';
import { entrySize } from '../raftpb/size.ts';
import type { Entry, HardState } from '../raftpb/types.ts';
import { crc32c } from './crc.ts';

/** LITTLE_ENDIAN is the byte order of every fixed-width integer the WAL writes. */
export const LITTLE_ENDIAN = true;

/** RecordType enumerates the WAL record types; numbers are the on-disk values. */
export const RecordType = {
  /** First record of every segment: its place in the chain and the state at the cut. */
  SegmentHeader: 1,
  /** One raftpb Entry. */
  Entry: 2,
  /** One raftpb HardState. */
  HardState: 3,
  /** A snapshot replaced the log (save() with a snapshot): the log restarts after it. */
  SnapshotApplied: 4,
  /** The application took a snapshot (createSnapshot): log before it may be released. */
  SnapshotTaken: 5,
} as const;
/** RecordType is the numeric on-disk value of a record type. */
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** FRAME_HEADER_SIZE is the number of bytes before the body: frame word and body CRC. */
export const FRAME_HEADER_SIZE = 12;
/** FRAME_ALIGN is the alignment of every frame, in bytes. */
export const FRAME_ALIGN = 8;
/** TRAILER is the last byte of every frame; it has several bits set, never zero. */
export const TRAILER = 0xa5;
/** MAX_BODY_SIZE bounds the body of one record (1 GiB). */
export const MAX_BODY_SIZE = 1 << 30;

const TWO_32 = 2 ** 32;
const MAX_HIGH_WORD = Math.floor(Number.MAX_SAFE_INTEGER / TWO_32);

/** padFor returns the padding (1..8 bytes) that ends a frame with a body of len bytes. */
export function padFor(len: number): number {
  return FRAME_ALIGN - ((FRAME_HEADER_SIZE + len) % FRAME_ALIGN);
}

/** frameSize returns the size of a whole frame whose body is len bytes. */
export function frameSize(len: number): number {
  return FRAME_HEADER_SIZE + len + padFor(len);
}

/** isRecordType reports whether t is a RecordType this code knows. */
export function isRecordType(t: number): t is RecordType {
  return t >= RecordType.SegmentHeader && t <= RecordType.SnapshotTaken;
}

/** headerCheck computes the check stored in bytes 6..7 of the frame at off. */
export function headerCheck(buf: Uint8Array, off: number): number {
  return crc32c(buf.subarray(off, off + 6)) & 0xffff;
}

/** putU64 stores a safe integer as a little-endian u64 (two u32 words). */
export function putU64(view: DataView, off: number, v: number): void {
  view.setUint32(off, v % TWO_32, LITTLE_ENDIAN);
  view.setUint32(off + 4, Math.floor(v / TWO_32), LITTLE_ENDIAN);
}

/** getU64 reads a little-endian u64; it returns -1 when the value exceeds 2^53-1. */
export function getU64(view: DataView, off: number): number {
  const hi = view.getUint32(off + 4, LITTLE_ENDIAN);
  if (hi > MAX_HIGH_WORD) return -1;
  return hi * TWO_32 + view.getUint32(off, LITTLE_ENDIAN);
}

/**
 * FrameWriter encodes a batch of records into one growing buffer. Frames get their body CRC
 * only in seal(), once the writer knows which record the chain continues from.
 */
export class FrameWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  /** length is the number of bytes encoded so far; frames[i] is where frame i starts. */
  length = 0;
  private readonly frames: number[] = [];

  /** records returns the number of frames in the batch. */
  get records(): number {
    return this.frames.length;
  }

  /** reset empties the batch and keeps the buffer. */
  reset(): void {
    this.length = 0;
    this.frames.length = 0;
  }

  /** addEntry appends an Entry record. */
  addEntry(e: Entry): void {
    // begin() may grow (replace) the buffer: take the offset before reading this.buf.
    const off = this.begin(RecordType.Entry, entrySize(e));
    encodeEntryInto(this.buf, off, e);
  }

  /** addHardState appends a HardState record (raftpb encoding). */
  addHardState(hs: HardState): void {
    this.addBody(RecordType.HardState, encodeHardState(hs));
  }

  /** addBody appends a record whose body is already encoded. */
  addBody(type: RecordType, body: Uint8Array): void {
    const off = this.begin(type, body.length);
    this.buf.set(body, off);
  }

  /**
   * seal fills the body CRC of every frame, chaining from prevCrc, and returns the CRC of
   * the last frame (prevCrc if the batch is empty).
   */
  seal(prevCrc: number): number {
    let crc = prevCrc;
    for (const off of this.frames) {
      const len = this.view.getUint32(off, LITTLE_ENDIAN);
      const body = this.buf.subarray(off + FRAME_HEADER_SIZE, off + FRAME_HEADER_SIZE + len);
      crc = crc32c(body, crc);
      this.view.setUint32(off + 8, crc, LITTLE_ENDIAN);
    }
    return crc;
  }

  /** bytes returns the encoded batch; valid until the next change to the writer. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** begin writes a frame's header and trailer for a body of len bytes; returns the body offset. */
  private begin(type: RecordType, len: number): number {
    if (len > MAX_BODY_SIZE) {
      throw new RangeError(
        `Cannot write WAL record: body of ${len} bytes exceeds ${MAX_BODY_SIZE}`,
      );
    }
    const size = frameSize(len);
    this.reserve(size);
    const off = this.length;
    this.buf.fill(0, off, off + size);
    this.view.setUint32(off, len, LITTLE_ENDIAN);
    this.buf[off + 4] = type;
    this.buf[off + 5] = padFor(len);
    this.view.setUint16(off + 6, headerCheck(this.buf, off), LITTLE_ENDIAN);
    this.buf[off + size - 1] = TRAILER;
    this.frames.push(off);
    this.length += size;
    return off + FRAME_HEADER_SIZE;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/** FrameKind classifies the outcome of readFrame. */
export const FrameKind = {
  /** A complete frame whose header, trailer and CRC are all valid. */
  Ok: 'ok',
  /** The 8 header bytes are all zero: nothing was written here. */
  Zero: 'zero',
  /** The file ends inside the header or the frame. */
  Eof: 'eof',
  /** The header is non-zero but its check, type or padding is invalid. */
  BadHeader: 'bad-header',
  /** The header is valid but the body CRC or the padding is not. */
  BadBody: 'bad-body',
} as const;
/** FrameKind is one of the FrameKind values. */
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Frame is what readFrame found at an offset. */
export interface Frame {
  kind: FrameKind;
  /** type, bodyOffset and bodyLength are set when the header is valid. */
  type: RecordType;
  bodyOffset: number;
  bodyLength: number;
  /** end is the offset just past the frame (past the header when the header is invalid). */
  end: number;
  /** crc is the frame's stored body CRC (valid for Ok and BadBody). */
  crc: number;
  /** reason describes what is wrong, for errors and logs. */
  reason: string;
}

/**
 * readFrame reads the frame at off (8-aligned). The CRC is checked with `seed`, or, when
 * `seed` is a function, with the seed it returns for the body (segment headers carry their
 * own seed).
 */
export function readFrame(
  buf: Uint8Array,
  view: DataView,
  off: number,
  seed: number | ((body: Uint8Array) => number),
): Frame {
  const f: Frame = {
    kind: FrameKind.Ok,
    type: 1,
    bodyOffset: 0,
    bodyLength: 0,
    end: off,
    crc: 0,
    reason: '',
  };
  if (off + 8 > buf.length)
    return bad(f, FrameKind.Eof, off + 8, 'file ends inside a record header');
  if (isZero(buf, off, off + 8)) return bad(f, FrameKind.Zero, off + 8, 'end of log');
  const len = view.getUint32(off, LITTLE_ENDIAN);
  const type = buf[off + 4] as number;
  const pad = buf[off + 5] as number;
  if (view.getUint16(off + 6, LITTLE_ENDIAN) !== headerCheck(buf, off)) {
    return bad(f, FrameKind.BadHeader, off + 8, 'record header check mismatch');
  }
  if (!isRecordType(type) || len > MAX_BODY_SIZE || pad !== padFor(len)) {
    return bad(
      f,
      FrameKind.BadHeader,
      off + 8,
      `invalid record header (type ${type}, length ${len}, padding ${pad})`,
    );
  }
  f.type = type;
  f.bodyOffset = off + FRAME_HEADER_SIZE;
  f.bodyLength = len;
  const end = off + FRAME_HEADER_SIZE + len + pad;
  if (end > buf.length) return bad(f, FrameKind.Eof, end, 'file ends inside a record');
  f.crc = view.getUint32(off + 8, LITTLE_ENDIAN);
  if (buf[end - 1] !== TRAILER || !isZero(buf, end - pad, end - 1)) {
    return bad(f, FrameKind.BadBody, end, 'bad record padding');
  }
  const body = buf.subarray(f.bodyOffset, f.bodyOffset + len);
  const s = typeof seed === 'number' ? seed : seed(body);
  if (crc32c(body, s) !== f.crc) return bad(f, FrameKind.BadBody, end, 'record CRC mismatch');
  f.end = end;
  return f;
}

function bad(f: Frame, kind: FrameKind, end: number, reason: string): Frame {
  f.kind = kind;
  f.end = end;
  f.reason = reason;
  return f;
}

/** isZero reports whether buf[from..to) is all zero bytes. */
export function isZero(buf: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

/** zeroTail returns the offset just past the last non-zero byte of buf (0 if all zero). */
export function zeroTail(buf: Uint8Array): number {
  let i = buf.length;
  if (buf.byteOffset % 4 === 0) {
    // Scan whole 32-bit words while the view is aligned: preallocated tails are megabytes.
    const whole = i - (i % 4);
    for (; i > whole; i--) if (buf[i - 1] !== 0) return i;
    const words = new Uint32Array(buf.buffer, buf.byteOffset, whole / 4);
    let w = words.length;
    while (w > 0 && words[w - 1] === 0) w--;
    i = w * 4;
  }
  while (i > 0 && buf[i - 1] === 0) i--;
  return i;
}
