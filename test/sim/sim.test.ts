/**
 * The deterministic simulation in CI: SEEDS seeds of `npm run sim` (every scenario in the
 * rotation), none of which may break a safety property.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { isLiveness } from '../../src/rafttest/sim/invariants.ts';
import { runSeed } from '../../src/rafttest/sim/runner.ts';

/** SEEDS is how many seeds CI runs (about 25 s on one core); `npm run sim` does the same. */
const SEEDS = Number(process.env['SIM_SEEDS'] ?? 2000);
const CHUNK = 250;

let liveness = 0;

for (let from = 0; from < SEEDS; from += CHUNK) {
  const to = Math.min(SEEDS, from + CHUNK);
  void test(`seeds ${from}..${to - 1} break no safety property`, () => {
    for (let seed = from; seed < to; seed++) {
      const { result } = runSeed(seed);
      const v = result.violations[0];
      if (v === undefined) continue;
      if (isLiveness(v.invariant)) {
        liveness++;
        continue;
      }
      assert.fail(
        `seed ${seed} (${result.schedule.name}): ${v.invariant} at ${v.time}ms: ${v.message}\n` +
          `shrink and replay it with: npm run sim -- --seeds 1 --from ${seed}`,
      );
    }
  });
}

void test('liveness failures stay rare (known limits of etcd-raft, see docs/simulation.md)', () => {
  assert.ok(liveness <= Math.ceil(SEEDS / 500), `${liveness} of ${SEEDS} seeds did not converge`);
});
