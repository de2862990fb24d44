/**
 * Checks on messages that arrive from the network before they reach raft.
 *
 * The raft core trusts its peers: a message that no correct etcd-raft peer sends (a
 * MsgVote without a term, a message addressed to someone else, a local-only type such as
 * MsgHup or MsgStorageAppend, entries whose indexes do not follow the message's index) can
 * make it throw a RaftPanic, which stops the node. The transport's handshake keeps out
 * frames from strangers, but a buggy or compromised member, or a frame damaged in a way
 * that still decodes, can still produce them. The Node drops such messages with a reason
 * instead of stepping them.
 *
 * Legitimate messages are never refused: each rule below is something raft's `send` and
 * the step functions guarantee for every message they put on the wire.
 */
import { MessageType, MessageTypeNames } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';

/**
 * Network message types: what one raft node sends to another. Every other type (MsgHup,
 * MsgBeat, MsgUnreachable, MsgSnapStatus, MsgCheckQuorum, MsgStorage*, MsgForgetLeader)
 * is produced and consumed inside one node.
 */
export const NETWORK_TYPES: ReadonlySet<number> = new Set<number>([
  MessageType.MsgProp,
  MessageType.MsgApp,
  MessageType.MsgAppResp,
  MessageType.MsgVote,
  MessageType.MsgVoteResp,
  MessageType.MsgSnap,
  MessageType.MsgHeartbeat,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgTransferLeader,
  MessageType.MsgTimeoutNow,
  MessageType.MsgReadIndex,
  MessageType.MsgReadIndexResp,
  MessageType.MsgPreVote,
  MessageType.MsgPreVoteResp,
]);

/**
 * Types raft forwards without a term (etcd-raft treats them as local messages of the node
 * they are forwarded to): every other network message carries the sender's term, > 0.
 */
const TERMLESS: ReadonlySet<number> = new Set<number>([
  MessageType.MsgProp,
  MessageType.MsgReadIndex,
]);

/**
 * Types that carry entries: appends, forwarded proposals, and read requests with their
 * responses (the read's context travels as an entry).
 */
const WITH_ENTRIES: ReadonlySet<number> = new Set<number>([
  MessageType.MsgApp,
  MessageType.MsgProp,
  MessageType.MsgReadIndex,
  MessageType.MsgReadIndexResp,
]);

/**
 * refusal returns why a message from the network must not be stepped into the raft node
 * `self`, or undefined if it may be. It looks at the message alone, not at raft's state.
 */
export function refusal(m: Message, self: number): string | undefined {
  const name = MessageTypeNames[m.type] ?? `type ${m.type}`;
  if (!NETWORK_TYPES.has(m.type)) return `${name} is not a message peers exchange`;
  if (m.to !== self) return `it is addressed to ${m.to}, not to ${self}`;
  if (m.from === 0) return 'it has no sender';
  if (TERMLESS.has(m.type)) {
    // A proposal or read forwarded twice (its first leader lost leadership meanwhile) keeps
    // its original sender, which may be this node.
    if (m.term !== 0) return `a forwarded ${name} carries no term, this one has ${m.term}`;
  } else if (m.term === 0) {
    return `${name} without a term`;
  } else if (m.from === self) {
    return `${name} claims to come from this node`;
  }
  if (m.entries.length > 0) {
    if (!WITH_ENTRIES.has(m.type)) return `${name} with entries`;
    if (m.type === MessageType.MsgApp) {
      // Entries follow the index they are appended after, their terms never decrease,
      // start at or after logTerm and never exceed the leader's term.
      let prevTerm = m.logTerm;
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i];
        if (e === undefined) return 'MsgApp with a missing entry';
        if (e.index !== m.index + 1 + i) {
          return `MsgApp entry ${i} has index ${e.index}, not ${m.index + 1 + i}`;
        }
        if (e.term < prevTerm || e.term > m.term) {
          return `MsgApp entry ${e.index} has term ${e.term} outside ${prevTerm}..${m.term}`;
        }
        prevTerm = e.term;
      }
    }
  }
  if (m.type === MessageType.MsgApp && m.logTerm > m.term) {
    return `MsgApp with logTerm ${m.logTerm} past its term ${m.term}`;
  }
  if (m.type === MessageType.MsgSnap) {
    const md = m.snapshot?.metadata;
    if (md === undefined || md.index === 0) return 'MsgSnap without a snapshot';
    if (md.term === 0 || md.term > m.term) {
      return `MsgSnap of a snapshot with term ${md.term} (message term ${m.term})`;
    }
  } else if (m.snapshot !== undefined && m.snapshot.metadata.index !== 0) {
    return `${name} carries a snapshot`;
  }
  return undefined;
}
