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
 * Bytes fields (Entry.data, contexts, Snapshot.data) decode to copies by default, so the
 * result never aliases the input. Pass `{ copy: false }` to get subarrays of the input
 * instead (faster for large payloads; the caller must then not reuse the input buffer).
 *
 * A Message's snapshot that is all empty (index 0, term 0, empty ConfState, no data)
 * decodes to `undefined`, the same value that encodes to it.
 */
import { entrySize, varintSize } from './size.ts';
import type {
  ConfChange,
  ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  ConfChangeV2,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  Snapshot,
  SnapshotMetadata,
} from './types.ts';
import {
  RaftpbDecodeError,
  Reader,
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

export { RaftpbDecodeError } from './wire.ts';

/** DecodeOptions tunes the decoders. */
export interface DecodeOptions {
  /**
   * copy: true (the default) copies bytes fields out of the input; false returns
   * subarrays that share memory with the input.
   */
  copy?: boolean;
}

/** MAX_MESSAGE_DEPTH bounds Message.responses nesting, in the decoder and the encoder. */
export const MAX_MESSAGE_DEPTH = 64;

/** The bytes 3.4 writes for an undefined Message.snapshot: tag 9, length 10, empty body. */
const EMPTY_SNAPSHOT_FIELD = Uint8Array.of(
  0x4a,
  0x0a,
  0x12,
  0x08,
  0x0a,
  0x02,
  0x28,
  0x00,
  0x10,
  0x00,
  0x18,
  0x00,
);

// Field names by number, used to refuse a known field sent with the wrong wire type.
const ENTRY_FIELDS = ['', 'type', 'term', 'index', 'data'];
const HARD_STATE_FIELDS = ['', 'term', 'vote', 'commit'];
const CONF_STATE_FIELDS = ['', 'voters', 'learners', 'votersOutgoing', 'learnersNext', 'autoLeave'];
const METADATA_FIELDS = ['', 'confState', 'index', 'term'];
const SNAPSHOT_FIELDS = ['', 'data', 'metadata'];
const CONF_CHANGE_FIELDS = ['', 'id', 'type', 'nodeId', 'context'];
const CC_SINGLE_FIELDS = ['', 'type', 'nodeId'];
const CC_V2_FIELDS = ['', 'transition', 'changes', 'context'];
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

/** delimitedSize is the size of a length-delimited field with a one-byte tag. */
function delimitedSize(n: number): number {
  return 1 + varintSize(n) + n;
}

/** newReader checks the input and returns a cursor over it. */
function newReader(buf: Uint8Array, opts: DecodeOptions | undefined, type: string): Reader {
  if (!(buf instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode ${type}: input must be a Uint8Array`);
  }
  return new Reader(buf, opts?.copy !== false);
}

// ---------------------------------------------------------------------------------------
// Entry

/** entryBody decodes the fields of an Entry between r.pos and end. */
function entryBody(r: Reader, end: number): Entry {
  let type = 0;
  let term = 0;
  let index = 0;
  let data: Uint8Array | undefined;
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'Entry');
    switch (tag) {
      case 0x08:
        type = readUint(r, end, 'Entry.type');
        break;
      case 0x10:
        term = readUint(r, end, 'Entry.term');
        break;
      case 0x18:
        index = readUint(r, end, 'Entry.index');
        break;
      case 0x22:
        data = readBytes(r, end, 'Entry.data');
        break;
      default:
        skipField(r, end, tag, 'Entry', ENTRY_FIELDS, at);
    }
  }
  return { term, index, type: type as EntryType, data };
}

/** writeEntry writes the fields of e (no tag or length) at pos. */
function writeEntry(buf: Uint8Array, pos: number, e: Entry): number {
  buf[pos++] = 0x08;
  pos = writeVarint(buf, pos, e.type, 'Entry.type');
  buf[pos++] = 0x10;
  pos = writeVarint(buf, pos, e.term, 'Entry.term');
  buf[pos++] = 0x18;
  pos = writeVarint(buf, pos, e.index, 'Entry.index');
  if (e.data !== undefined) {
    buf[pos++] = 0x22;
    pos = writeBytes(buf, pos, e.data, 'Entry.data');
  }
  return pos;
}

/** encodeEntry returns the wire encoding of an Entry; its length is entrySize(e). */
export function encodeEntry(e: Entry): Uint8Array {
  const buf = new Uint8Array(entrySize(e));
  writeEntry(buf, 0, e);
  return buf;
}

/**
 * encodeEntryInto writes the encoding of e into buf at offset and returns the offset just
 * past it. It throws a RangeError if buf has less than entrySize(e) bytes from offset.
 */
export function encodeEntryInto(buf: Uint8Array, offset: number, e: Entry): number {
  checkRoom(buf, offset, entrySize(e), 'Entry');
  return writeEntry(buf, offset, e);
}

/** decodeEntry decodes an Entry; see {@link DecodeOptions} for how data is returned. */
export function decodeEntry(buf: Uint8Array, opts?: DecodeOptions): Entry {
  const r = newReader(buf, opts, 'Entry');
  return entryBody(r, buf.length);
}

// ---------------------------------------------------------------------------------------
// HardState

/** hardStateSize returns the encoded length of a HardState. */
export function hardStateSize(hs: HardState): number {
  return 3 + varintSize(hs.term) + varintSize(hs.vote) + varintSize(hs.commit);
}

/** encodeHardState returns the wire encoding of a HardState (all three fields, always). */
export function encodeHardState(hs: HardState): Uint8Array {
  const buf = new Uint8Array(hardStateSize(hs));
  let pos = 0;
  buf[pos++] = 0x08;
  pos = writeVarint(buf, pos, hs.term, 'HardState.term');
  buf[pos++] = 0x10;
  pos = writeVarint(buf, pos, hs.vote, 'HardState.vote');
  buf[pos++] = 0x18;
  writeVarint(buf, pos, hs.commit, 'HardState.commit');
  return buf;
}

/** decodeHardState decodes a HardState; missing fields are zero. */
export function decodeHardState(buf: Uint8Array): HardState {
  const r = newReader(buf, undefined, 'HardState');
  const end = buf.length;
  const hs: HardState = { term: 0, vote: 0, commit: 0 };
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'HardState');
    if (tag === 0x08) hs.term = readUint(r, end, 'HardState.term');
    else if (tag === 0x10) hs.vote = readUint(r, end, 'HardState.vote');
    else if (tag === 0x18) hs.commit = readUint(r, end, 'HardState.commit');
    else skipField(r, end, tag, 'HardState', HARD_STATE_FIELDS, at);
  }
  return hs;
}

// ---------------------------------------------------------------------------------------
// ConfState

/** listSize is the size of an unpacked repeated uint64 with a one-byte tag. */
function listSize(list: readonly number[]): number {
  let n = list.length;
  for (const v of list) n += varintSize(v);
  return n;
}

/** confStateSize returns the encoded length of a ConfState. */
export function confStateSize(cs: ConfState): number {
  return (
    listSize(cs.voters) +
    listSize(cs.learners) +
    listSize(cs.votersOutgoing) +
    listSize(cs.learnersNext) +
    2
  );
}

/** writeList writes an unpacked repeated uint64, one tag per element. */
function writeList(buf: Uint8Array, pos: number, tag: number, list: number[], where: string) {
  for (const v of list) {
    buf[pos++] = tag;
    pos = writeVarint(buf, pos, v, where);
  }
  return pos;
}

/** writeConfState writes the fields of cs at pos. */
function writeConfState(buf: Uint8Array, pos: number, cs: ConfState): number {
  pos = writeList(buf, pos, 0x08, cs.voters, 'ConfState.voters');
  pos = writeList(buf, pos, 0x10, cs.learners, 'ConfState.learners');
  pos = writeList(buf, pos, 0x18, cs.votersOutgoing, 'ConfState.votersOutgoing');
  pos = writeList(buf, pos, 0x20, cs.learnersNext, 'ConfState.learnersNext');
  buf[pos++] = 0x28;
  buf[pos++] = cs.autoLeave ? 1 : 0;
  return pos;
}

/** readList appends one element, or a packed run of elements, to a ConfState list. */
function readList(r: Reader, end: number, tag: number, list: number[], where: string) {
  if ((tag & 7) === 0) {
    list.push(readUint(r, end, where));
    return;
  }
  const stop = readEnd(r, end, where);
  while (r.pos < stop) list.push(readUint(r, stop, where));
}

/** confStateBody merges the fields between r.pos and end into cs. */
function confStateBody(r: Reader, end: number, cs: ConfState): void {
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'ConfState');
    switch (tag) {
      case 0x08:
      case 0x0a:
        readList(r, end, tag, cs.voters, 'ConfState.voters');
        break;
      case 0x10:
      case 0x12:
        readList(r, end, tag, cs.learners, 'ConfState.learners');
        break;
      case 0x18:
      case 0x1a:
        readList(r, end, tag, cs.votersOutgoing, 'ConfState.votersOutgoing');
        break;
      case 0x20:
      case 0x22:
        readList(r, end, tag, cs.learnersNext, 'ConfState.learnersNext');
        break;
      case 0x28:
        cs.autoLeave = readBool(r, end, 'ConfState.autoLeave');
        break;
      default:
        skipField(r, end, tag, 'ConfState', CONF_STATE_FIELDS, at);
    }
  }
}

/** blankConfState returns an empty ConfState (same shape as newConfState). */
function blankConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** encodeConfState returns the wire encoding of a ConfState (lists unpacked). */
export function encodeConfState(cs: ConfState): Uint8Array {
  const buf = new Uint8Array(confStateSize(cs));
  writeConfState(buf, 0, cs);
  return buf;
}

/** decodeConfState decodes a ConfState; lists may be packed or unpacked. */
export function decodeConfState(buf: Uint8Array): ConfState {
  const r = newReader(buf, undefined, 'ConfState');
  const cs = blankConfState();
  confStateBody(r, buf.length, cs);
  return cs;
}

// ---------------------------------------------------------------------------------------
// SnapshotMetadata and Snapshot

/** snapshotMetadataSize returns the encoded length of a SnapshotMetadata. */
export function snapshotMetadataSize(md: SnapshotMetadata): number {
  return (
    delimitedSize(confStateSize(md.confState)) + 2 + varintSize(md.index) + varintSize(md.term)
  );
}

/** writeMetadata writes the fields of md at pos. */
function writeMetadata(buf: Uint8Array, pos: number, md: SnapshotMetadata): number {
  buf[pos++] = 0x0a;
  pos = writeVarint(buf, pos, confStateSize(md.confState), 'SnapshotMetadata.confState');
  pos = writeConfState(buf, pos, md.confState);
  buf[pos++] = 0x10;
  pos = writeVarint(buf, pos, md.index, 'SnapshotMetadata.index');
  buf[pos++] = 0x18;
  return writeVarint(buf, pos, md.term, 'SnapshotMetadata.term');
}

/** metadataBody merges the fields between r.pos and end into md. */
function metadataBody(r: Reader, end: number, md: SnapshotMetadata): void {
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'SnapshotMetadata');
    if (tag === 0x0a) {
      const stop = readEnd(r, end, 'SnapshotMetadata.confState');
      confStateBody(r, stop, md.confState);
    } else if (tag === 0x10) {
      md.index = readUint(r, end, 'SnapshotMetadata.index');
    } else if (tag === 0x18) {
      md.term = readUint(r, end, 'SnapshotMetadata.term');
    } else {
      skipField(r, end, tag, 'SnapshotMetadata', METADATA_FIELDS, at);
    }
  }
}

/** encodeSnapshotMetadata returns the wire encoding of a SnapshotMetadata. */
export function encodeSnapshotMetadata(md: SnapshotMetadata): Uint8Array {
  const buf = new Uint8Array(snapshotMetadataSize(md));
  writeMetadata(buf, 0, md);
  return buf;
}

/** decodeSnapshotMetadata decodes a SnapshotMetadata. */
export function decodeSnapshotMetadata(buf: Uint8Array): SnapshotMetadata {
  const r = newReader(buf, undefined, 'SnapshotMetadata');
  const md: SnapshotMetadata = { confState: blankConfState(), index: 0, term: 0 };
  metadataBody(r, buf.length, md);
  return md;
}

/** snapshotSize returns the encoded length of a Snapshot. */
export function snapshotSize(s: Snapshot): number {
  let n = delimitedSize(snapshotMetadataSize(s.metadata));
  if (s.data !== undefined) n += delimitedSize(s.data.length);
  return n;
}

/** writeSnapshot writes the fields of s at pos. */
function writeSnapshot(buf: Uint8Array, pos: number, s: Snapshot): number {
  if (s.data !== undefined) {
    buf[pos++] = 0x0a;
    pos = writeBytes(buf, pos, s.data, 'Snapshot.data');
  }
  buf[pos++] = 0x12;
  pos = writeVarint(buf, pos, snapshotMetadataSize(s.metadata), 'Snapshot.metadata');
  return writeMetadata(buf, pos, s.metadata);
}

/** snapshotBody merges the fields between r.pos and end into s. */
function snapshotBody(r: Reader, end: number, s: Snapshot): void {
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'Snapshot');
    if (tag === 0x0a) {
      s.data = readBytes(r, end, 'Snapshot.data');
    } else if (tag === 0x12) {
      const stop = readEnd(r, end, 'Snapshot.metadata');
      metadataBody(r, stop, s.metadata);
    } else {
      skipField(r, end, tag, 'Snapshot', SNAPSHOT_FIELDS, at);
    }
  }
}

/** blankSnapshot returns an empty snapshot with a data property (one object shape). */
function blankSnapshot(): Snapshot {
  return { data: undefined, metadata: { confState: blankConfState(), index: 0, term: 0 } };
}

/** isBlankSnapshot reports whether s is all empty (it then encodes like undefined). */
function isBlankSnapshot(s: Snapshot): boolean {
  const md = s.metadata;
  const cs = md.confState;
  return (
    s.data === undefined &&
    md.index === 0 &&
    md.term === 0 &&
    cs.voters.length === 0 &&
    cs.learners.length === 0 &&
    cs.votersOutgoing.length === 0 &&
    cs.learnersNext.length === 0 &&
    !cs.autoLeave
  );
}

/** encodeSnapshot returns the wire encoding of a Snapshot. */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const buf = new Uint8Array(snapshotSize(s));
  writeSnapshot(buf, 0, s);
  return buf;
}

/** decodeSnapshot decodes a Snapshot (always an object, even when empty). */
export function decodeSnapshot(buf: Uint8Array, opts?: DecodeOptions): Snapshot {
  const r = newReader(buf, opts, 'Snapshot');
  const s = blankSnapshot();
  snapshotBody(r, buf.length, s);
  return s;
}

// ---------------------------------------------------------------------------------------
// ConfChange, ConfChangeSingle, ConfChangeV2

/** confChangeSize returns the encoded length of a ConfChange. */
export function confChangeSize(cc: ConfChange): number {
  let n = 3 + varintSize(cc.id) + varintSize(cc.type) + varintSize(cc.nodeId);
  if (cc.context !== undefined) n += delimitedSize(cc.context.length);
  return n;
}

/** encodeConfChange returns the wire encoding of a ConfChange (id, type, nodeId, context). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const buf = new Uint8Array(confChangeSize(cc));
  let pos = 0;
  buf[pos++] = 0x08;
  pos = writeVarint(buf, pos, cc.id, 'ConfChange.id');
  buf[pos++] = 0x10;
  pos = writeVarint(buf, pos, cc.type, 'ConfChange.type');
  buf[pos++] = 0x18;
  pos = writeVarint(buf, pos, cc.nodeId, 'ConfChange.nodeId');
  if (cc.context !== undefined) {
    buf[pos++] = 0x22;
    writeBytes(buf, pos, cc.context, 'ConfChange.context');
  }
  return buf;
}

/** decodeConfChange decodes a ConfChange; see {@link DecodeOptions} for the context. */
export function decodeConfChange(buf: Uint8Array, opts?: DecodeOptions): ConfChange {
  const r = newReader(buf, opts, 'ConfChange');
  const end = buf.length;
  const cc: ConfChange = { type: 0, nodeId: 0, context: undefined, id: 0 };
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'ConfChange');
    if (tag === 0x08) cc.id = readUint(r, end, 'ConfChange.id');
    else if (tag === 0x10) cc.type = readUint(r, end, 'ConfChange.type') as ConfChangeType;
    else if (tag === 0x18) cc.nodeId = readUint(r, end, 'ConfChange.nodeId');
    else if (tag === 0x22) cc.context = readBytes(r, end, 'ConfChange.context');
    else skipField(r, end, tag, 'ConfChange', CONF_CHANGE_FIELDS, at);
  }
  return cc;
}

/** confChangeSingleSize returns the encoded length of a ConfChangeSingle. */
export function confChangeSingleSize(c: ConfChangeSingle): number {
  return 2 + varintSize(c.type) + varintSize(c.nodeId);
}

/** writeSingle writes the fields of c at pos. */
function writeSingle(buf: Uint8Array, pos: number, c: ConfChangeSingle): number {
  buf[pos++] = 0x08;
  pos = writeVarint(buf, pos, c.type, 'ConfChangeSingle.type');
  buf[pos++] = 0x10;
  return writeVarint(buf, pos, c.nodeId, 'ConfChangeSingle.nodeId');
}

/** singleBody decodes the fields of a ConfChangeSingle between r.pos and end. */
function singleBody(r: Reader, end: number): ConfChangeSingle {
  let type = 0;
  let nodeId = 0;
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'ConfChangeSingle');
    if (tag === 0x08) type = readUint(r, end, 'ConfChangeSingle.type');
    else if (tag === 0x10) nodeId = readUint(r, end, 'ConfChangeSingle.nodeId');
    else skipField(r, end, tag, 'ConfChangeSingle', CC_SINGLE_FIELDS, at);
  }
  return { type: type as ConfChangeType, nodeId };
}

/** encodeConfChangeSingle returns the wire encoding of a ConfChangeSingle. */
export function encodeConfChangeSingle(c: ConfChangeSingle): Uint8Array {
  const buf = new Uint8Array(confChangeSingleSize(c));
  writeSingle(buf, 0, c);
  return buf;
}

/** decodeConfChangeSingle decodes a ConfChangeSingle. */
export function decodeConfChangeSingle(buf: Uint8Array): ConfChangeSingle {
  return singleBody(newReader(buf, undefined, 'ConfChangeSingle'), buf.length);
}

/** confChangeV2Size returns the encoded length of a ConfChangeV2. */
export function confChangeV2Size(cc: ConfChangeV2): number {
  let n = 1 + varintSize(cc.transition);
  for (const c of cc.changes) n += delimitedSize(confChangeSingleSize(c));
  if (cc.context !== undefined) n += delimitedSize(cc.context.length);
  return n;
}

/** encodeConfChangeV2 returns the wire encoding of a ConfChangeV2. */
export function encodeConfChangeV2(cc: ConfChangeV2): Uint8Array {
  const buf = new Uint8Array(confChangeV2Size(cc));
  let pos = 0;
  buf[pos++] = 0x08;
  pos = writeVarint(buf, pos, cc.transition, 'ConfChangeV2.transition');
  for (const c of cc.changes) {
    buf[pos++] = 0x12;
    pos = writeVarint(buf, pos, confChangeSingleSize(c), 'ConfChangeV2.changes');
    pos = writeSingle(buf, pos, c);
  }
  if (cc.context !== undefined) {
    buf[pos++] = 0x1a;
    writeBytes(buf, pos, cc.context, 'ConfChangeV2.context');
  }
  return buf;
}

/** decodeConfChangeV2 decodes a ConfChangeV2; see {@link DecodeOptions} for the context. */
export function decodeConfChangeV2(buf: Uint8Array, opts?: DecodeOptions): ConfChangeV2 {
  const r = newReader(buf, opts, 'ConfChangeV2');
  const end = buf.length;
  const cc: ConfChangeV2 = { transition: 0, changes: [], context: undefined };
  while (r.pos < end) {
    const at = r.pos;
    const tag = readTag(r, end, 'ConfChangeV2');
    if (tag === 0x08) {
      cc.transition = readUint(r, end, 'ConfChangeV2.transition') as ConfChangeTransition;
    } else if (tag === 0x12) {
      const stop = readEnd(r, end, 'ConfChangeV2.changes');
      cc.changes.push(singleBody(r, stop));
    } else if (tag === 0x1a) {
      cc.context = readBytes(r, end, 'ConfChangeV2.context');
    } else {
      skipField(r, end, tag, 'ConfChangeV2', CC_V2_FIELDS, at);
    }
  }
  return cc;
}

// ---------------------------------------------------------------------------------------
// Message

/** sizeAt returns the encoded length of m, refusing nesting deeper than the limit. */
function sizeAt(m: Message, depth: number): number {
  if (depth > MAX_MESSAGE_DEPTH) {
    throw new RangeError(`Cannot encode Message: responses nested deeper than ${depth - 1}`);
  }
  let n = 10 + varintSize(m.type) + varintSize(m.to) + varintSize(m.from) + varintSize(m.term);
  n += varintSize(m.logTerm) + varintSize(m.index) + varintSize(m.commit) + varintSize(m.rejectHint);
  for (const e of m.entries) n += delimitedSize(entrySize(e));
  n += m.snapshot === undefined ? EMPTY_SNAPSHOT_FIELD.length : delimitedSize(snapshotSize(m.snapshot));
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

/** checkRoom throws a RangeError unless buf holds n bytes from offset. */
function checkRoom(buf: Uint8Array, offset: number, n: number, type: string): void {
  if (!Number.isInteger(offset) || offset < 0 || buf.length - offset < n) {
    throw new RangeError(
      `Cannot encode ${type}: ${n} bytes at offset ${offset} exceed buffer length ${buf.length}`,
    );
  }
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
