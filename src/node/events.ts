import type { Status } from '../raft/status.ts';
import type { StateType } from '../raft/ready.ts';
import type { ConfState } from '../raftpb/types.ts';
import type { SnapshotEvent } from './apply.ts';

/** LeaderChange is the payload of the 'leaderChange' event. */
export interface LeaderChange {
  /** The new leader's id; 0 when there is none (an election is under way). */
  leader: number;
  term: number;
  /** Whether this node is the new leader. */
  isLeader: boolean;
}

/** NodeEvents lists the events a Node emits and their arguments. */
export interface NodeEvents {
  /** leaderChange: the leader this node knows of changed. */
  leaderChange: [LeaderChange];
  /** membershipChange: a conf change was applied; the argument is the new configuration. */
  membershipChange: [ConfState];
  /** snapshot: a snapshot was taken (restored: false) or restored from the leader or disk. */
  snapshot: [SnapshotEvent];
  /** fatal: the node stopped for good; every pending call rejects with ErrNodeStopped. */
  fatal: [Error];
}

/** NodeStatus is a snapshot of a Node's state; `raft` holds the core's full Status. */
/** NodeBrief is the part of NodeStatus that is cheap to read (Node.brief()). */
export interface NodeBrief {
  leader: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  /** isLearner: this node is a learner in the applied configuration. */
  isLearner: boolean;
}

export interface NodeStatus {
  id: number;
  leader: number;
  term: number;
  role: StateType;
  commitIndex: number;
  /** appliedIndex is the last index the state machine has. */
  appliedIndex: number;
  snapshotIndex: number;
  firstIndex: number;
  lastIndex: number;
  confState: ConfState;
  raft: Status;
}
