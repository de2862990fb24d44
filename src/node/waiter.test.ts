import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { Condition, Waiter } from './waiter.ts';

void describe('Waiter', () => {
  void it('settles once and ignores later calls', async () => {
    const w = new Waiter<number>();
    w.resolve(1);
    w.reject(new Error('late'));
    w.resolve(2);
    assert.equal(await w.promise, 1);
    assert.equal(w.settled, true);
  });

  void it('rejects at once with the reason of an aborted signal', async () => {
    const reason = new Error('gone');
    let forgotten = 0;
    const w = new Waiter<number>(AbortSignal.abort(reason), () => forgotten++);
    await assert.rejects(w.promise, (e) => e === reason);
    assert.equal(forgotten, 1);
  });

  void it('rejects with signal.reason on abort, calls onAbort, removes its listener', async () => {
    const ac = new AbortController();
    let forgotten = 0;
    const w = new Waiter<number>(ac.signal, () => forgotten++);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    ac.abort(new Error('stop'));
    await assert.rejects(w.promise, /stop/);
    assert.equal(forgotten, 1);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });

  void it('removes its listener when it settles normally', async () => {
    const ac = new AbortController();
    const w = new Waiter<number>(ac.signal);
    w.resolve(3);
    assert.equal(await w.promise, 3);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });
});

void describe('Condition', () => {
  void it('resolves on the first poll that sees a value', async () => {
    const box: { v?: number } = {};
    const c = new Condition(() => box.v);
    assert.equal(c.poll(), false);
    box.v = 5;
    assert.equal(c.poll(), true);
    assert.equal(await c.waiter.promise, 5);
  });

  void it('rejects with what check throws', async () => {
    const c = new Condition<number>(() => {
      throw new RangeError('no');
    });
    assert.equal(c.poll(), true);
    await assert.rejects(c.waiter.promise, RangeError);
  });
});
