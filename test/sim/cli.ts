/**
 * The deterministic simulation runner: `npm run sim -- --seeds N [--from S]`.
 *
 *   --seeds N        number of seeds to run (default 2000)
 *   --from S         first seed (default 0)
 *   --scenario NAME  run only this scenario (default: each seed picks one; see --list)
 *   --list           print the scenario names and exit
 *   --verbose        print one line per seed: scenario, trace hash, time, counters
 *   --no-shrink      do not shrink failing schedules
 *   --shrink-ms MS   time limit for shrinking one failure (default 60000)
 *   --replay FILE    run the schedule in FILE (JSON, as printed for a failure) and print
 *                    its trace hash; `-` reads standard input
 *
 * A failure prints the seed, the violation and a shrunk schedule (replayable with
 * --replay). The last line is always `sim: N seeds, V violations`, counting the seeds that
 * broke a safety property; the exit code is 1 when V > 0. Seeds whose cluster did not
 * converge after healing (a liveness failure) are printed as LIVENESS and counted on the
 * line before; with --strict they count as violations too.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { isLiveness } from '../../src/rafttest/sim/invariants.ts';
import type { Violation } from '../../src/rafttest/sim/invariants.ts';
import { runSeed, shrinkSchedule } from '../../src/rafttest/sim/runner.ts';
import { scenarioNames } from '../../src/rafttest/sim/scenarios.ts';
import type { Schedule } from '../../src/rafttest/sim/schedule.ts';
import { describeSchedule } from '../../src/rafttest/sim/schedule.ts';
import { runSchedule } from '../../src/rafttest/sim/sim.ts';
import type { SimResult } from '../../src/rafttest/sim/sim.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '2000' },
    from: { type: 'string', default: '0' },
    scenario: { type: 'string' },
    list: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    'no-shrink': { type: 'boolean', default: false },
    'shrink-ms': { type: 'string', default: '60000' },
    replay: { type: 'string' },
    strict: { type: 'boolean', default: false },
  },
  strict: true,
});

function int(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return n;
}

function describeViolation(v: Violation): string {
  const node = v.node !== undefined ? ` on node ${v.node}` : '';
  return `${v.invariant} at ${v.time}ms${node}: ${v.message}`;
}

function statsLine(r: SimResult): string {
  const s = r.stats;
  return (
    `steps=${s.steps} msgs=${s.messages} elections=${s.elections} crashes=${s.crashes} ` +
    `snapshots=${s.snapshotsInstalled} conf=${s.confChanges} writes=${s.acked}/${s.writes} ` +
    `reads=${s.served}/${s.reads}`
  );
}

function replay(file: string): number {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  const schedule = JSON.parse(text) as Schedule;
  const r = runSchedule(schedule);
  console.log(`replay ${schedule.name} seed ${schedule.seed}: trace ${r.trace} ${statsLine(r)}`);
  for (const v of r.violations) console.log(`  ${describeViolation(v)}`);
  console.log(`sim: 1 seeds, ${r.violations.length > 0 ? 1 : 0} violations`);
  return r.violations.length > 0 ? 1 : 0;
}

function report(seed: number, r: SimResult, shrink: boolean, shrinkMs: number): void {
  const v = r.violations[0] as Violation;
  const label = isLiveness(v.invariant) ? 'LIVENESS' : 'FAIL';
  console.log(
    `${label} seed ${seed} (${r.schedule.name}) trace ${r.trace}: ${describeViolation(v)}`,
  );
  if (!shrink) {
    console.log(describeSchedule(r.schedule));
    return;
  }
  const s = shrinkSchedule(r.schedule, v.invariant, { timeLimitMs: shrinkMs });
  console.log(
    `  shrunk in ${s.runs} runs${s.complete ? '' : ' (time limit)'} to ${s.schedule.events.length} events ` +
      `(from ${r.schedule.events.length}): ${describeViolation(s.violation)}`,
  );
  console.log('  replay with: npm run sim -- --replay FILE, FILE holding:');
  console.log(describeSchedule(s.schedule));
}

function main(): number {
  if (values.list) {
    console.log(scenarioNames.join('\n'));
    return 0;
  }
  if (values.replay !== undefined) return replay(values.replay);
  const seeds = int('seeds', values.seeds);
  const from = int('from', values.from);
  const shrinkMs = int('shrink-ms', values['shrink-ms']);
  const perScenario = new Map<string, number>();
  let violations = 0;
  let liveness = 0;
  const t0 = performance.now();
  for (let seed = from; seed < from + seeds; seed++) {
    const { result: r, ms } = runSeed(seed, values.scenario);
    perScenario.set(r.schedule.name, (perScenario.get(r.schedule.name) ?? 0) + 1);
    if (values.verbose) {
      console.log(
        `seed ${seed} ${r.schedule.name} trace ${r.trace} ${ms.toFixed(0)}ms ${statsLine(r)}`,
      );
    }
    const v = r.violations[0];
    if (v === undefined) continue;
    if (isLiveness(v.invariant) && !values.strict) liveness++;
    else violations++;
    report(seed, r, !values['no-shrink'], shrinkMs);
  }
  const secs = (performance.now() - t0) / 1000;
  const mix = [...perScenario].map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`sim: ran in ${secs.toFixed(1)}s (${(seeds / secs).toFixed(1)} seeds/s): ${mix}`);
  if (liveness > 0) {
    console.log(`sim: ${liveness} liveness failures (no convergence after healing; not counted)`);
  }
  console.log(`sim: ${seeds} seeds, ${violations} violations`);
  return violations > 0 ? 1 : 0;
}

process.exitCode = main();
