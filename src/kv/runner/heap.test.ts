// capHeapGrowth sets V8's growth cap once, when the heap in use passes the threshold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capHeapGrowth } from './heap.ts';

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
