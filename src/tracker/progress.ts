import { Inflights } from './inflights.ts';
import { StateType, stateTypeName } from './state.ts';

/** ProgressInit holds the fields a Progress is created with; omitted ones start at zero. */
export interface ProgressInit {
  match?: number;
  next: number;
  sentCommitIdx?: number;
  state?: StateType;
  pendingSnapshot?: number;
  recentActive?: boolean;
  msgAppFlowPaused?: boolean;
  inflights: Inflights;
  isLearner?: boolean;
}

/**
 * Progress is the leader's view of one follower's log, and the state machine (probe /
 * replicate / snapshot) that throttles how the leader replicates to it. Most transitions are
 * driven by raft (stepLeader); Progress only keeps its own fields consistent.
 */
export class Progress {
  /** match is the highest index known to be in the follower's log. 0 <= match < next. */
  match: number;
  /**
   * next is the index of the next entry to send; entries in (match, next) are in flight.
   * next >= 1. In StateSnapshot, next === pendingSnapshot + 1.
   */
  next: number;
  /**
   * sentCommitIdx is the highest commit index sent to the follower (etcd's sentCommit). It
   * usually only grows, but falls back with next on a rejection or on entering StateProbe.
   * sentCommitIdx <= next - 1 after each of those; in StateSnapshot,
   * sentCommitIdx === pendingSnapshot === next - 1.
   */
  sentCommitIdx: number;
  /** state selects how the leader replicates to the follower (see StateType). */
  state: StateType;
  /**
   * pendingSnapshot is, in StateSnapshot, the leader's last index when it decided a snapshot
   * was needed (the index of the MsgSnap sent); 0 in the other states.
   */
  pendingSnapshot: number;
  /**
   * recentActive is set whenever the follower is heard from, and cleared by the leader's
   * quorum check after an election timeout. Always true for the leader itself.
   */
  recentActive: boolean;
  /**
   * msgAppFlowPaused stops further appends until it is cleared (by a heartbeat response or
   * an acknowledgement): set after a probe in StateProbe, or when the inflight window is full
   * in StateReplicate.
   */
  msgAppFlowPaused: boolean;
  /**
   * inflights holds the appends sent and not yet acknowledged, by last index; in use in
   * StateReplicate, empty in the other states.
   */
  inflights: Inflights;
  /** isLearner is true if the follower is a learner (it never votes). */
  isLearner: boolean;

  /** Progress creates a progress from init; omitted fields are 0 / false / StateProbe. */
  constructor(init: ProgressInit) {
    this.match = init.match ?? 0;
    this.next = init.next;
    this.sentCommitIdx = init.sentCommitIdx ?? 0;
    this.state = init.state ?? StateType.StateProbe;
    this.pendingSnapshot = init.pendingSnapshot ?? 0;
    this.recentActive = init.recentActive ?? false;
    this.msgAppFlowPaused = init.msgAppFlowPaused ?? false;
    this.inflights = init.inflights;
    this.isLearner = init.isLearner ?? false;
  }

  /**
   * resetForNewTerm gives the progress the state of a new leader's term: StateProbe from
   * `next`, acknowledged up to `match` (the leader's own last index for itself, else 0),
   * inactive, nothing sent or in flight. Only isLearner is kept.
   */
  resetForNewTerm(match: number, next: number): void {
    this.resetState(StateType.StateProbe);
    this.match = match;
    this.next = next;
    this.sentCommitIdx = 0;
    this.recentActive = false;
  }

  /** clone returns a copy that shares nothing (the inflight window is copied too). */
  clone(): Progress {
    return new Progress({ ...this, inflights: this.inflights.clone() });
  }

  /** resetState enters `state` with the flow unpaused, no pending snapshot and no inflights. */
  resetState(state: StateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /**
   * becomeProbe enters StateProbe. next restarts at match + 1, or after the pending snapshot
   * when coming from StateSnapshot (the snapshot is then assumed to have been delivered).
   */
  becomeProbe(): void {
    if (this.state === StateType.StateSnapshot) {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState(StateType.StateProbe);
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState(StateType.StateProbe);
      this.next = this.match + 1;
    }
    this.sentCommitIdx = Math.min(this.sentCommitIdx, this.next - 1);
  }

  /** becomeReplicate enters StateReplicate with next = match + 1. */
  becomeReplicate(): void {
    this.resetState(StateType.StateReplicate);
    this.next = this.match + 1;
  }

  /** becomeSnapshot enters StateSnapshot waiting for a snapshot at snapshotIndex. */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(StateType.StateSnapshot);
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommitIdx = snapshotIndex;
  }

  /**
   * sentEntries records that a MsgApp carrying `entries` consecutive entries from next on,
   * of `bytes` total payload, was sent. Only valid in StateProbe and StateReplicate; calling
   * it in StateSnapshot is a broken invariant and throws.
   */
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case StateType.StateReplicate:
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        // A message that fills the window (or is sent into a full one) pauses the flow.
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case StateType.StateProbe:
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      default:
        throw new Error(`sending append in unhandled state ${stateTypeName(this.state)}`);
    }
  }

  /**
   * canBumpCommit reports whether sending commit index `index` may advance the follower's
   * commit index: it is above what was sent, and what was sent is still below next - 1.
   */
  canBumpCommit(index: number): boolean {
    return index > this.sentCommitIdx && this.sentCommitIdx < this.next - 1;
  }

  /** sentCommit records that commit index `commit` was sent to the follower. */
  sentCommit(commit: number): void {
    this.sentCommitIdx = commit;
  }

  /**
   * maybeUpdate handles an acknowledgement of index n. It returns false if n is stale (not
   * above match); otherwise it raises match (and next if needed), unpauses the flow and
   * returns true.
   */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * maybeDecrTo handles the rejection of the append at index `rejected`, with the
   * follower's hint that its log may match up to `matchHint`. A stale rejection (one that
   * cannot concern the current probe or pipeline) returns false and changes nothing;
   * otherwise next moves back and the flow is unpaused.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === StateType.StateReplicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommitIdx = Math.min(this.sentCommitIdx, this.next - 1);
      return true;
    }
    // Outside StateReplicate only the latest probe (at next - 1) can be rejected for real.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommitIdx = Math.min(this.sentCommitIdx, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * isPaused reports whether appends to this follower are throttled: always in
   * StateSnapshot, otherwise while msgAppFlowPaused is set.
   */
  isPaused(): boolean {
    return this.state === StateType.StateSnapshot || this.msgAppFlowPaused;
  }

  /**
   * toString prints e.g. `StateReplicate match=11 next=15 paused inflight=3[full]`; the
   * optional words are `learner`, `paused`, `pendingSnap=<i>`, `inactive`, `inflight=<n>`.
   */
  toString(): string {
    let s = `${stateTypeName(this.state)} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.isPaused()) s += ' paused';
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    const n = this.inflights.count();
    if (n > 0) {
      s += ` inflight=${n}`;
      if (this.inflights.full()) s += '[full]';
    }
    return s;
  }
}

/** ProgressMap maps a node id to the leader's Progress for it. */
export type ProgressMap = Map<number, Progress>;

/** progressMapString prints one `<id>: <progress>\n` line per entry, ids ascending (decimal). */
export function progressMapString(m: ReadonlyMap<number, Progress>): string {
  const ids = [...m.keys()].sort((a, b) => a - b);
  let out = '';
  for (const id of ids) out += `${id}: ${String(m.get(id))}\n`;
  return out;
}

/** cloneProgressMap returns a new map holding a clone of every Progress. */
export function cloneProgressMap(m: ReadonlyMap<number, Progress>): ProgressMap {
  const out: ProgressMap = new Map();
  for (const [id, pr] of m) out.set(id, pr.clone());
  return out;
}
