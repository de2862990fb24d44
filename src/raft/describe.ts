/**
 * Human-readable descriptions of raft's data, byte for byte as etcd-raft's util.go prints
 * them (DescribeReady, DescribeMessage, DescribeEntry, ...). The conformance files compare
 * against this text, so every space and newline matters.
 */
import { decodeConfChange, decodeConfChangeV2 } from '../raftpb/codec.ts';
import { confChangeAsV2, confChangesToString } from '../raftpb/confchange.ts';
import {
  ConfChangeTransitionNames,
  ConfChangeTypeNames,
  EntryType,
  EntryTypeNames,
  MessageTypeNames,
  isEmptyHardState,
  isEmptySnap,
} from '../raftpb/types.ts';
import type {
  ConfChange,
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Message,
  Snapshot,
} from '../raftpb/types.ts';
import { StateTypeNames } from './ready.ts';
import type { ReadState, Ready, SoftState } from './ready.ts';
import { LocalAppendThread, LocalApplyThread, None, hexId } from './util.ts';

/**
 * EntryFormatter renders the data of a normal entry. The default, goQuote, prints it as
 * Go's `%q`.
 */
export type EntryFormatter = (data: Uint8Array) => string;

const noBytes = new Uint8Array(0);

/** describeHardState prints `Term:<t>[ Vote:<v>] Commit:<c>` (Vote only when non-zero). */
export function describeHardState(hs: HardState): string {
  const vote = hs.vote !== 0 ? ` Vote:${hs.vote}` : '';
  return `Term:${hs.term}${vote} Commit:${hs.commit}`;
}

/** describeSoftState prints `Lead:<lead> State:<StateType name>`. */
export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.lead} State:${StateTypeNames[ss.raftState] ?? String(ss.raftState)}`;
}

function idList(ids: readonly number[]): string {
  return `[${ids.join(' ')}]`;
}

/** describeConfState prints the four ID lists (in stored order) and AutoLeave. */
export function describeConfState(cs: ConfState): string {
  return `Voters:${idList(cs.voters)} VotersOutgoing:${idList(cs.votersOutgoing)} Learners:${idList(cs.learners)} LearnersNext:${idList(cs.learnersNext)} AutoLeave:${cs.autoLeave}`;
}

/** describeSnapshot prints `Index:<i> Term:<t> ConfState:<describeConfState>`. */
export function describeSnapshot(snap: Snapshot): string {
  const m = snap.metadata;
  return `Index:${m.index} Term:${m.term} ConfState:${describeConfState(m.confState)}`;
}

function describeReadStates(rs: readonly ReadState[]): string {
  return `[${rs.map((r) => `{${r.index} [${Array.from(r.requestCtx).join(' ')}]}`).join(' ')}]`;
}

/**
 * describeReady prints a Ready: `Ready MustSync=<bool>:` and one section per non-empty
 * part (soft state, hard state, read states, entries, snapshot, committed entries,
 * messages), or `<empty Ready>` (no trailing newline) when there is nothing.
 */
export function describeReady(rd: Ready, f?: EntryFormatter): string {
  let buf = '';
  if (rd.softState !== undefined) buf += `${describeSoftState(rd.softState)}\n`;
  if (!isEmptyHardState(rd.hardState)) buf += `HardState ${describeHardState(rd.hardState)}\n`;
  if (rd.readStates.length > 0) buf += `ReadStates ${describeReadStates(rd.readStates)}\n`;
  if (rd.entries.length > 0) buf += `Entries:\n${describeEntries(rd.entries, f)}`;
  if (rd.snapshot !== undefined && !isEmptySnap(rd.snapshot)) {
    buf += `Snapshot ${describeSnapshot(rd.snapshot)}\n`;
  }
  if (rd.committedEntries.length > 0) {
    buf += `CommittedEntries:\n${describeEntries(rd.committedEntries, f)}`;
  }
  if (rd.messages.length > 0) {
    buf += 'Messages:\n';
    for (const m of rd.messages) buf += `${describeMessage(m, f)}\n`;
  }
  return buf === '' ? '<empty Ready>' : `Ready MustSync=${rd.mustSync}:\n${buf}`;
}

/**
 * describeTarget prints a message endpoint: `None` for 0, `AppendThread` / `ApplyThread`
 * for the local storage threads, otherwise the ID in lowercase hex.
 */
export function describeTarget(id: number): string {
  if (id === None) return 'None';
  if (id === LocalAppendThread) return 'AppendThread';
  if (id === LocalApplyThread) return 'ApplyThread';
  return hexId(id);
}

/**
 * describeMessage prints a message on one line, except that two or more entries, a
 * snapshot and storage responses continue on indented lines (see FORMAT.md §4.4).
 */
export function describeMessage(m: Message, f?: EntryFormatter): string {
  return describeMessageWithIndent('', m, f);
}

function describeMessageWithIndent(indent: string, m: Message, f?: EntryFormatter): string {
  const type = MessageTypeNames[m.type] ?? String(m.type);
  let buf = `${indent}${describeTarget(m.from)}->${describeTarget(m.to)} ${type} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) buf += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) buf += ` Commit:${m.commit}`;
  if (m.vote !== 0) buf += ` Vote:${m.vote}`;
  const ents = m.entries;
  if (ents.length === 1) {
    buf += ` Entries:[${describeEntry(ents[0] as Entry, f)}]`;
  } else if (ents.length > 1) {
    buf += ' Entries:[';
    for (const e of ents) buf += `\n${indent}  ${describeEntry(e, f)}`;
    buf += `\n${indent}]`;
  }
  if (m.snapshot !== undefined && !isEmptySnap(m.snapshot)) {
    buf += `\n${indent}  Snapshot: ${describeSnapshot(m.snapshot)}`;
  }
  if (m.responses.length > 0) {
    buf += ' Responses:[';
    for (const r of m.responses) buf += `\n${describeMessageWithIndent(`${indent}  `, r, f)}`;
    buf += `\n${indent}]`;
  }
  return buf;
}

function formatConfChangeData(e: Entry): string {
  const data = e.data ?? noBytes;
  try {
    const cc =
      e.type === EntryType.EntryConfChange ? decodeConfChange(data) : decodeConfChangeV2(data);
    return confChangesToString(confChangeAsV2(cc).changes);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * describeEntry prints `<term>/<index> <EntryType>` and the payload: f (default goQuote) of
 * the data for normal entries, the `v1 l2 r3 u4` change list for conf changes (nothing for
 * an empty list), or the decoding error text.
 */
export function describeEntry(e: Entry, f: EntryFormatter = goQuote): string {
  let formatted = '';
  if (e.type === EntryType.EntryNormal) formatted = f(e.data ?? noBytes);
  else if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) {
    formatted = formatConfChangeData(e);
  }
  const type = EntryTypeNames[e.type] ?? String(e.type);
  return `${e.term}/${e.index} ${type}${formatted === '' ? '' : ` ${formatted}`}`;
}

/** describeEntries prints describeEntry of each entry followed by a newline. */
export function describeEntries(ents: readonly Entry[], f?: EntryFormatter): string {
  let buf = '';
  for (const e of ents) buf += `${describeEntry(e, f)}\n`;
  return buf;
}

/**
 * describeConfChange prints a conf change (v1 through its v2 form) in etcd's long form:
 * `transition:<name>`, then ` changes:{type:<name> node_id:<id>}` per change, then
 * ` context:<goQuote>` when the context is not empty.
 */
export function describeConfChange(cc: ConfChange | ConfChangeV2): string {
  const v2 = confChangeAsV2(cc);
  let buf = `transition:${ConfChangeTransitionNames[v2.transition] ?? String(v2.transition)}`;
  for (const c of v2.changes) {
    buf += ` changes:{type:${ConfChangeTypeNames[c.type] ?? String(c.type)} node_id:${c.nodeId}}`;
  }
  if (v2.context !== undefined && v2.context.length > 0) buf += ` context:${goQuote(v2.context)}`;
  return buf;
}

/** describeConfChangeLong is describeConfChange (the name used by raft.ts). */
export const describeConfChangeLong = describeConfChange;

// Go's strconv.IsPrint above Latin-1: letters, marks, numbers, punctuation and symbols.
const printableRe = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function isPrint(r: number): boolean {
  if (r <= 0xff) {
    if (r >= 0x20 && r <= 0x7e) return true;
    return r >= 0xa1 && r !== 0xad;
  }
  return printableRe.test(String.fromCodePoint(r));
}

function hex(v: number, width: number): string {
  return v.toString(16).padStart(width, '0');
}

const asciiEscapes: Readonly<Record<number, string>> = {
  0x07: '\\a',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x0b: '\\v',
  0x22: '\\"',
  0x5c: '\\\\',
};

function quoteAscii(c: number): string {
  const esc = asciiEscapes[c];
  if (esc !== undefined) return esc;
  if (c < 0x20 || c === 0x7f) return `\\x${hex(c, 2)}`;
  return String.fromCharCode(c);
}

/**
 * decodeRune decodes one UTF-8 sequence at b[i] (b[i] >= 0x80) exactly as Go's
 * utf8.DecodeRune: returns [rune, width], or [-1, 1] for an invalid or truncated sequence
 * (overlong forms, surrogates and values past U+10FFFF are invalid).
 */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i] as number;
  if (c0 < 0xc2 || c0 > 0xf4) return [-1, 1];
  const need = c0 < 0xe0 ? 1 : c0 < 0xf0 ? 2 : 3;
  if (i + need >= b.length) return [-1, 1];
  let lo = 0x80;
  let hi = 0xbf;
  if (c0 === 0xe0) lo = 0xa0;
  else if (c0 === 0xed) hi = 0x9f;
  else if (c0 === 0xf0) lo = 0x90;
  else if (c0 === 0xf4) hi = 0x8f;
  const c1 = b[i + 1] as number;
  if (c1 < lo || c1 > hi) return [-1, 1];
  let r = (c0 & (0x7f >> (need + 1))) * 64 + (c1 & 0x3f);
  for (let k = 2; k <= need; k++) {
    const c = b[i + k] as number;
    if (c < 0x80 || c > 0xbf) return [-1, 1];
    r = r * 64 + (c & 0x3f);
  }
  return [r, need + 1];
}

function quoteRune(r: number): string {
  if (isPrint(r)) return String.fromCodePoint(r);
  return r < 0x10000 ? `\\u${hex(r, 4)}` : `\\U${hex(r, 8)}`;
}

/**
 * goQuote formats bytes as Go's `%q` (strconv.Quote of the bytes as a string): printable
 * characters as they are; `"` and `\` escaped; \a \b \f \n \r \t \v; other ASCII controls
 * and DEL as \xHH; other non-printable code points as \uHHHH or \UHHHHHHHH; each byte of an
 * invalid UTF-8 sequence as \xHH. Undefined or empty data gives `""`.
 */
export function goQuote(b: Uint8Array | undefined): string {
  if (b === undefined) return '""';
  let out = '"';
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    if (c < 0x80) {
      out += quoteAscii(c);
      i++;
      continue;
    }
    const [r, w] = decodeRune(b, i);
    out += r < 0 ? `\\x${hex(c, 2)}` : quoteRune(r);
    i += w;
  }
  return `${out}"`;
}
