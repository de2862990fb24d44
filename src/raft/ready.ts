import type { Entry, HardState, Message, Snapshot } from '../raftpb/types.ts';

/** StateType is the role of a raft node. */
export const StateType = {
  StateFollower: 0,
  StateCandidate: 1,
  StateLeader: 2,
  StatePreCandidate: 3,
} as const;
/** StateType is the numeric role of a raft node. */
export type StateType = (typeof StateType)[keyof typeof StateType];
/** StateTypeNames maps a StateType to its name ("StateFollower", ...). */
export const StateTypeNames: readonly string[] = Object.keys(StateType);

/** SoftState is volatile state that need not be persisted: the leader and the role. */
export interface SoftState {
  lead: number;
  raftState: StateType;
}

/** ReadState answers a ReadIndex request: reads at index are linearizable once applied. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/**
 * Ready carries what the application must do: persist (hardState, entries, snapshot),
 * apply (committedEntries) and send (messages). Acknowledge it with RawNode.advance().
 */
export interface Ready {
  /** Set only when the soft state changed since the last Ready. */
  softState?: SoftState | undefined;
  /** All zero when unchanged. */
  hardState: HardState;
  readStates: ReadState[];
  /** Entries to write to stable storage before sending messages. */
  entries: Entry[];
  /** Snapshot to write to stable storage; undefined when there is none. */
  snapshot?: Snapshot | undefined;
  /** Entries to apply to the state machine; already committed. */
  committedEntries: Entry[];
  /**
   * Messages to send. With AsyncStorageWrites they include MsgStorageAppend and
   * MsgStorageApply to the local append and apply threads.
   */
  messages: Message[];
  /** Whether hardState and entries must be synchronously written to disk. */
  mustSync: boolean;
}
