/**
 * A seed replays exactly: equal trace hashes across runs, across processes, and from the
 * printed schedule; different seeds give different runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { runSeed } from '../../src/rafttest/sim/runner.ts';
import { scheduleForSeed } from '../../src/rafttest/sim/scenarios.ts';
import type { Schedule } from '../../src/rafttest/sim/schedule.ts';
import { describeSchedule } from '../../src/rafttest/sim/schedule.ts';
import { runSchedule } from '../../src/rafttest/sim/sim.ts';

void test('a seed gives the same trace hash and counters twice in a row', () => {
  for (let seed = 0; seed < 20; seed++) {
    const a = runSeed(seed).result;
    const b = runSeed(seed).result;
    assert.equal(a.trace, b.trace, `seed ${seed}`);
    assert.deepEqual(a.stats, b.stats, `seed ${seed}`);
  }
});

void test('the printed schedule replays to the same trace', () => {
  for (const seed of [3, 7, 11]) {
    const s = scheduleForSeed(seed);
    const copy = JSON.parse(describeSchedule(s)) as Schedule;
    assert.deepEqual(copy, s);
    assert.equal(runSchedule(copy).trace, runSeed(seed).result.trace);
  }
});

void test('different seeds give different traces', () => {
  const traces = new Set<string>();
  for (let seed = 0; seed < 50; seed++) traces.add(runSeed(seed).result.trace);
  assert.equal(traces.size, 50);
});

void test('another process computes the same trace hashes (npm run sim --verbose)', () => {
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', cli, '--seeds', '4', '--from', '40', '--verbose'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  for (let seed = 40; seed < 44; seed++) {
    const line = lines.find((l) => l.startsWith(`seed ${seed} `));
    assert.ok(line !== undefined, `no line for seed ${seed}`);
    assert.match(line, new RegExp(` trace ${runSeed(seed).result.trace} `));
  }
  assert.equal(lines.filter((l) => l !== '').at(-1), 'sim: 4 seeds, 0 violations');
});
