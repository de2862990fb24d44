/**
 * Message, entry and state types of etcd's raftpb (raft.proto), as plain TypeScript.
 *
 * Every uint64 of the wire format is a `number` here and must stay a safe integer
 * (<= 2^53-1); the codec refuses larger values. Bytes are `Uint8Array`. A bytes field that
 * is `undefined` is "nil" in Go terms (not written on the wire); an empty `Uint8Array` is
 * "set but empty" (written with length 0).
 */

/** MessageType enumerates raftpb.MessageType; numbers are the wire values. */
export const MessageType = {
  MsgHup: 0,
  MsgBeat: 1,
  MsgProp: 2,
  MsgApp: 3,
  MsgAppResp: 4,
  MsgVote: 5,
  MsgVoteResp: 6,
  MsgSnap: 7,
  MsgHeartbeat: 8,
  MsgHeartbeatResp: 9,
  MsgUnreachable: 10,
  MsgSnapStatus: 11,
  MsgCheckQuorum: 12,
  MsgTransferLeader: 13,
  MsgTimeoutNow: 14,
  MsgReadIndex: 15,
  MsgReadIndexResp: 16,
  MsgPreVote: 17,
  MsgPreVoteResp: 18,
  MsgStorageAppend: 19,
  MsgStorageAppendResp: 20,
  MsgStorageApply: 21,
  MsgStorageApplyResp: 22,
  MsgForgetLeader: 23,
} as const;
/** MessageType is the numeric wire value of a message type. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** MessageTypeNames maps a MessageType number to its raftpb name. */
export const MessageTypeNames: readonly string[] = Object.keys(MessageType);

/** EntryType enumerates raftpb.EntryType. */
export const EntryType = {
  EntryNormal: 0,
  EntryConfChange: 1,
  EntryConfChangeV2: 2,
} as const;
/** EntryType is the numeric wire value of an entry type. */
export type EntryType = (typeof EntryType)[keyof typeof EntryType];
/** EntryTypeNames maps an EntryType number to its raftpb name. */
export const EntryTypeNames: readonly string[] = Object.keys(EntryType);

/** ConfChangeType enumerates raftpb.ConfChangeType. */
export const ConfChangeType = {
  ConfChangeAddNode: 0,
  ConfChangeRemoveNode: 1,
  ConfChangeUpdateNode: 2,
  ConfChangeAddLearnerNode: 3,
} as const;
/** ConfChangeType is the numeric wire value of a conf change type. */
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];
/** ConfChangeTypeNames maps a ConfChangeType number to its raftpb name. */
export const ConfChangeTypeNames: readonly string[] = Object.keys(ConfChangeType);

/** ConfChangeTransition enumerates raftpb.ConfChangeTransition. */
export const ConfChangeTransition = {
  ConfChangeTransitionAuto: 0,
  ConfChangeTransitionJointImplicit: 1,
  ConfChangeTransitionJointExplicit: 2,
} as const;
/** ConfChangeTransition is the numeric wire value of a transition. */
export type ConfChangeTransition = (typeof ConfChangeTransition)[keyof typeof ConfChangeTransition];
/** ConfChangeTransitionNames maps a ConfChangeTransition number to its raftpb name. */
export const ConfChangeTransitionNames: readonly string[] = Object.keys(ConfChangeTransition);

/** Entry is one log entry. An entry that has not been appended yet has term and index 0. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Payload; undefined is Go's nil. */
  data?: Uint8Array | undefined;
}

/** ConfState is the membership configuration recorded in a snapshot. */
export interface ConfState {
  /** The voters in the incoming config (the only config when not joint). */
  voters: number[];
  learners: number[];
  /** The voters in the outgoing config; empty unless joint. */
  votersOutgoing: number[];
  /** Voters of the outgoing config that become learners when the joint config is left. */
  learnersNext: number[];
  /** Whether the joint config is left automatically. */
  autoLeave: boolean;
}

/** SnapshotMetadata names the log position and configuration a snapshot captures. */
export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

/** Snapshot is the state machine's state at metadata.index. */
export interface Snapshot {
  data?: Uint8Array | undefined;
  metadata: SnapshotMetadata;
}

/** HardState is the state that must be on stable storage before messages are sent. */
export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

/** Message is what raft nodes (and the local storage threads) exchange. */
export interface Message {
  type: MessageType;
  to: number;
  from: number;
  term: number;
  /**
   * logTerm is generally the term of the log entry at `index`; for MsgVote/MsgPreVote the
   * candidate's last term; for a rejected MsgAppResp the term of the hinted index.
   */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  /** vote is only set in MsgStorageAppend messages (field 13). */
  vote: number;
  /** snapshot is only set in MsgSnap and MsgStorageAppend; undefined means empty. */
  snapshot?: Snapshot | undefined;
  reject: boolean;
  rejectHint: number;
  context?: Uint8Array | undefined;
  /** responses is only set in MsgStorageAppend/MsgStorageApply (field 14). */
  responses: Message[];
}

/** ConfChange is the legacy (v1) single membership change. */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  context?: Uint8Array | undefined;
  /** Unused by raft; kept for wire compatibility. */
  id: number;
}

/** ConfChangeSingle is one change inside a ConfChangeV2. */
export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: number;
}

/** ConfChangeV2 is a list of membership changes applied atomically, maybe jointly. */
export interface ConfChangeV2 {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  context?: Uint8Array | undefined;
}

/** newMessage returns a Message with every field present (one object shape for V8). */
export function newMessage(init: Partial<Message> & { type: MessageType }): Message {
  return {
    type: init.type,
    to: init.to ?? 0,
    from: init.from ?? 0,
    term: init.term ?? 0,
    logTerm: init.logTerm ?? 0,
    index: init.index ?? 0,
    entries: init.entries ?? [],
    commit: init.commit ?? 0,
    vote: init.vote ?? 0,
    snapshot: init.snapshot,
    reject: init.reject ?? false,
    rejectHint: init.rejectHint ?? 0,
    context: init.context,
    responses: init.responses ?? [],
  };
}

/** newConfState returns an empty ConfState. */
export function newConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** emptySnapshot returns a snapshot at index 0 with an empty ConfState and no data. */
export function emptySnapshot(): Snapshot {
  return { metadata: { confState: newConfState(), index: 0, term: 0 } };
}

/** isEmptySnap reports whether a snapshot is absent or at index 0. */
export function isEmptySnap(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** emptyHardState is the all-zero HardState. */
export const emptyHardState: Readonly<HardState> = Object.freeze({ term: 0, vote: 0, commit: 0 });

/** isEmptyHardState reports whether every field of a HardState is zero. */
export function isEmptyHardState(s: HardState): boolean {
  return s.term === 0 && s.vote === 0 && s.commit === 0;
}

/** isHardStateEqual compares two HardStates field by field. */
export function isHardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
