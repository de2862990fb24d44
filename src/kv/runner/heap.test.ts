// capHeapGrowth sets V8's growth cap once, when the heap in use passes the threshold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { parseFlags } from './flags.ts';
import { capHeapGrowth, reduceWhenIdle } from './heap.ts';
import type { IdleReduceOptions, IdleReduction } from './heap.ts';
import { idleCompactMs, serveFlags } from './serve.ts';

test('caps once the heap passes the threshold, then stops checking', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let heap = 10e6;
  let checks = 0;
  const set: string[] = [];
  const stop = capHeapGrowth({
    percent: 30,
    fromBytes: 200e6,
    heapUsed: () => (checks++, heap),
    setFlags: (f) => set.push(f),
  });
  assert.deepEqual(set, [], 'a small heap is not capped');
  t.mock.timers.tick(5000);
  assert.deepEqual(set, []);
  heap = 250e6;
  t.mock.timers.tick(1000);
  assert.deepEqual(set, ['--heap-growing-percent=30']);
  const after = checks;
  t.mock.timers.tick(10_000);
  assert.equal(checks, after, 'no checks once capped');
  assert.deepEqual(set, ['--heap-growing-percent=30'], 'set once');
  stop();
});

test('threshold 0 caps at once; percent 0 never caps', () => {
  const set: string[] = [];
  capHeapGrowth({ percent: 25, fromBytes: 0, heapUsed: () => 1, setFlags: (f) => set.push(f) })();
  assert.deepEqual(set, ['--heap-growing-percent=25']);
  capHeapGrowth({ percent: 0, fromBytes: 0, heapUsed: () => 1e12, setFlags: (f) => set.push(f) })();
  assert.equal(set.length, 1);
});

// reduceWhenIdle asks V8 to shrink its heap once the member has been quiet for a while and
// its heap has grown since the last time.

const MB = 2 ** 20;

/**
 * idle starts reduceWhenIdle on fakes the test moves: progress, busy, heap; s.tick(ms)
 * moves time in steps of one check (1 s), the clock with it. s.calls lists reduce and
 * resume calls.
 */
function idle(t: TestContext, quietMs = 5000, extra: Partial<IdleReduceOptions> = {}) {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let clock = 0;
  const s = {
    progress: 7,
    busy: false,
    heap: { used: 100 * MB, total: 150 * MB },
    calls: [] as string[],
    reports: [] as IdleReduction[],
    stop: (): void => undefined,
    tick: (ms: number): void => {
      for (let i = 0; i < ms; i += 1000) {
        clock += 1000;
        t.mock.timers.tick(1000);
      }
    },
  };
  s.stop = reduceWhenIdle({
    quietMs,
    progress: () => s.progress,
    utilization: () => (s.busy ? 0.9 : 0.01),
    heap: () => ({ ...s.heap }),
    reduce: () => s.calls.push(`reduce@${clock}`),
    resume: () => s.calls.push(`resume@${clock}`),
    now: () => clock,
    onReduced: (r) => s.reports.push(r),
    ...extra,
  });
  return s;
}

test('reduces once after the quiet period, then resumes and reports the smallest heap', (t) => {
  const s = idle(t);
  s.heap = { used: 300 * MB, total: 400 * MB };
  s.tick(4000);
  assert.deepEqual(s.calls, [], 'not before the quiet period ends');
  s.tick(1000);
  assert.deepEqual(s.calls, ['reduce@5000']);
  s.tick(3000);
  s.heap = { used: 200 * MB, total: 300 * MB };
  s.tick(1000);
  s.heap = { used: 190 * MB, total: 220 * MB };
  s.tick(1000);
  s.heap = { used: 195 * MB, total: 225 * MB };
  s.tick(14_000);
  assert.deepEqual(s.calls, ['reduce@5000'], 'resumes after the 20 s window');
  s.tick(1000);
  assert.deepEqual(s.calls, ['reduce@5000', 'resume@25000']);
  assert.deepEqual(s.reports, [
    {
      ms: 5000,
      before: { used: 300 * MB, total: 400 * MB },
      after: { used: 190 * MB, total: 220 * MB },
    },
  ]);
  s.heap = { used: 400 * MB, total: 500 * MB };
  s.tick(60_000);
  assert.equal(s.calls.length, 2, 'once per quiet period, however the heap grows meanwhile');
  s.stop();
});

test('never while busy: applying entries or a busy event loop restarts the quiet period', (t) => {
  const s = idle(t);
  s.heap = { used: 300 * MB, total: 400 * MB };
  for (let i = 0; i < 20; i++) {
    s.progress++;
    s.tick(1000);
  }
  assert.deepEqual(s.calls, [], 'applying');
  s.busy = true;
  s.tick(20_000);
  assert.deepEqual(s.calls, [], 'event loop busy');
  s.busy = false;
  s.tick(4000);
  assert.deepEqual(s.calls, [], 'the quiet period starts at the last busy check');
  s.tick(1000);
  assert.deepEqual(s.calls, ['reduce@45000']);
  s.busy = true;
  s.tick(2000);
  assert.deepEqual(s.calls, ['reduce@45000'], "V8's GCs during a reduction are not work");
  s.progress++;
  s.tick(1000);
  assert.deepEqual(s.calls, ['reduce@45000', 'resume@48000'], 'work ends the reduction');
  assert.equal(s.reports.length, 1);
  s.stop();
});

test('not again until the heap has grown past what the last reduction left', (t) => {
  const s = idle(t);
  s.heap = { used: 300 * MB, total: 400 * MB };
  s.tick(5000);
  s.heap = { used: 150 * MB, total: 200 * MB };
  s.tick(20_000);
  assert.equal(s.calls.length, 2); // reduce, resume: left { used: 150 MB, total: 200 MB }
  const burst = (heap: { used: number; total: number }): void => {
    s.progress++;
    s.heap = heap;
    s.tick(10_000);
  };
  burst({ used: 150 * MB + 31 * MB, total: 200 * MB + 31 * MB });
  assert.equal(s.calls.length, 2, 'grown by less than 32 MiB');
  burst({ used: 150 * MB, total: 200 * MB + 32 * MB });
  assert.equal(s.calls.length, 3, 'the heap held grew by 32 MiB');
  burst({ used: 150 * MB + 32 * MB, total: 200 * MB });
  assert.equal(s.calls.length, 5, 'resumed at the burst, then the heap in use grew by 32 MiB');
  s.stop();
});

test('growth is relative for a large heap: 10 % of what was left', (t) => {
  const s = idle(t, 5000, { minGrowthBytes: 0 });
  s.heap = { used: 1000 * MB, total: 1000 * MB };
  s.tick(5000);
  s.heap = { used: 500 * MB, total: 500 * MB };
  s.tick(20_000);
  assert.equal(s.calls.length, 2); // left 500 MB
  s.progress++;
  s.heap = { used: 549 * MB, total: 549 * MB };
  s.tick(10_000);
  assert.equal(s.calls.length, 2, 'less than 10 %');
  s.progress++;
  s.heap = { used: 550 * MB, total: 550 * MB };
  s.tick(10_000);
  assert.equal(s.calls.length, 3);
  s.stop();
});

test('quiet 0 never reduces nor checks', (t) => {
  let reads = 0;
  const s = idle(t, 0, { heap: () => (reads++, { used: 1e12, total: 1e12 }) });
  s.tick(60_000);
  assert.deepEqual(s.calls, []);
  assert.equal(reads, 0);
});

test('stop() ends the checks, and a reduction under way', (t) => {
  const s = idle(t);
  s.heap = { used: 300 * MB, total: 400 * MB };
  s.tick(4000);
  s.stop();
  s.tick(60_000);
  assert.deepEqual(s.calls, []);
  t.mock.timers.reset();
  const r = idle(t);
  r.heap = { used: 300 * MB, total: 400 * MB };
  r.tick(6000);
  r.stop();
  assert.deepEqual(r.calls, ['reduce@5000', 'resume@6000']);
  r.tick(60_000);
  assert.equal(r.calls.length, 2);
});

test('--idle-compact-secs sets the quiet period (0: off)', () => {
  const ms = (argv: string[]) => idleCompactMs(parseFlags(serveFlags, ['--id', '1', ...argv], {}));
  assert.equal(ms([]), 5000);
  assert.equal(ms(['--idle-compact-secs', '30']), 30_000);
  assert.equal(ms(['--idle-compact-secs', '0']), 0);
  assert.throws(() => ms(['--idle-compact-secs=-1']), /not an integer >= 0/);
});
