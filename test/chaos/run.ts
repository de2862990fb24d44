/**
 * One chaos run: a fresh cluster, the workload, a series of fault episodes (each followed by
 * a bounded wait for a healthy cluster), then the checks:
 *
 * 1. the history (every client operation, plus a final linearizable read of every key) is
 *    linearizable (src/rafttest/linearizability; a check that runs out of time fails);
 * 2. no acknowledged write is lost: after healing, the key holds the write (same revision,
 *    same value) or a later one (a higher mod revision);
 * 3. every member holds the same keys, values and revisions (serializable reads once all
 *    have applied the same index);
 * 4. the cluster was healthy again after every episode (cluster.ts, waitHealthy).
 *
 * The run's directory (data, member logs, and on failure history.json) is removed when the
 * run passes, unless asked to keep it.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CheckResult, checkOperations } from '../../src/rafttest/linearizability/checker.ts';
import type { CheckReport } from '../../src/rafttest/linearizability/checker.ts';
import { KvOp, describeKv, kvModel } from '../../src/rafttest/linearizability/kv_model.ts';
import type {
  KvInput,
  KvOperation,
  KvOutput,
} from '../../src/rafttest/linearizability/kv_model.ts';
import { Prng } from '../../src/rafttest/sim/prng.ts';
import type { KeyState } from './client.ts';
import { ChaosCluster, MemberState } from './cluster.ts';
import type { Member, Timing } from './cluster.ts';
import { Faults } from './faults.ts';
import type { FaultKind } from './faults.ts';
import { Workload, keyName } from './workload.ts';
import type { AckedWrite, WorkloadStats } from './workload.ts';

/** RunOptions configure one run. */
export interface RunOptions {
  seed: number;
  nodes: number;
  /** faults are the episodes, in order; with durationMs, episodes are drawn from them. */
  faults: readonly FaultKind[];
  /** durationMs, when set, draws random episodes from `faults` until it is spent. */
  durationMs?: number;
  /** holdMs is the range of an episode's hold time. */
  holdMs: readonly [number, number];
  clients: number;
  keys: number;
  timing: Timing;
  /** root is where the run's directory is made. */
  root: string;
  keep: boolean;
  healthTimeoutMs: number;
  checkTimeoutMs: number;
  /** staleReads: serializable gets, to check that the checks catch stale reads. */
  staleReads?: boolean;
  log: (line: string) => void;
}

/** Episode is one fault as it happened. */
export interface Episode {
  fault: FaultKind;
  description: string;
  /** recoveryMs is how long the cluster took to be healthy after healing. */
  recoveryMs: number;
}

/** LostWrite is an acknowledged write missing after healing. */
export interface LostWrite extends AckedWrite {
  found: KeyState | undefined;
}

/** RunReport is the outcome of a run. */
export interface RunReport {
  seed: number;
  nodes: number;
  episodes: Episode[];
  /** opsChecked is the number of operations in the history handed to the checker. */
  opsChecked: number;
  stats: WorkloadStats;
  /** violations says what failed: "nonlinearizable: ...", "unhealthy: ...", and so on. */
  violations: string[];
  lost: LostWrite[];
  /** crashes counts the member crashes reported so far. */
  crashes: number;
  dir: string;
  durationMs: number;
  checkMs: number;
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** restore puts every member back: rules healed, paused continued, down restarted. */
async function restore(c: ChaosCluster, report: RunReport): Promise<void> {
  c.table.heal();
  for (const crash of c.crashes().slice(report.crashes)) report.violations.push(`crash: ${crash}`);
  report.crashes = c.crashes().length;
  for (const m of c.current()) {
    if (m.state === MemberState.Paused) c.resume(m);
  }
  await Promise.all(
    c
      .current()
      .filter((m) => m.state === MemberState.Down)
      .map((m) => c.restart(m)),
  );
}

function describeDown(c: ChaosCluster): string {
  const down = c.current().filter((m) => m.state === MemberState.Down);
  return down
    .map((m) => `\n    ${m.label} exited; last lines:\n      ${m.tail.slice(-8).join('\n      ')}`)
    .join('');
}

async function episodes(
  o: RunOptions,
  c: ChaosCluster,
  rng: Prng,
  t0: number,
  report: RunReport,
): Promise<void> {
  const stamp = (): string => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  const end = o.durationMs === undefined ? Infinity : t0 + o.durationMs;
  for (let i = 0; ; i++) {
    let fault: FaultKind;
    if (o.durationMs === undefined) {
      if (i >= o.faults.length) return;
      fault = o.faults[i] as FaultKind;
    } else {
      if (performance.now() > end) return;
      fault = o.faults[rng.int(o.faults.length)] as FaultKind;
    }
    const holdMs = rng.range(o.holdMs[0], o.holdMs[1]);
    const before = await c.leader().catch(() => undefined);
    const termBefore =
      before === undefined ? '?' : (await before.client.status().catch(() => undefined))?.raft_term;
    let description: string;
    try {
      description = await Faults[fault]({ cluster: c, rng: rng.fork(i + 1), holdMs, log: o.log });
    } catch (err) {
      description = `${fault} did not complete: ${errText(err)}`;
      report.violations.push(`fault: ${description}`);
    }
    await restore(c, report);
    const healing = performance.now();
    let recoveryMs = -1;
    let change = '';
    try {
      const h = await c.waitHealthy(o.healthTimeoutMs);
      recoveryMs = performance.now() - healing;
      change = ` [term ${termBefore ?? '?'}→${h.term}, leader ${before?.id ?? '?'}→${h.leader.id}]`;
    } catch (err) {
      report.violations.push(`unhealthy after ${fault}: ${errText(err)}${describeDown(c)}`);
    }
    report.episodes.push({ fault, description, recoveryMs });
    const after =
      recoveryMs < 0 ? 'NOT healthy' : `healthy after ${(recoveryMs / 1000).toFixed(1)} s`;
    o.log(`  [${stamp()}] ${description}; ${after}${change}`);
    if (recoveryMs < 0) return;
    await delay(rng.range(300, 1000));
  }
}

/**
 * finalState reads every workload key through the leader (recorded as reads in the history)
 * and compares every member's own copy with it.
 */
async function finalState(
  c: ChaosCluster,
  w: Workload,
  keys: number,
  report: RunReport,
): Promise<Map<string, KeyState>> {
  const health = await c.waitHealthy(30_000);
  const call = w.now();
  const state = await health.leader.client.readAll('chaos/k', 'chaos/l', false, 5000);
  const ret = w.now();
  for (let k = 0; k < keys; k++) {
    const key = keyName(k);
    w.record(-1, { op: KvOp.Get, key }, { value: state.get(key)?.value ?? null }, call, ret);
  }
  const copies = await Promise.all(
    c.current().map((m: Member) => m.client.readAll('chaos/k', 'chaos/l', true, 5000)),
  );
  copies.forEach((copy, i) => {
    const m = c.current()[i] as Member;
    const want = JSON.stringify([...state].sort());
    const got = JSON.stringify([...copy].sort());
    if (got !== want) {
      report.violations.push(`divergence: ${m.label} holds ${got}, the leader ${want}`);
    }
  });
  return state;
}

/**
 * describeCheck prints each failing key: the end of the longest linearizable prefix and the
 * first operations that could not follow it (history.json has everything).
 */
function describeCheck(check: CheckReport<KvInput, KvOutput>): string {
  const lines: string[] = [];
  const fmt = (o: KvOperation): string => {
    const ret = o.return === Infinity ? 'never' : o.return.toFixed(1);
    return `[${o.call.toFixed(1)}, ${ret}] client ${o.clientId} ${describeKv(o.input, o.output)}`;
  };
  for (const p of check.partitions) {
    if (p.result === CheckResult.Ok) continue;
    const key = p.operations[0]?.input.key ?? '?';
    lines.push(
      `    key ${key} (${p.operations.length} ops): ${p.result}; linearizable prefix ends with`,
    );
    for (const i of p.longest.slice(-6)) lines.push(`      ${fmt(p.operations[i] as KvOperation)}`);
    const done = new Set(p.longest);
    const rest = p.operations.filter((_, i) => !done.has(i)).sort((a, b) => a.call - b.call);
    lines.push(`    and none of these can follow it:`);
    for (const o of rest.slice(0, 6)) lines.push(`      ${fmt(o)}`);
  }
  return lines.join('\n');
}

/** lostWrites returns the acknowledged writes that the final state does not account for. */
export function lostWrites(
  acked: readonly AckedWrite[],
  state: Map<string, KeyState>,
): LostWrite[] {
  const lost: LostWrite[] = [];
  for (const w of acked) {
    const found = state.get(w.key);
    const kept =
      found !== undefined &&
      (found.modRevision > w.revision ||
        (found.modRevision === w.revision && found.value === w.value));
    if (!kept) lost.push({ ...w, found });
  }
  return lost;
}

/** runChaos runs one chaos run; see the file comment. It never throws for a failed check. */
export async function runChaos(o: RunOptions): Promise<RunReport> {
  const rng = new Prng(o.seed);
  const dir = join(o.root, `run-${o.seed}-${o.nodes}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const started = performance.now();
  const report: RunReport = {
    seed: o.seed,
    nodes: o.nodes,
    episodes: [],
    opsChecked: 0,
    stats: { ops: 0, reads: 0, readsFailed: 0, writesAcked: 0, writesUnknown: 0, casFailed: 0 },
    violations: [],
    lost: [],
    crashes: 0,
    dir,
    durationMs: 0,
    checkMs: 0,
  };
  const random = rng.fork(0);
  let cluster: ChaosCluster;
  try {
    cluster = await ChaosCluster.start({
      nodes: o.nodes,
      dir,
      timing: o.timing,
      random: () => random.float(),
      log: o.log,
    });
  } catch (err) {
    report.violations.push(`the cluster did not start: ${errText(err)}`);
    report.durationMs = performance.now() - started;
    return report;
  }
  const t0 = performance.now();
  const w = new Workload(
    cluster,
    {
      clients: o.clients,
      keys: o.keys,
      seed: o.seed,
      timeoutMs: o.timing.requestTimeoutMs + 500,
      staleReads: o.staleReads === true,
    },
    t0,
  );
  let state: Map<string, KeyState> | undefined;
  try {
    w.start();
    await delay(1000);
    await episodes(o, cluster, rng, t0, report);
    await w.stop();
    await restore(cluster, report);
    state = await finalState(cluster, w, o.keys, report);
  } catch (err) {
    report.violations.push(`unhealthy at the end: ${errText(err)}${describeDown(cluster)}`);
  } finally {
    await w.stop();
    for (const crash of cluster.crashes().slice(report.crashes)) {
      report.violations.push(`crash: ${crash}`);
    }
    await cluster.close();
  }
  report.stats = w.stats;
  // The checker is synchronous: it runs once the proxies (in this process) are closed.
  const checkStart = performance.now();
  report.opsChecked = w.history.length;
  const check = checkOperations(kvModel, w.history, { timeoutMs: o.checkTimeoutMs });
  report.checkMs = performance.now() - checkStart;
  if (check.result !== CheckResult.Ok) {
    report.violations.push(`nonlinearizable (${check.result}):\n${describeCheck(check)}`);
  }
  if (state !== undefined) report.lost = lostWrites(w.acked, state);
  report.durationMs = performance.now() - started;
  const failed = report.violations.length > 0 || report.lost.length > 0;
  if (failed) {
    const history = w.history.map((op) => ({
      ...op,
      return: op.return === Infinity ? null : op.return,
    }));
    await writeFile(join(dir, 'history.json'), JSON.stringify({ history, acked: w.acked }) + '\n');
  } else if (!o.keep) {
    await rm(dir, { recursive: true, force: true });
  }
  return report;
}
