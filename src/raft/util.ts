import { MessageType, MessageTypeNames } from '../raftpb/types.ts';
import type { ConfState, Entry, Snapshot } from '../raftpb/types.ts';
import { entrySize } from '../raftpb/size.ts';
import { confStateEquivalent } from '../raftpb/confstate.ts';
import { RaftPanic, raftPanic } from './logger.ts';
import type { Logger } from './logger.ts';

/** None is the node ID meaning "no node" (no leader, no vote). */
export const None = 0;

/**
 * LocalAppendThread is the target of MsgStorageAppend messages (AsyncStorageWrites): the
 * local thread that persists entries and snapshots. etcd uses 2^64-1, which is not a safe
 * integer; here it is -1. It never goes on the wire: the codec only sees peer IDs.
 * describeTarget prints it as `AppendThread`, hexId as `ffffffffffffffff`.
 */
export const LocalAppendThread = -1;

/**
 * LocalApplyThread is the target of MsgStorageApply messages: the local thread that applies
 * committed entries. etcd uses 2^64-2; here it is -2 (see LocalAppendThread).
 */
export const LocalApplyThread = -2;

/**
 * noLimit is the "unlimited" byte size (etcd's math.MaxUint64). Arithmetic on it stays
 * unlimited: noLimit - x === noLimit.
 */
export const noLimit = Number.POSITIVE_INFINITY;

const localMsgs: ReadonlySet<number> = new Set<number>([
  MessageType.MsgHup,
  MessageType.MsgBeat,
  MessageType.MsgUnreachable,
  MessageType.MsgSnapStatus,
  MessageType.MsgCheckQuorum,
  MessageType.MsgStorageAppend,
  MessageType.MsgStorageAppendResp,
  MessageType.MsgStorageApply,
  MessageType.MsgStorageApplyResp,
]);

const responseMsgs: ReadonlySet<number> = new Set<number>([
  MessageType.MsgAppResp,
  MessageType.MsgVoteResp,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgUnreachable,
  MessageType.MsgReadIndexResp,
  MessageType.MsgPreVoteResp,
  MessageType.MsgStorageAppendResp,
  MessageType.MsgStorageApplyResp,
]);

/** isLocalMsg reports whether messages of type t are produced and consumed locally only. */
export function isLocalMsg(t: number): boolean {
  return localMsgs.has(t);
}

/** isResponseMsg reports whether messages of type t answer another message. */
export function isResponseMsg(t: number): boolean {
  return responseMsgs.has(t);
}

/** isLocalMsgTarget reports whether id names a local storage thread rather than a peer. */
export function isLocalMsgTarget(id: number): boolean {
  return id === LocalAppendThread || id === LocalApplyThread;
}

/** voteRespMsgType returns the response type of MsgVote or MsgPreVote; panics otherwise. */
export function voteRespMsgType(t: MessageType): MessageType {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  const name = MessageTypeNames[t] ?? String(t);
  throw new RaftPanic(`not a vote message: ${name}`);
}

/**
 * hexId formats a node ID as Go's `%x`: lowercase hex without prefix. The local thread
 * sentinels print as the uint64 values etcd uses for them.
 */
export function hexId(id: number): string {
  if (id === LocalAppendThread) return 'ffffffffffffffff';
  if (id === LocalApplyThread) return 'fffffffffffffffe';
  return id.toString(16);
}

/**
 * payloadSize is the length of an entry's data. Index and term do not count, so the empty
 * entry a new leader appends has size 0 and does not use up the uncommitted-size budget.
 */
export function payloadSize(e: Entry): number {
  return e.data === undefined ? 0 : e.data.length;
}

/** payloadsSize is the sum of payloadSize over ents. */
export function payloadsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += payloadSize(e);
  return s;
}

/** entsSize is the sum of the protobuf encoding sizes of ents (the unit of byte limits). */
export function entsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (const e of ents) s += entrySize(e);
  return s;
}

/**
 * limitSizeCount returns how many entries of ents[lo, hi) form the longest prefix whose
 * total encoding size is at most maxSize; at least 1 when the range is non-empty, even if
 * the first entry alone exceeds maxSize.
 */
export function limitSizeCount(
  ents: readonly Entry[],
  lo: number,
  hi: number,
  maxSize: number,
): number {
  const n = hi - lo;
  if (n <= 1 || maxSize === noLimit) return Math.max(n, 0);
  let size = entrySize(ents[lo] as Entry);
  for (let i = lo + 1; i < hi; i++) {
    size += entrySize(ents[i] as Entry);
    if (size > maxSize) return i - lo;
  }
  return n;
}

/**
 * limitSize returns the longest prefix of ents whose total encoding size is at most maxSize,
 * but never fewer than one entry when ents is non-empty. When nothing is cut the result is
 * ents itself (as Go's prefix slice shares its array); otherwise it is a new array.
 */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  const n = limitSizeCount(ents, 0, ents.length, maxSize);
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * extend appends vals to dst in place and returns dst. dst must belong to the caller (for
 * instance an array returned by Storage.entries). Unlike `dst.push(...vals)` it cannot
 * overflow the call stack on long arrays.
 */
export function extend(dst: Entry[], vals: readonly Entry[]): Entry[] {
  for (const v of vals) dst.push(v);
  return dst;
}

/** cloneConfState returns a deep copy of a ConfState. */
export function cloneConfState(cs: ConfState): ConfState {
  return {
    voters: cs.voters.slice(),
    learners: cs.learners.slice(),
    votersOutgoing: cs.votersOutgoing.slice(),
    learnersNext: cs.learnersNext.slice(),
    autoLeave: cs.autoLeave,
  };
}

/**
 * cloneSnapshot returns a deep copy of a snapshot, data bytes included (like Go's
 * proto.Clone), so the copy's holder may keep it while the original is reused.
 */
export function cloneSnapshot(s: Snapshot): Snapshot {
  const m = s.metadata;
  const out: Snapshot = {
    metadata: { confState: cloneConfState(m.confState), index: m.index, term: m.term },
  };
  if (s.data !== undefined) out.data = s.data.slice();
  return out;
}

/**
 * assertConfStatesEquivalent panics (through l) unless cs1 and cs2 describe the same
 * configuration, ignoring the order of IDs in each list.
 */
export function assertConfStatesEquivalent(l: Logger, cs1: ConfState, cs2: ConfState): void {
  const err = confStateEquivalent(cs1, cs2);
  if (err !== null) raftPanic(l, err.message);
}

/** concatBytes joins parts into one new Uint8Array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
