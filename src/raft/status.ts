import type { HardState } from '../raftpb/types.ts';
import type { Progress } from '../tracker/progress.ts';
import type { TrackerConfig } from '../tracker/tracker.ts';
import type { Raft } from './raft.ts';
import type { SoftState } from './ready.ts';

/** BasicStatus is the node's identity, hard and soft state, applied index and transfer target. */
export interface BasicStatus {
  id: number;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  leadTransferee: number;
}

/** Status adds the configuration and, on a leader, a copy of every peer's progress. */
export interface Status extends BasicStatus {
  config: TrackerConfig;
  /** progress is set only on the leader; the copies are detached from the live tracker. */
  progress?: Map<number, Progress> | undefined;
}

/** getBasicStatus reads the BasicStatus of a raft node. */
export function getBasicStatus(r: Raft): BasicStatus {
  return {
    id: r.id,
    hardState: r.hardState(),
    softState: r.softState(),
    applied: r.raftLog.applied,
    leadTransferee: r.leadTransferee,
  };
}

/** getStatus reads the Status of a raft node. */
export function getStatus(r: Raft): Status {
  const s: Status = { ...getBasicStatus(r), config: r.trk.config.clone() };
  if (s.softState.raftState === 2 /* StateLeader */) {
    const m = new Map<number, Progress>();
    r.trk.visit((id, pr) => m.set(id, pr.clone()));
    s.progress = m;
  }
  return s;
}
