/**
 * The classic scenarios by name, a few seeds each: no safety property may break, and each
 * scenario must actually produce the situation it is named after (or it tests nothing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isLiveness } from '../../src/rafttest/sim/invariants.ts';
import { runSeed } from '../../src/rafttest/sim/runner.ts';
import { scenarioNames } from '../../src/rafttest/sim/scenarios.ts';
import type { SimStats } from '../../src/rafttest/sim/sim.ts';

const SEEDS = 6;
const FIRST = 10_000;

function run(name: string): SimStats[] {
  const out: SimStats[] = [];
  for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
    const { result } = runSeed(seed, name);
    const v = result.violations[0];
    if (v !== undefined && !isLiveness(v.invariant)) {
      assert.fail(`${name} seed ${seed}: ${v.invariant} at ${v.time}ms: ${v.message}`);
    }
    out.push(result.stats);
  }
  return out;
}

const sum = (xs: SimStats[], f: (s: SimStats) => number): number =>
  xs.reduce((a, s) => a + f(s), 0);
const every = (xs: SimStats[], f: (s: SimStats) => boolean): boolean => xs.every(f);

/** What each scenario must have done, over its seeds. */
const objectives: Record<string, (xs: SimStats[]) => void> = {
  chaos: (xs) => assert.ok(sum(xs, (s) => s.crashes + s.confChanges + s.transfers) > 0),
  figure8: (xs) => {
    assert.ok(sum(xs, (s) => s.crashes) >= 10 * SEEDS, 'leaders crash over and over');
    assert.ok(sum(xs, (s) => s.elections) >= 5 * SEEDS, 'many terms have leaders');
    assert.ok(sum(xs, (s) => s.truncations) > 0, 'uncommitted entries of old terms get replaced');
  },
  figure8Paper: (xs) => {
    assert.ok(
      every(xs, (s) => s.elections >= 4),
      'terms 2..5 each had a leader',
    );
    assert.ok(
      every(xs, (s) => s.truncatedEntries >= 3),
      'the term-2 entry on a majority was replaced',
    );
  },
  electionStorm: (xs) => {
    assert.ok(sum(xs, (s) => s.elections) >= 8 * SEEDS, 'many contested terms');
    assert.ok(every(xs, (s) => s.crashes > 0));
  },
  figure8Unreliable: (xs) => {
    assert.ok(sum(xs, (s) => s.crashes) >= 10 * SEEDS);
    assert.ok(every(xs, (s) => s.dropped > 0));
  },
  unreliableAgreement: (xs) => {
    assert.ok(
      every(xs, (s) => s.dropped > 50),
      'the network loses messages',
    );
    assert.ok(
      every(xs, (s) => s.acked >= s.writes / 2),
      'most writes still commit',
    );
  },
  partitionedLeader: (xs) =>
    assert.ok(
      every(xs, (s) => s.truncatedEntries >= 3),
      'the old leader drops its uncommitted tail',
    ),
  backup: (xs) =>
    assert.ok(
      every(xs, (s) => s.truncatedEntries >= 100),
      '50 uncommitted entries per side are replaced',
    ),
  churn: (xs) => assert.ok(every(xs, (s) => s.crashes > 0 && s.restarts > 0 && s.acked > 0)),
  unreliableChurn: (xs) =>
    assert.ok(every(xs, (s) => s.crashes > 0 && s.dropped > 0 && s.acked > 0)),
  snapshotCrash: (xs) =>
    assert.ok(sum(xs, (s) => s.snapshotsInstalled) >= SEEDS, 'crashed nodes come back by snapshot'),
  confChurn: (xs) => assert.ok(every(xs, (s) => s.confChanges > 0)),
  transferChurn: (xs) => assert.ok(every(xs, (s) => s.transfers > 0 && s.elections >= 3)),
};

for (const name of scenarioNames) {
  void test(`scenario ${name}: safe, and it does what it is named after`, () => {
    const check = objectives[name];
    assert.ok(check !== undefined, `no objective for scenario ${name}`);
    check(run(name));
  });
}
