/**
 * Protobuf wire primitives for the raftpb codec: varints, lengths, bytes, tags and field
 * skipping, with the strict checks the decoder promises (see {@link RaftpbDecodeError}).
 *
 * Every reader takes the `end` of the message being decoded, not the end of the buffer, so
 * a length or varint inside an embedded message can never borrow bytes from its parent.
 */

import { varintSize } from './size.ts';

/** The largest integer a decoded uint64 may hold: Number.MAX_SAFE_INTEGER, 2^53-1. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The largest field number protobuf allows (2^29-1). */
const MAX_FIELD_NUMBER = 0x1fffffff;

/** Protobuf wire types. */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  Bytes: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;
/** WireType is the low three bits of a field tag. */
export type WireType = (typeof WireType)[keyof typeof WireType];

/**
 * RaftpbDecodeError is thrown by every raftpb decoder for input it refuses: truncated or
 * overrunning data, malformed varints, illegal tags or wire types, and integers above
 * 2^53-1. The message names the type and field being read and the byte offset (from the
 * start of the decoded buffer) where the offending item begins.
 */
export class RaftpbDecodeError extends Error {
  /** code is the stable error code, `ERR_RAFTPB_DECODE`. */
  readonly code = 'ERR_RAFTPB_DECODE' as const;
  /** where names the type and field being read, such as `Message.entries` or `Entry.data`. */
  readonly where: string;
  /** offset is the byte offset in the input where the offending item starts. */
  readonly offset: number;

  /** Creates the error; `reason` says what is wrong ("truncated varint"). */
  constructor(where: string, offset: number, reason: string, options?: ErrorOptions) {
    super(`Cannot decode ${where} at byte ${offset}: ${reason}`, options);
    this.name = 'RaftpbDecodeError';
    this.where = where;
    this.offset = offset;
  }
}

/**
 * Reader is the decoding cursor. `copy` selects whether bytes fields are views on a
 * private copy of the input (true) or on the input itself (false).
 */
export class Reader {
  /** buf is the whole input; offsets in errors are relative to it. */
  readonly buf: Uint8Array;
  /** pos is the next byte to read; 0 <= pos <= buf.length. */
  pos = 0;
  /** copy makes readBytes return views on a private copy of buf instead of on buf. */
  readonly copy: boolean;
  /** arena is the private copy of buf[arenaBase..], made at the first bytes field. */
  arena: Uint8Array | undefined = undefined;
  /** arenaBase is the offset in buf of arena[0]. */
  arenaBase = 0;

  /**
   * Creates a reader at offset 0 of buf. A subclass such as Node's Buffer is first viewed
   * as a plain Uint8Array: Buffer's slice() shares memory instead of copying, and decoded
   * bytes fields should be plain Uint8Arrays whatever the input was.
   */
  constructor(buf: Uint8Array, copy: boolean) {
    this.buf =
      buf.constructor === Uint8Array ? buf : new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    this.copy = copy;
  }
}

/** DecodeOptions tunes the decoders. */
export interface DecodeOptions {
  /**
   * copy: true (the default) returns bytes fields that share no memory with the input:
   * views on one private copy of it, made at the first bytes field. false returns
   * subarrays of the input itself (no copy; the caller must not reuse the input then).
   */
  copy?: boolean;
}

/** newReader checks the input and returns a cursor over it. */
export function newReader(buf: Uint8Array, opts: DecodeOptions | undefined, type: string): Reader {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode ${type}: input must be a Uint8Array`);
  }
  return new Reader(buf, opts?.copy !== false);
}

/**
 * readVarint reads an unsigned varint of at most 10 bytes and 64 bits. The result is a
 * float: exact up to 2^53, possibly rounded above (callers only compare it with limits).
 */
function readVarint(r: Reader, end: number, where: string): number {
  const buf = r.buf;
  const start = r.pos;
  if (end - start >= 4) {
    // Up to 28 bits in int arithmetic: every length and most indexes and terms.
    let b = buf[start]!;
    let v = b & 0x7f;
    if (b < 0x80) {
      r.pos = start + 1;
      return v;
    }
    b = buf[start + 1]!;
    v |= (b & 0x7f) << 7;
    if (b < 0x80) {
      r.pos = start + 2;
      return v;
    }
    b = buf[start + 2]!;
    v |= (b & 0x7f) << 14;
    if (b < 0x80) {
      r.pos = start + 3;
      return v;
    }
    b = buf[start + 3]!;
    v |= (b & 0x7f) << 21;
    if (b < 0x80) {
      r.pos = start + 4;
      return v;
    }
  }
  return readVarintSlow(r, end, where);
}

/** readVarintSlow is readVarint for long varints and for varints near the end. */
function readVarintSlow(r: Reader, end: number, where: string): number {
  const buf = r.buf;
  const start = r.pos;
  let pos = start;
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new RaftpbDecodeError(where, start, 'truncated varint');
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (i === 9 && b > 1) {
        throw new RaftpbDecodeError(where, start, 'varint holds more than 64 bits');
      }
      r.pos = pos;
      return v;
    }
    mul *= 128;
  }
  throw new RaftpbDecodeError(where, start, 'varint longer than 10 bytes');
}

/**
 * readUint reads a uint64 varint and returns it as a number, refusing values above 2^53-1.
 * The one-byte case (every enum, bool and small id) is inlined.
 */
export function readUint(r: Reader, end: number, where: string): number {
  const pos = r.pos;
  if (pos < end) {
    const b = r.buf[pos]!;
    if (b < 0x80) {
      r.pos = pos + 1;
      return b;
    }
  }
  const v = readVarint(r, end, where);
  if (v > MAX_SAFE) {
    throw new RaftpbDecodeError(where, pos, `value exceeds 2^53-1 (Number.MAX_SAFE_INTEGER)`);
  }
  return v;
}

/** readBool reads a bool varint: any non-zero value of up to 64 bits is true. */
export function readBool(r: Reader, end: number, where: string): boolean {
  const pos = r.pos;
  if (pos < end) {
    const b = r.buf[pos]!;
    if (b < 0x80) {
      r.pos = pos + 1;
      return b !== 0;
    }
  }
  return readVarint(r, end, where) !== 0;
}

/** readLength reads the length prefix of a length-delimited field and checks it fits. */
export function readLength(r: Reader, end: number, where: string): number {
  const at = r.pos;
  const n = readVarint(r, end, where);
  const left = end - r.pos;
  if (n > left) {
    throw new RaftpbDecodeError(where, at, `length ${n} overruns the ${left} bytes left`);
  }
  return n;
}

/**
 * readEnd reads the length prefix of an embedded message and returns the offset where the
 * message ends (the new r.pos plus the length).
 */
export function readEnd(r: Reader, end: number, where: string): number {
  const n = readLength(r, end, where);
  return r.pos + n;
}

/**
 * readBytes reads a length-delimited bytes field. With r.copy it returns a view on the
 * reader's private copy of the input: copying the rest of the input once, at the first
 * bytes field, costs one allocation instead of one per field (an ArrayBuffer each), and
 * the fields still never share memory with the caller's buffer or with each other.
 */
export function readBytes(r: Reader, end: number, where: string): Uint8Array {
  const n = readLength(r, end, where);
  const start = r.pos;
  r.pos = start + n;
  if (!r.copy) return r.buf.subarray(start, start + n);
  if (r.arena === undefined) {
    r.arena = r.buf.slice(start);
    r.arenaBase = start;
  }
  const from = start - r.arenaBase;
  return r.arena.subarray(from, from + n);
}

/**
 * readTag reads a field tag and checks the field number (1 .. 2^29-1) and wire type (0-5).
 * The one-byte case covers every field raftpb defines.
 */
export function readTag(r: Reader, end: number, type: string): number {
  const at = r.pos;
  let tag = r.buf[at]!;
  if (tag < 0x80) {
    r.pos = at + 1;
  } else {
    tag = readVarint(r, end, `${type} (field tag)`);
    if (tag > MAX_FIELD_NUMBER * 8 + 7) {
      throw new RaftpbDecodeError(`${type} (field tag)`, at, `field number above 2^29-1`);
    }
  }
  if (tag < 8) throw new RaftpbDecodeError(`${type} (field tag)`, at, 'field number 0');
  if ((tag & 7) > 5) {
    throw new RaftpbDecodeError(`${type} (field tag)`, at, `illegal wire type ${tag & 7}`);
  }
  return tag;
}

/** fieldNumber returns the field number of a tag read by readTag (which may exceed 2^31). */
function fieldNumber(tag: number): number {
  return Math.floor(tag / 8);
}

/**
 * skipField skips the value of a field this decoder does not know. `names` lists the
 * known fields of the type by number, so that a known field with an unexpected wire type
 * is refused instead of skipped. `at` is the offset of the tag.
 */
export function skipField(
  r: Reader,
  end: number,
  tag: number,
  type: string,
  names: readonly string[],
  at: number,
): void {
  const field = fieldNumber(tag);
  const wt = tag & 7;
  const name = names[field];
  if (name !== undefined && name !== '') {
    throw new RaftpbDecodeError(`${type}.${name}`, at, `wrong wire type ${wt}`);
  }
  const where = `${type} (unknown field ${field})`;
  if (wt === WireType.StartGroup) skipGroup(r, end, field, where);
  else if (wt === WireType.EndGroup) throw new RaftpbDecodeError(where, at, 'stray end-group');
  else skipValue(r, end, wt, where);
}

/** skipValue skips one non-group value of wire type wt. */
function skipValue(r: Reader, end: number, wt: number, where: string): void {
  switch (wt) {
    case WireType.Varint:
      readVarint(r, end, where);
      return;
    case WireType.Bytes: {
      const n = readLength(r, end, where); // before reading r.pos: it moves past the length
      r.pos += n;
      return;
    }
    default: {
      const n = wt === WireType.Fixed64 ? 8 : 4;
      if (end - r.pos < n) throw new RaftpbDecodeError(where, r.pos, `truncated fixed${n * 8}`);
      r.pos += n;
    }
  }
}

/** skipGroup skips a (deprecated) group up to its matching end-group tag, without recursion. */
function skipGroup(r: Reader, end: number, field: number, where: string): void {
  const open = [field];
  while (open.length > 0) {
    if (r.pos >= end) throw new RaftpbDecodeError(where, r.pos, 'unterminated group');
    const at = r.pos;
    const tag = readTag(r, end, where);
    const wt = tag & 7;
    if (wt === WireType.StartGroup) {
      open.push(fieldNumber(tag));
    } else if (wt === WireType.EndGroup) {
      if (open.pop() !== fieldNumber(tag)) {
        throw new RaftpbDecodeError(where, at, 'end-group does not match its start-group');
      }
    } else {
      skipValue(r, end, wt, where);
    }
  }
}

/**
 * writeVarint writes v as a minimal varint at pos and returns the new position. v must be
 * a safe unsigned integer; anything else throws a RangeError naming `where`.
 */
export function writeVarint(buf: Uint8Array, pos: number, v: number, where: string): number {
  if (v >>> 0 === v) {
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  return writeVarintLarge(buf, pos, v, where);
}

/** writeVarintLarge handles values of 2^32 and above, and refuses invalid numbers. */
function writeVarintLarge(buf: Uint8Array, pos: number, v: number, where: string): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`Cannot encode ${where}: ${v} is not an integer in [0, 2^53-1]`);
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** writeBytes writes a length-prefixed byte string (without its tag) at pos. */
export function writeBytes(buf: Uint8Array, pos: number, data: Uint8Array, where: string): number {
  const n = data.length;
  pos = writeVarint(buf, pos, n, where);
  if (n < 32) {
    for (let i = 0; i < n; i++) buf[pos + i] = data[i]!;
  } else {
    buf.set(data, pos);
  }
  return pos + n;
}

/** delimitedSize is the size of a length-delimited field with a one-byte tag. */
export function delimitedSize(n: number): number {
  return 1 + varintSize(n) + n;
}

/** checkRoom throws a RangeError unless buf holds n bytes from offset. */
export function checkRoom(buf: Uint8Array, offset: number, n: number, type: string): void {
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < n) {
    throw new RangeError(
      `Cannot encode ${type}: ${n} bytes at offset ${offset} exceed buffer length ${buf.length}`,
    );
  }
}
