// backoffDelay: exponential growth, the cap, and equal jitter within [base/2, base).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { backoffDelay } from './backoff.ts';

test('backoffDelay doubles from initialMs up to maxMs, with jitter in the upper half', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, 100, 1000, () => 0)),
    [50, 100, 200, 400, 500, 500, 500],
  );
  assert.equal(
    backoffDelay(2, 100, 1000, () => 0.999999),
    399,
  );
  assert.equal(
    backoffDelay(1000, 100, 5000, () => 0.5),
    3750,
    'huge attempts stay capped',
  );
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(3, 100, 5000, Math.random);
    assert.ok(d >= 400 && d < 800, `${d}`);
  }
});
