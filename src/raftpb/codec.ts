/**
 * Binary codec for raftpb, wire-compatible with etcd's raft.proto.
 *
 * Encoding writes exactly the bytes etcd 3.4 (gogoproto) writes: fields in field-number
 * order, scalars of non-nullable fields even when zero, nested messages always, bytes only
 * when not undefined, repeated uint64 unpacked. The 3.6+ additions follow: Message.vote
 * (field 13) only when non-zero, Message.responses (field 14) as embedded Messages. An
 * undefined Message.snapshot is written as the empty snapshot, as 3.4 does.
 *
 * Decoding accepts any valid protobuf encoding of these types: unknown fields (skipped),
 * fields in any order, packed or unpacked ConfState lists, repeated scalars (last wins),
 * repeated singular messages (merged, as the protobuf spec says) and enum numbers this
 * code does not know (kept as numbers). It refuses, with {@link RaftpbDecodeError},
 * truncated input, lengths that overrun their message, varints over 10 bytes or 64 bits,
 * integers above 2^53-1, field number 0, wire types 6 and 7, stray end-group tags, a known
 * field with the wrong wire type and Messages nested deeper than {@link MAX_MESSAGE_DEPTH}.
 * Enum fields are read as unsigned: a negative enum number is refused as above 2^53-1.
 *
 * Bytes fields (Entry.data, contexts, Snapshot.data) never share memory with the input by
 * default: the decoder copies the input once, at the first bytes field, and returns views
 * on that private copy (one allocation per decode instead of one per field; the fields of
 * one decoded value share that copy's ArrayBuffer, in disjoint ranges). Pass
 * `{ copy: false }` to get views on the input itself (no copy; the caller must then not
 * reuse the input buffer while the result is alive).
 *
 * A Message's snapshot that is all empty (index 0, term 0, empty ConfState, no data)
 * decodes to `undefined`, the same value that encodes to it.
 */
import { entrySize, varintSize } from './size.ts';
import {
  blankSnapshot,
  entryBody,
  isBlankSnapshot,
  snapshotBody,
  snapshotSize,
  writeEntry,
  writeSnapshot,
} from './codec_state.ts';
import type { Message, MessageType, Snapshot } from './types.ts';
import {
  RaftpbDecodeError,
  checkRoom,
  delimitedSize,
  newReader,
  readBool,
  readBytes,
  readEnd,
  readLength,
  readTag,
  readUint,
  skipField,
  writeBytes,
  writeVarint,
} from './wire.ts';
import type { DecodeOptions, Reader } from './wire.ts';

export { RaftpbDecodeError } from './wire.ts';
export type { DecodeOptions } from './wire.ts';
export {
  confChangeSingleSize,
  confChangeSize,
  confChangeV2Size,
  confStateSize,
  decodeConfChange,
  decodeConfChangeSingle,
  decodeConfChangeV2,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  decodeSnapshotMetadata,
  encodeConfChange,
  encodeConfChangeSingle,
  encodeConfChangeV2,
  encodeConfState,
  encodeEntry,
  encodeEntryInto,
  encodeHardState,
  encodeSnapshot,
  encodeSnapshotMetadata,
  hardStateSize,
  snapshotMetadataSize,
  snapshotSize,
} from './codec_state.ts';

/** MAX_MESSAGE_DEPTH bounds Message.responses nesting, in the decoder and the encoder. */
export const MAX_MESSAGE_DEPTH = 64;

/** The bytes 3.4 writes for an undefined Message.snapshot: tag 9, length 10, empty body. */
const EMPTY_SNAPSHOT_FIELD = new Uint8Array([
  0x4a, 0x0a, 0x12, 0x08, 0x0a, 0x02, 0x28, 0x00, 0x10, 0x00, 0x18, 0x00,
]);

/** Message field names by number, to refuse a known field sent with the wrong wire type. */
const MESSAGE_FIELDS = [
  '',
  'type',
  'to',
  'from',
  'term',
  'logTerm',
  'index',
  'entries',
  'commit',
  'snapshot',
  'reject',
  'rejectHint',
  'context',
  'vote',
  'responses',
];

// ---------------------------------------------------------------------------------------
// Message

/** sizeAt returns the encoded length of m, refusing nesting deeper than the limit. */
function sizeAt(m: Message, depth: number): number {
  if (depth > MAX_MESSAGE_DEPTH) {
    throw new RangeError(`Cannot encode Message: responses nested deeper than ${depth - 1}`);
  }
  let n = 10 + varintSize(m.type) + varintSize(m.to) + varintSize(m.from) + varintSize(m.term);
  n +=
    varintSize(m.logTerm) + varintSize(m.index) + varintSize(m.commit) + varintSize(m.rejectHint);
  for (const e of m.entries) n += delimitedSize(entrySize(e));
  n +=
    m.snapshot === undefined
      ? EMPTY_SNAPSHOT_FIELD.length
      : delimitedSize(snapshotSize(m.snapshot));
  if (m.context !== undefined) n += delimitedSize(m.context.length);
  if (m.vote !== 0) n += 1 + varintSize(m.vote);
  for (const x of m.responses) n += delimitedSize(sizeAt(x, depth + 1));
  return n;
}

/** messageSize returns the length of encodeMessage(m). */
export function messageSize(m: Message): number {
  return sizeAt(m, 1);
}

/** writeMessage writes the fields of m at pos, in field-number order. */
function writeMessage(buf: Uint8Array, pos: number, m: Message): number {
  buf[pos++] = 0x08;
  pos = writeVarint(buf, pos, m.type, 'Message.type');
  buf[pos++] = 0x10;
  pos = writeVarint(buf, pos, m.to, 'Message.to');
  buf[pos++] = 0x18;
  pos = writeVarint(buf, pos, m.from, 'Message.from');
  buf[pos++] = 0x20;
  pos = writeVarint(buf, pos, m.term, 'Message.term');
  buf[pos++] = 0x28;
  pos = writeVarint(buf, pos, m.logTerm, 'Message.logTerm');
  buf[pos++] = 0x30;
  pos = writeVarint(buf, pos, m.index, 'Message.index');
  for (const e of m.entries) {
    buf[pos++] = 0x3a;
    pos = writeVarint(buf, pos, entrySize(e), 'Message.entries');
    pos = writeEntry(buf, pos, e);
  }
  buf[pos++] = 0x40;
  pos = writeVarint(buf, pos, m.commit, 'Message.commit');
  pos = writeMessageSnapshot(buf, pos, m.snapshot);
  buf[pos++] = 0x50;
  buf[pos++] = m.reject ? 1 : 0;
  buf[pos++] = 0x58;
  pos = writeVarint(buf, pos, m.rejectHint, 'Message.rejectHint');
  return writeMessageTail(buf, pos, m);
}

/** writeMessageSnapshot writes field 9, the empty snapshot when s is undefined. */
function writeMessageSnapshot(buf: Uint8Array, pos: number, s: Snapshot | undefined): number {
  if (s === undefined) {
    buf.set(EMPTY_SNAPSHOT_FIELD, pos);
    return pos + EMPTY_SNAPSHOT_FIELD.length;
  }
  buf[pos++] = 0x4a;
  pos = writeVarint(buf, pos, snapshotSize(s), 'Message.snapshot');
  return writeSnapshot(buf, pos, s);
}

/** writeMessageTail writes context (12), vote (13) and responses (14). */
function writeMessageTail(buf: Uint8Array, pos: number, m: Message): number {
  if (m.context !== undefined) {
    buf[pos++] = 0x62;
    pos = writeBytes(buf, pos, m.context, 'Message.context');
  }
  if (m.vote !== 0) {
    buf[pos++] = 0x68;
    pos = writeVarint(buf, pos, m.vote, 'Message.vote');
  }
  for (const x of m.responses) {
    buf[pos++] = 0x72;
    pos = writeVarint(buf, pos, messageSize(x), 'Message.responses');
    pos = writeMessage(buf, pos, x);
  }
  return pos;
}

/** encodeMessage returns the wire encoding of a Message; its length is messageSize(m). */
export function encodeMessage(m: Message): Uint8Array {
  const buf = new Uint8Array(messageSize(m));
  writeMessage(buf, 0, m);
  return buf;
}

/**
 * encodeMessageInto writes the encoding of m into buf at offset and returns the offset
 * just past it. It throws a RangeError if buf has less than messageSize(m) bytes there.
 */
export function encodeMessageInto(buf: Uint8Array, offset: number, m: Message): number {
  checkRoom(buf, offset, messageSize(m), 'Message');
  return writeMessage(buf, offset, m);
}

/** blankMessage returns a zero Message with the property order of newMessage. */
function blankMessage(): Message {
  return {
    type: 0,
    to: 0,
    from: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    vote: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: undefined,
    responses: [],
  };
}

/** isEmptySnapshotField reports whether the n bytes at pos are the canonical empty snapshot. */
function isEmptySnapshotField(buf: Uint8Array, pos: number, n: number): boolean {
  if (n !== EMPTY_SNAPSHOT_FIELD.length - 2) return false;
  for (let i = 0; i < n; i++) if (buf[pos + i] !== EMPTY_SNAPSHOT_FIELD[i + 2]) return false;
  return true;
}

/** messageSnapshot reads field 9 of m, merging into a snapshot already read. */
function messageSnapshot(r: Reader, end: number, m: Message): void {
  const n = readLength(r, end, 'Message.snapshot');
  if (m.snapshot === undefined && isEmptySnapshotField(r.buf, r.pos, n)) {
    r.pos += n;
    return;
  }
  m.snapshot ??= blankSnapshot();
  snapshotBody(r, r.pos + n, m.snapshot);
}

/** messageBody merges the fields between r.pos and end into m. */
function messageBody(r: Reader, end: number, m: Message, depth: number): void {
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'Message');
    switch (tag) {
      case 0x08:
        m.type = readUint(r, end, 'Message.type') as MessageType;
        break;
      case 0x10:
        m.to = readUint(r, end, 'Message.to');
        break;
      case 0x18:
        m.from = readUint(r, end, 'Message.from');
        break;
      case 0x20:
        m.term = readUint(r, end, 'Message.term');
        break;
      case 0x28:
        m.logTerm = readUint(r, end, 'Message.logTerm');
        break;
      case 0x30:
        m.index = readUint(r, end, 'Message.index');
        break;
      case 0x3a: {
        const stop = readEnd(r, end, 'Message.entries');
        m.entries.push(entryBody(r, stop));
        break;
      }
      case 0x40:
        m.commit = readUint(r, end, 'Message.commit');
        break;
      case 0x4a:
        messageSnapshot(r, end, m);
        break;
      case 0x50:
        m.reject = readBool(r, end, 'Message.reject');
        break;
      case 0x58:
        m.rejectHint = readUint(r, end, 'Message.rejectHint');
        break;
      case 0x62:
        m.context = readBytes(r, end, 'Message.context');
        break;
      case 0x68:
        m.vote = readUint(r, end, 'Message.vote');
        break;
      case 0x72:
        m.responses.push(messageResponse(r, end, at, depth));
        break;
      default:
        skipField(r, end, tag, 'Message', MESSAGE_FIELDS, at);
    }
  }
  if (m.snapshot !== undefined && isBlankSnapshot(m.snapshot)) m.snapshot = undefined;
}

/** messageResponse reads one element of Message.responses. */
function messageResponse(r: Reader, end: number, at: number, depth: number): Message {
  if (depth >= MAX_MESSAGE_DEPTH) {
    throw new RaftpbDecodeError(
      'Message.responses',
      at,
      `Messages nested deeper than ${MAX_MESSAGE_DEPTH}`,
    );
  }
  const stop = readEnd(r, end, 'Message.responses');
  const x = blankMessage();
  messageBody(r, stop, x, depth + 1);
  return x;
}

/**
 * decodeMessage decodes a Message. An all-empty snapshot decodes to `undefined`; see
 * {@link DecodeOptions} for how entry data and context are returned.
 */
export function decodeMessage(buf: Uint8Array, opts?: DecodeOptions): Message {
  const r = newReader(buf, opts, 'Message');
  const m = blankMessage();
  messageBody(r, buf.length, m, 1);
  return m;
}
