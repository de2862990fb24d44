/**
 * Running simulations by seed, and shrinking a failing schedule with fast-check: the
 * failing schedule is given to fast-check as an example of scheduleArbitrary(), whose
 * arbitraries can shrink values they did not generate, with the property "this schedule
 * does not break the same invariant".
 */
import fc from 'fast-check';
import type { Invariant, Violation } from './invariants.ts';
import { scenarioNames, scheduleForSeed } from './scenarios.ts';
import type { Schedule } from './schedule.ts';
import { scheduleArbitrary } from './schedule.ts';
import { runSchedule } from './sim.ts';
import type { SimResult, SimRunOptions } from './sim.ts';

/** SeedOutcome is the result of one seed. */
export interface SeedOutcome {
  seed: number;
  result: SimResult;
  /** ms is the wall time the run took. */
  ms: number;
}

/** runSeed runs the schedule of one seed (see scheduleForSeed). */
export function runSeed(seed: number, scenario?: string, options?: SimRunOptions): SeedOutcome {
  const t0 = performance.now();
  const result = runSchedule(scheduleForSeed(seed, scenario), options);
  return { seed, result, ms: performance.now() - t0 };
}

/** ShrinkOptions bound the shrinking. */
export interface ShrinkOptions {
  /** timeLimitMs bounds the whole shrinking; default 60,000. */
  timeLimitMs?: number;
}

/** ShrinkResult is the smallest failing schedule found and its violation. */
export interface ShrinkResult {
  schedule: Schedule;
  violation: Violation;
  /** runs is the number of simulations tried. */
  runs: number;
  /** complete: shrinking ran to the end (not cut by the time limit). */
  complete: boolean;
}

/**
 * shrinkSchedule looks for a smaller schedule that still breaks `invariant`. It returns the
 * original schedule when nothing smaller fails the same way.
 */
export function shrinkSchedule(
  schedule: Schedule,
  invariant: Invariant,
  options: ShrinkOptions = {},
): ShrinkResult {
  let runs = 0;
  let best: { schedule: Schedule; violation: Violation } | undefined;
  const breaks = (s: Schedule): boolean => {
    runs++;
    const v = runSchedule(s, { linearizabilityTimeoutMs: 5000 }).violations[0];
    if (v === undefined || v.invariant !== invariant) return false;
    if (best === undefined || size(s) <= size(best.schedule)) best = { schedule: s, violation: v };
    return true;
  };
  const limit = options.timeLimitMs ?? 60_000;
  const deadline = performance.now() + limit / 2;
  const start = dropChunks(schedule, breaks, deadline);
  const out = fc.check(
    fc.property(scheduleArbitrary(scenarioNames), (s) => !breaks(s)),
    {
      examples: [[start]],
      numRuns: 1,
      interruptAfterTimeLimit: Math.max(1000, deadline + limit / 2 - performance.now()),
      markInterruptAsFailure: false,
    },
  );
  const found = best as { schedule: Schedule; violation: Violation } | undefined;
  if (found === undefined) throw new Error('shrinkSchedule: the schedule does not fail');
  return { ...found, runs, complete: !out.interrupted };
}

/**
 * dropChunks removes events in chunks of halving size while the schedule still fails (the
 * first pass of delta debugging): much faster than fast-check's one-at-a-time array
 * shrinking on schedules of hundreds of events, which fast-check then finishes.
 */
function dropChunks(s: Schedule, breaks: (s: Schedule) => boolean, deadline: number): Schedule {
  let cur = s;
  for (let chunk = Math.ceil(cur.events.length / 2); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    for (let i = 0; i < cur.events.length && performance.now() < deadline;) {
      const events = [...cur.events.slice(0, i), ...cur.events.slice(i + chunk)];
      const cand = { ...cur, events };
      if (breaks(cand)) cur = cand;
      else i += chunk;
    }
  }
  return cur;
}

function size(s: Schedule): number {
  return s.events.length * 1e7 + s.duration;
}
