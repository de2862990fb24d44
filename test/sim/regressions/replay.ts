/** Helpers for the regression tests: replaying a shrunk schedule, driving one RawNode. */
import type { RawNode } from '../../../src/raft/rawnode.ts';
import type { MemoryStorage } from '../../../src/raft/storage.ts';
import { decodeConfChange, decodeConfChangeV2 } from '../../../src/raftpb/codec.ts';
import { EntryType, isEmptyHardState, isEmptySnap } from '../../../src/raftpb/types.ts';
import type { Violation } from '../../../src/rafttest/sim/invariants.ts';
import type { Schedule } from '../../../src/rafttest/sim/schedule.ts';
import { runSchedule } from '../../../src/rafttest/sim/sim.ts';

/** violationsOf replays a schedule (as `npm run sim -- --replay` prints it). */
export function violationsOf(json: string): Violation[] {
  return runSchedule(JSON.parse(json) as Schedule).violations;
}

/**
 * handleReady handles one Ready of a lone node the way the Ready contract allows: snapshot,
 * entries and (if syncCommit, or if mustSync) the HardState go to storage, committed conf
 * changes are applied, then advance().
 * With syncCommit false, a HardState that only moves the commit index is not written, as if
 * the unsynced write was lost in a crash.
 */
export function handleReady(rn: RawNode, storage: MemoryStorage, syncCommit: boolean): void {
  const rd = rn.ready();
  if (rd.snapshot !== undefined && !isEmptySnap(rd.snapshot)) storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  if (!isEmptyHardState(rd.hardState) && (rd.mustSync || syncCommit)) {
    storage.setHardState(rd.hardState);
  }
  for (const e of rd.committedEntries) {
    const data = e.data ?? new Uint8Array();
    if (e.type === EntryType.EntryConfChange) rn.applyConfChange(decodeConfChange(data));
    if (e.type === EntryType.EntryConfChangeV2) rn.applyConfChange(decodeConfChangeV2(data));
  }
  rn.advance();
}

/** handleAll handles Readies until there is none. */
export function handleAll(rn: RawNode, storage: MemoryStorage, syncCommit: boolean): void {
  while (rn.hasReady()) handleReady(rn, storage, syncCommit);
}
