/**
 * The dashboard's wire format: what a member's server sends to the page (server-sent events
 * and JSON) and what the page sends back. Types only, shared by the server (telemetry.ts,
 * routes.ts) and the browser code (ui/), which each member serves.
 */

/** Role is a member's raft role as the dashboard names it. */
export type Role = 'leader' | 'follower' | 'candidate' | 'pre-candidate';

/** ProgressStateName is the leader's flow-control state for one follower. */
export type ProgressStateName = 'probe' | 'replicate' | 'snapshot';

/** ProgressView is the leader's view of one follower (tracker/progress.ts), as sent. */
export interface ProgressView {
  id: number;
  /** match is the highest index known to be in the follower's log. */
  match: number;
  /** next is the index of the next entry to send. */
  next: number;
  state: ProgressStateName;
  /** inflight / inflightBytes: appends sent and not yet acknowledged. */
  inflight: number;
  inflightBytes: number;
  /** paused: the leader sends no appends now (probe sent, or window full). */
  paused: boolean;
  recentActive: boolean;
  learner: boolean;
  /** pendingSnapshot is the index of the snapshot being sent, in state snapshot. */
  pendingSnapshot: number;
}

/** PeerView is this member's traffic with one peer. */
export interface PeerView {
  id: number;
  sentBytes: number;
  receivedBytes: number;
  sentMessages: number;
  receivedMessages: number;
  /** rttMs is the last heartbeat round trip (leader only), if one was measured. */
  rttMs?: number;
  /** connected and dropped come from the TCP transport, when it is known. */
  connected?: boolean;
  dropped?: number;
}

/** MemberView is one member of the configuration with its published attributes. */
export interface MemberView {
  id: number;
  name: string;
  clientURLs: string[];
  peerURLs: string[];
  isLearner: boolean;
}

/** NodeState is one member's state, as it sees it now. */
export interface NodeState {
  id: number;
  name: string;
  clusterId: number;
  /** at is when this state was read (milliseconds since the epoch). */
  at: number;
  /** startedAt is when this member's telemetry started (milliseconds since the epoch). */
  startedAt: number;
  role: Role;
  term: number;
  /** leader is the leader this member knows of; 0 when none. */
  leader: number;
  commit: number;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  snapshotIndex: number;
  /** leadTransferee is the target of a leadership transfer in progress (leader); 0 if none. */
  leadTransferee: number;
  voters: number[];
  votersOutgoing: number[];
  learners: number[];
  /** progress is set on the leader only: one entry per member, itself included. */
  progress: ProgressView[];
  peers: PeerView[];
  members: MemberView[];
  proposals: { pending: number; failed: number };
  revision: number;
  dbSize: number;
  wal?: { fsyncs: number; bytesWritten: number };
  /** controlUrl is the `raftkv local` supervisor's control API, when it runs under one. */
  controlUrl?: string;
}

/** EventKind classifies the events the dashboard lists. */
export type EventKind =
  'leader' | 'election' | 'membership' | 'snapshot' | 'transfer' | 'fatal' | 'control';

/** RaftEvent is something that happened on one member. */
export interface RaftEvent {
  /** seq numbers the events of one member, from 1. */
  seq: number;
  /** at is when it happened (milliseconds since the epoch). */
  at: number;
  /** node is the member that reports it. */
  node: number;
  kind: EventKind;
  text: string;
  /**
   * key is the same on every member that reports the same fact (a leader elected in a
   * term, a configuration applied at an index), so that the page can merge them.
   */
  key: string;
}

/** Sample is one interval of a member's activity. */
export interface Sample {
  /** t is the end of the interval (milliseconds since the epoch). */
  t: number;
  commit: number;
  applied: number;
  /** applyRate is entries applied per second during the interval. */
  applyRate: number;
  /** proposals is the number of proposals this member finished in the interval. */
  proposals: number;
  /** writeRate is proposals finished per second. */
  writeRate: number;
  /** p50Ms / p99Ms: propose-to-applied latency of those proposals; undefined if none. */
  p50Ms?: number;
  p99Ms?: number;
  failed: number;
}

/** Hello is the first message of a stream: the state and the recent history. */
export interface Hello {
  state: NodeState;
  events: RaftEvent[];
  samples: Sample[];
}

/**
 * StreamEvent names the server-sent events of /dashboard/api/stream; each one's data is
 * the JSON of the type named here.
 */
export interface StreamEvents {
  hello: Hello;
  state: NodeState;
  event: RaftEvent;
  sample: Sample;
}

/** TransferRequest is the body of POST /dashboard/api/transfer-leadership (to the leader). */
export interface TransferRequest {
  to: number;
}

/** AddMemberRequest is the body of POST /dashboard/api/members (to the leader). */
export interface AddMemberRequest {
  peerURL: string;
  learner: boolean;
}

/** ControlNode is one node of the `raftkv local` supervisor's GET /cluster answer. */
export interface ControlNode {
  id: number;
  pid?: number | null;
  clientUrl: string;
  peerUrl: string;
  running: boolean;
  isolated: boolean;
}
