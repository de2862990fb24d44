import type { Logger } from './logger.ts';
import type { Storage } from './storage.ts';

/** ReadOnlyOption chooses how ReadIndex requests are confirmed (Raft thesis §6.4). */
export const ReadOnlyOption = {
  /** ReadOnlySafe confirms leadership with a round of heartbeats to a quorum. */
  ReadOnlySafe: 0,
  /** ReadOnlyLeaseBased relies on the leader lease; it needs CheckQuorum and bounded clock drift. */
  ReadOnlyLeaseBased: 1,
} as const;
/** ReadOnlyOption is the numeric value of a read-only mode. */
export type ReadOnlyOption = (typeof ReadOnlyOption)[keyof typeof ReadOnlyOption];

/** Config holds the parameters of a raft node. Sizes use Infinity for "no limit". */
export interface Config {
  /** id is the identity of the local node; it cannot be 0. */
  id: number;
  /** electionTick is the number of ticks a follower waits for a leader before campaigning. */
  electionTick: number;
  /** heartbeatTick is the number of ticks between a leader's heartbeats. */
  heartbeatTick: number;
  /** storage holds the node's durable log, hard state and snapshot. */
  storage: Storage;
  /** applied is the last applied index; set it when restarting. */
  applied?: number;
  /**
   * asyncStorageWrites makes Ready hand storage work to local append and apply threads as
   * MsgStorageAppend/MsgStorageApply messages instead of requiring advance().
   */
  asyncStorageWrites?: boolean;
  /** maxSizePerMsg limits the bytes of entries in one append message; 0 means one entry. */
  maxSizePerMsg?: number;
  /** maxCommittedSizePerReady limits the committed entries of one Ready; 0 copies maxSizePerMsg. */
  maxCommittedSizePerReady?: number;
  /** maxUncommittedEntriesSize limits the leader's uncommitted payload bytes; 0 means no limit. */
  maxUncommittedEntriesSize?: number;
  /** maxInflightMsgs limits the append messages in flight to one follower. */
  maxInflightMsgs: number;
  /** maxInflightBytes limits the payload bytes in flight to one follower; 0 means no limit. */
  maxInflightBytes?: number;
  /** checkQuorum makes a leader step down when a quorum was not active for an election timeout. */
  checkQuorum?: boolean;
  /** preVote enables the pre-vote phase (Raft thesis §9.6). */
  preVote?: boolean;
  /** readOnlyOption chooses the ReadIndex mode; lease-based needs checkQuorum. */
  readOnlyOption?: ReadOnlyOption;
  logger?: Logger;
  /** disableProposalForwarding makes followers drop proposals instead of forwarding them. */
  disableProposalForwarding?: boolean;
  /** disableConfChangeValidation turns off the leader's checks of proposed conf changes. */
  disableConfChangeValidation?: boolean;
  /** stepDownOnRemoval makes a leader step down when it is removed or demoted. */
  stepDownOnRemoval?: boolean;
  /**
   * randomIntn returns a uniformly random integer in [0, n). The core has no randomness of
   * its own; the default is a deterministic generator seeded by the node id.
   */
  randomIntn?: (n: number) => number;
}
