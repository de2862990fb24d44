/**
 * Codec of the raftpb state and configuration types: Entry, HardState, ConfState,
 * SnapshotMetadata, Snapshot, ConfChange, ConfChangeSingle and ConfChangeV2. The wire
 * rules are described in codec.ts, which re-exports the public functions of this file;
 * the exported helpers without an encode/decode/size name are for codec.ts only.
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
  Snapshot,
  SnapshotMetadata,
} from './types.ts';
import {
  checkRoom,
  delimitedSize,
  newReader,
  readBool,
  readBytes,
  readEnd,
  readTag,
  readUint,
  skipField,
  writeBytes,
  writeVarint,
} from './wire.ts';
import type { DecodeOptions, Reader } from './wire.ts';

// Field names by number, used to refuse a known field sent with the wrong wire type.
const ENTRY_FIELDS = ['', 'type', 'term', 'index', 'data'];
const HARD_STATE_FIELDS = ['', 'term', 'vote', 'commit'];
const CONF_STATE_FIELDS = ['', 'voters', 'learners', 'votersOutgoing', 'learnersNext', 'autoLeave'];
const METADATA_FIELDS = ['', 'confState', 'index', 'term'];
const SNAPSHOT_FIELDS = ['', 'data', 'metadata'];
const CONF_CHANGE_FIELDS = ['', 'id', 'type', 'nodeId', 'context'];
const CC_SINGLE_FIELDS = ['', 'type', 'nodeId'];
const CC_V2_FIELDS = ['', 'transition', 'changes', 'context'];

// ---------------------------------------------------------------------------------------
// Entry

/** entryBody decodes the fields of an Entry between r.pos and end. */
export function entryBody(r: Reader, end: number): Entry {
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
export function writeEntry(buf: Uint8Array, pos: number, e: Entry): number {
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
export function writeSnapshot(buf: Uint8Array, pos: number, s: Snapshot): number {
  if (s.data !== undefined) {
    buf[pos++] = 0x0a;
    pos = writeBytes(buf, pos, s.data, 'Snapshot.data');
  }
  buf[pos++] = 0x12;
  pos = writeVarint(buf, pos, snapshotMetadataSize(s.metadata), 'Snapshot.metadata');
  return writeMetadata(buf, pos, s.metadata);
}

/** snapshotBody merges the fields between r.pos and end into s. */
export function snapshotBody(r: Reader, end: number, s: Snapshot): void {
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
export function blankSnapshot(): Snapshot {
  return { data: undefined, metadata: { confState: blankConfState(), index: 0, term: 0 } };
}

/** isBlankSnapshot reports whether s is all empty (it then encodes like undefined). */
export function isBlankSnapshot(s: Snapshot): boolean {
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
