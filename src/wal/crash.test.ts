// Crash tests on FaultFS: run a workload, crash before every single file-system operation,
// rebuild the disk a reboot could see (every subset of the unsynced operations, the last
// write torn at every sector boundary), reopen, and check that every acknowledged write is
// there and nothing else was invented.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FaultFS } from './faultfs.ts';
import type { CrashChoice } from './faultfs.ts';
import { openDiskStorage } from './storage.ts';
import type { DiskStorage, DiskStorageOptions } from './storage.ts';
import { checkRecovered, issue, makeWorkload, payload, rng } from './testing.ts';
import type { Step } from './testing.ts';

const dir = '/wal';

interface Run {
  acked: number;
  fs: FaultFS;
}

/** runWorkload issues the groups until the first failure; acked counts leading successes. */
async function runWorkload(fs: FaultFS, groups: Step[][], opts: DiskStorageOptions): Promise<Run> {
  let s: DiskStorage;
  try {
    s = await openDiskStorage(dir, { ...opts, fs });
  } catch (err) {
    if (!fs.crashed) throw err;
    return { acked: 0, fs };
  }
  const done: boolean[] = [];
  let k = 0;
  for (const g of groups) {
    const results = await Promise.allSettled(
      g.map((step) => {
        const i = k++;
        return issue(s, step).then(() => {
          done[i] = true;
        });
      }),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) {
      if (!fs.crashed) throw failed.reason;
      break;
    }
  }
  await s.close();
  let acked = 0;
  while (done[acked] === true) acked++;
  return { acked, fs };
}

/** choices returns the crash outcomes to try for the disk state of fs. */
function choices(fs: FaultFS, seed: number): CrashChoice[] {
  const r = rng(seed);
  const out: CrashChoice[] = [
    { keep: () => true },
    { keep: () => false },
    { keep: () => r() < 0.5 },
  ];
  const n = fs.pendingCount();
  if (n > 0 && n <= 4) {
    for (let mask = 1; mask < (1 << n) - 1; mask++)
      out.push({ keep: (i) => ((mask >> i) & 1) === 1 });
  }
  let pieces = 1;
  fs.afterCrash({ keep: () => true, tear: (p) => (pieces = p) });
  for (let t = 1; t < pieces; t++) out.push({ keep: () => true, tear: () => t });
  return out;
}

interface Totals {
  crashPoints: number;
  recoveries: number;
  torn: number;
  unackedKept: number;
}

/** appendAfter checks that a recovered WAL takes new writes that survive another reopen. */
async function appendAfter(s: DiskStorage, disk: FaultFS, opts: DiskStorageOptions): Promise<void> {
  const index = s.lastIndex() + 1;
  const term = Math.max(s.initialState().hardState.term, s.term(s.lastIndex()));
  const e = { term, index, type: 0 as const, data: payload(index, term, 33) };
  await s.save(undefined, [e]);
  await s.close();
  const again = await openDiskStorage(dir, { ...opts, fs: disk.afterCrash({ keep: () => false }) });
  assert.deepEqual(again.entries(index, index + 1, Infinity), [e]);
  await again.close();
}

async function crashEverywhere(
  seed: number,
  groups: number,
  maxPayload: number,
  opts: DiskStorageOptions,
  totals: Totals,
): Promise<void> {
  const workload = makeWorkload(seed, groups, maxPayload);
  const steps = workload.flat();
  const full = await runWorkload(new FaultFS(), workload, opts);
  assert.equal(full.acked, steps.length, 'the workload runs to the end without a crash');
  for (let at = 0; at <= full.fs.seq; at++) {
    const fs = new FaultFS();
    fs.crashAt = at;
    const { acked } = await runWorkload(fs, workload, opts);
    totals.crashPoints++;
    for (const [v, choice] of choices(fs, seed * 100_003 + at).entries()) {
      const disk = fs.afterCrash(choice);
      const s = await openDiskStorage(dir, { ...opts, fs: disk });
      const j = checkRecovered(s, steps, acked);
      totals.recoveries++;
      if (s.recovery.tornTail !== undefined) totals.torn++;
      if (j > acked) totals.unackedKept++;
      if (v === 0) await appendAfter(s, disk, opts);
      else await s.close();
    }
  }
}

void test('crash before every operation of three workloads recovers a valid state', async (t) => {
  const totals: Totals = { crashPoints: 0, recoveries: 0, torn: 0, unackedKept: 0 };
  // Small segments: many rotations, releases and snapshot files.
  await crashEverywhere(7, 45, 40, { segmentSize: 1024, keepSnapshots: 2 }, totals);
  // Large entries: batches span sectors, so tears cut frames.
  await crashEverywhere(11, 35, 300, { segmentSize: 4096, keepSnapshots: 2 }, totals);
  // Sparse preallocation and default snapshot retention.
  await crashEverywhere(13, 55, 120, { segmentSize: 2048, preallocate: 'sparse' }, totals);
  assert.ok(totals.crashPoints >= 1000, `crash points: ${totals.crashPoints}`);
  assert.ok(totals.torn >= 50, `torn tails repaired: ${totals.torn}`);
  assert.ok(totals.unackedKept > 0, 'some unacknowledged writes survive');
  t.diagnostic(`crash totals ${JSON.stringify(totals)}`);
});

void test('crash mid-rotation: every subset of the rotation steps recovers', async () => {
  const opts = { segmentSize: 600 };
  const steps: Step[] = [];
  for (let i = 1; i <= 12; i++) {
    const e = { term: 1, index: i, type: 0 as const, data: payload(i, 1, 60) };
    steps.push({ kind: 'save', hardState: { term: 1, vote: 1, commit: i - 1 }, entries: [e] });
  }
  const probe = await runWorkload(
    new FaultFS(),
    steps.map((s) => [s]),
    opts,
  );
  const renames = probe.fs.trace.flatMap((t, i) => (t === `rename ${dir}/segment.tmp` ? [i] : []));
  assert.ok(renames.length >= 2, 'the workload rotates');
  // Map trace positions to mutating-operation numbers, then crash around each rename.
  let seen = 0;
  const points: number[] = [];
  for (const [i, t] of probe.fs.trace.entries()) {
    if (!t.startsWith('read ')) seen++;
    if (renames.includes(i)) for (let d = -3; d <= 3; d++) points.push(seen - 1 + d);
  }
  let checked = 0;
  for (const at of points) {
    const fs = new FaultFS();
    fs.crashAt = at;
    const { acked } = await runWorkload(
      fs,
      steps.map((s) => [s]),
      opts,
    );
    for (const choice of choices(fs, at)) {
      const s = await openDiskStorage(dir, { ...opts, fs: fs.afterCrash(choice) });
      checkRecovered(s, steps, acked);
      await s.close();
      checked++;
    }
  }
  assert.ok(checked > 40, `recoveries: ${checked}`);
});

void test('crash mid-snapshot-write: a snapshot counts only once its marker is durable', async () => {
  const opts = { segmentSize: 4096 };
  const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const steps: Step[] = [];
  for (let i = 1; i <= 6; i++) {
    const e = { term: 1, index: i, type: 0 as const, data: payload(i, 1, 20) };
    steps.push({ kind: 'save', hardState: { term: 1, vote: 1, commit: i }, entries: [e] });
  }
  steps.push({
    kind: 'createSnapshot',
    snapshot: { metadata: { index: 4, term: 1, confState: cs }, data: payload(4, 9, 700) },
  });
  steps.push({
    kind: 'save',
    hardState: { term: 2, vote: 0, commit: 9 },
    entries: [],
    snapshot: { metadata: { index: 9, term: 2, confState: cs }, data: payload(9, 2, 900) },
  });
  const groups = steps.map((s) => [s]);
  const probe = await runWorkload(new FaultFS(), groups, opts);
  assert.equal(probe.acked, steps.length);
  let checked = 0;
  let snapshotsSeen = 0;
  for (let at = 0; at <= probe.fs.seq; at++) {
    const fs = new FaultFS();
    fs.crashAt = at;
    const { acked } = await runWorkload(fs, groups, opts);
    if (!fs.trace.some((t) => t.includes('.snap'))) continue;
    for (const choice of choices(fs, at)) {
      const s = await openDiskStorage(dir, { ...opts, fs: fs.afterCrash(choice) });
      checkRecovered(s, steps, acked);
      if (s.snapshot().metadata.index > 0) snapshotsSeen++;
      await s.close();
      checked++;
    }
  }
  assert.ok(
    checked > 50 && snapshotsSeen > 0,
    `recoveries ${checked}, with snapshot ${snapshotsSeen}`,
  );
});
