// RequestCall as the AbortLike of its request's waits: it aborts them like an AbortSignal
// would (the caller's Cancel or signal, the timeout), and its `signal` follows it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Waiter } from '../node/waiter.ts';
import { Cancel, Expiry, RequestCall } from './call.ts';
import { DeadlineWheel } from './deadlines.ts';
import { Deferred } from './wait.ts';

function newCall(o: ConstructorParameters<typeof RequestCall>[0] = {}) {
  const wheel = new DeadlineWheel();
  const call = new RequestCall(o, wheel, 60_000);
  return { call, wheel };
}

void describe('RequestCall', () => {
  test("a Cancel aborts the call's waits with its reason, and signal follows", async () => {
    const cancel = new Cancel();
    const { call, wheel } = newCall({ cancel });
    let forgotten = 0;
    const w = new Waiter<number>(call, () => forgotten++);
    const d = new Deferred<number>(call);
    const reason = new Error('client cancelled');
    cancel.cancel(reason);
    await assert.rejects(w.promise, (e) => e === reason);
    await assert.rejects(d.promise, (e) => e === reason);
    assert.equal(forgotten, 1);
    assert.equal(call.aborted, true);
    assert.equal(call.reason, reason);
    assert.equal(call.callerAborted, true);
    assert.equal(call.signal.aborted, true);
    assert.equal(call.signal.reason, reason);
    call.finish();
    assert.equal(wheel.size, 0);
    assert.equal(cancel.onCancel, undefined);
  });

  test('a wait that settles first no longer hears the abort', async () => {
    const ac = new AbortController();
    const { call } = newCall({ signal: ac.signal });
    const signal = call.signal;
    let heard = 0;
    const w = new Waiter<number>(call, () => heard++);
    w.resolve(7);
    assert.equal(await w.promise, 7);
    const reason = new Error('gone');
    ac.abort(reason);
    assert.equal(heard, 0);
    assert.equal(call.reason, reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    call.finish();
  });

  test('an already cancelled caller aborts the call at once', async () => {
    const cancel = new Cancel();
    const reason = new Error('early');
    cancel.cancel(reason);
    const { call } = newCall({ cancel });
    assert.equal(call.aborted, true);
    await assert.rejects(new Waiter<number>(call).promise, (e) => e === reason);
    call.finish();
  });

  test("the client's deadline expires the call", (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const clock = { t: 0 };
    const wheel = new DeadlineWheel({ now: () => clock.t });
    const call = new RequestCall({ timeoutMs: 50 }, wheel, 60_000);
    const w = new Waiter<number>(call);
    w.promise.catch(() => {});
    clock.t += 100;
    t.mock.timers.tick(100);
    assert.equal(call.expired, Expiry.Deadline);
    assert.match(String(call.reason), /client deadline of 50 ms passed/);
    assert.equal(w.settled, true);
    call.finish();
  });
});
