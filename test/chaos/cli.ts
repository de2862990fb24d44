/**
 * The chaos runner: `npm run chaos -- --duration S --seed N`. Real `raftkv serve` processes
 * on 127.0.0.1 behind fault-injecting proxies, eight clients, faults one after another; each
 * run ends with a linearizability check, a lost-write check and a replica comparison
 * (run.ts). docs/chaos.md explains it all.
 *
 *   --duration S      total time for the runs (default 120), roughly: runs follow each
 *                     other, with seeds N, N+1, ..., until it is spent (at least one run)
 *   --seed N          first seed (default: from the clock, printed)
 *   --nodes 3|5       members per run (default: 3 and 5 alternately)
 *   --faults a,b,...  fault kinds to draw from (default: all; --list prints them)
 *   --run-seconds S   length of one run's fault phase (default 60)
 *   --hold MIN-MAX    how long each fault lasts, in ms (default 1500-4000)
 *   --bounded         the CI set instead: every fault kind once on 3 members, then the
 *                     faults whose shape depends on the size on 5 (about 2 minutes)
 *   --reversed        with --bounded, a third run: every kind again on 3 members in the
 *                     opposite order, so that each fault meets other states (1 minute more)
 *   --stale-reads     serve gets with serializable (maybe stale) reads: a check of the
 *                     checks, which must then report violations under partitions
 *   --keep            keep every run's directory (data and member logs), not only failed ones
 *   --dir DIR         where run directories go (default: a new directory under the OS tmp)
 *
 * The last line is always `chaos: R runs, O ops checked, V violations, L lost writes`; the
 * exit code is 1 when V or L is not 0.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { liveProcesses } from './cluster.ts';
import type { Timing } from './cluster.ts';
import { AllFaults, FaultKind, isFaultKind } from './faults.ts';
import { runChaos } from './run.ts';
import type { RunOptions, RunReport } from './run.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    seed: { type: 'string' },
    nodes: { type: 'string' },
    faults: { type: 'string' },
    'run-seconds': { type: 'string', default: '60' },
    hold: { type: 'string', default: '1500-4000' },
    bounded: { type: 'boolean', default: false },
    reversed: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'stale-reads': { type: 'boolean', default: false },
    dir: { type: 'string' },
    list: { type: 'boolean', default: false },
  },
  strict: true,
});

function int(name: string, v: string | undefined, min = 0): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** Timing of the chaos clusters: 50 ms ticks (elections in 0.5-1 s), frequent snapshots. */
const timing: Timing = {
  tickMs: 50,
  electionTicks: 10,
  snapshotInterval: 400,
  snapshotCatchupEntries: 100,
  requestTimeoutMs: 2000,
};

/** reversed returns the fault kinds in the opposite order (each fault meets other states). */
const reversed = (ks: readonly FaultKind[]): FaultKind[] => [...ks].reverse();

/** BoundedPlan is the CI set: [members, faults] per run; the last run only with --reversed. */
const BoundedPlan: readonly [number, readonly FaultKind[]][] = [
  [3, AllFaults],
  [
    5,
    [
      FaultKind.PartitionMajority,
      FaultKind.PartitionBridge,
      FaultKind.Kill,
      FaultKind.Membership,
      FaultKind.OneWay,
      FaultKind.Pause,
      FaultKind.SnapshotCrash,
    ],
  ],
  [3, reversed(AllFaults)],
];

function summary(r: RunReport): string {
  const s = r.stats;
  const verdict =
    r.violations.length === 0 && r.lost.length === 0
      ? 'pass'
      : `FAIL (${r.violations.length} violations, ${r.lost.length} lost writes; data in ${r.dir})`;
  return (
    `run seed ${r.seed}, ${r.nodes} members: ${r.episodes.length} faults, ` +
    `${r.opsChecked} ops checked (${s.writesAcked} writes acked, ${s.writesUnknown} unknown, ` +
    `${s.reads - s.readsFailed} reads, ${s.casFailed} cas refused), ` +
    `check ${(r.checkMs / 1000).toFixed(1)} s, run ${(r.durationMs / 1000).toFixed(0)} s: ${verdict}`
  );
}

async function main(): Promise<number> {
  if (values.list) {
    console.log(AllFaults.join('\n'));
    return 0;
  }
  const seed = values.seed === undefined ? Date.now() % 1_000_000 : int('seed', values.seed);
  const faults = values.faults === undefined ? AllFaults : values.faults.split(',');
  for (const f of faults) {
    if (!isFaultKind(f))
      throw new RangeError(`--faults: unknown fault ${JSON.stringify(f)} (see --list)`);
  }
  const hold = /^(\d+)-(\d+)$/.exec(values.hold);
  if (hold === null) throw new RangeError(`--hold must be MIN-MAX in ms, got ${values.hold}`);
  const nodes = values.nodes === undefined ? undefined : int('nodes', values.nodes, 3);
  if (nodes !== undefined && nodes !== 3 && nodes !== 5)
    throw new RangeError('--nodes must be 3 or 5');
  const root = values.dir ?? (await mkdtemp(join(tmpdir(), 'raftkv-chaos-')));
  const base: Omit<RunOptions, 'seed' | 'nodes' | 'faults'> = {
    holdMs: [Number(hold[1]), Number(hold[2])],
    clients: 8,
    keys: 10,
    timing,
    root,
    keep: values.keep,
    healthTimeoutMs: 20_000,
    checkTimeoutMs: 60_000,
    staleReads: values['stale-reads'],
    log: (l) => console.log(l),
  };
  console.log(`chaos: seed ${seed}, runs in ${root}`);
  const reports: RunReport[] = [];
  const run = async (o: RunOptions): Promise<void> => {
    console.log(
      `run seed ${o.seed}, ${o.nodes} members, faults: ${o.durationMs === undefined ? o.faults.join(' ') : `random from ${o.faults.length} kinds for ${o.durationMs / 1000} s`}`,
    );
    const r = await runChaos(o);
    for (const v of r.violations) console.log(`  VIOLATION ${v}`);
    for (const l of r.lost.slice(0, 20)) {
      const found = l.found === undefined ? 'absent' : `${l.found.value}@${l.found.modRevision}`;
      console.log(`  LOST WRITE ${l.key}=${l.value}@${l.revision}, found ${found}`);
    }
    console.log(summary(r));
    reports.push(r);
  };
  if (values.bounded) {
    const plan = values.reversed ? BoundedPlan : BoundedPlan.slice(0, -1);
    let i = 0;
    for (const [n, kinds] of plan)
      await run({ ...base, seed: seed + i++, nodes: n, faults: kinds });
  } else {
    const until = performance.now() + int('duration', values.duration, 1) * 1000;
    const runMs = int('run-seconds', values['run-seconds'], 1) * 1000;
    // A run takes its fault phase plus about 10-15 s (start, healing, checks): a new run
    // starts only while that much is left, and its fault phase ends in time.
    for (let i = 0; i === 0 || until - performance.now() > 25_000; i++) {
      const left = until - performance.now();
      const durationMs = Math.round(Math.max(10_000, Math.min(runMs, left - 15_000)));
      const n = nodes ?? (i % 2 === 0 ? 3 : 5);
      await run({ ...base, seed: seed + i, nodes: n, faults: faults as FaultKind[], durationMs });
    }
  }
  const ops = reports.reduce((a, r) => a + r.opsChecked, 0);
  const violations = reports.reduce((a, r) => a + r.violations.length, 0);
  const lost = reports.reduce((a, r) => a + r.lost.length, 0);
  console.log(
    `chaos: ${reports.length} runs, ${ops} ops checked, ${violations} violations, ${lost} lost writes`,
  );
  return violations > 0 || lost > 0 ? 1 : 0;
}

// Ctrl-C (or SIGTERM) kills the members before exiting: none is left running.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    for (const p of liveProcesses) p.kill('SIGKILL');
    console.log(`chaos: ${sig}, members killed`);
    process.exit(130);
  });
}
process.exit(await main());
