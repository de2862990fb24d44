import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReadIndexQueue } from './reads.ts';
import { Waiter } from './waiter.ts';

function setup(): { q: ReadIndexQueue; sent: Uint8Array[] } {
  const sent: Uint8Array[] = [];
  return { q: new ReadIndexQueue((r) => sent.push(r), 3, 0xabcd), sent };
}

void describe('ReadIndexQueue', () => {
  void it('batches reads into one request and resolves them once applied', async () => {
    const { q, sent } = setup();
    const a = new Waiter<number>();
    const b = new Waiter<number>();
    q.add(a);
    q.add(b);
    q.flush();
    assert.equal(sent.length, 1);
    q.onReadStates([{ index: 9, requestCtx: sent[0]! }], 8);
    assert.equal(a.settled, false);
    q.onApplied(9);
    assert.equal(await a.promise, 9);
    assert.equal(await b.promise, 9);
  });

  void it('gives reads that arrive during a request the next request', () => {
    const { q, sent } = setup();
    const a = new Waiter<number>();
    const late = new Waiter<number>();
    q.add(a);
    q.flush();
    q.add(late);
    q.flush();
    assert.equal(sent.length, 1);
    q.onReadStates([{ index: 4, requestCtx: sent[0]! }], 10);
    assert.equal(a.settled, true);
    assert.equal(late.settled, false);
    assert.equal(sent.length, 2);
    assert.notDeepEqual(sent[1], sent[0]);
  });

  void it('ignores unknown contexts and retries a request without answer', () => {
    const { q, sent } = setup();
    const a = new Waiter<number>();
    q.add(a);
    q.flush();
    q.onReadStates([{ index: 4, requestCtx: new Uint8Array(8) }], 10);
    assert.equal(a.settled, false);
    q.tick();
    q.tick();
    assert.equal(sent.length, 1);
    q.tick();
    assert.equal(sent.length, 2);
    q.onReadStates([{ index: 4, requestCtx: sent[0]! }], 10);
    assert.equal(a.settled, false, 'the old context is no longer in flight');
    q.onReadStates([{ index: 5, requestCtx: sent[1]! }], 10);
    assert.equal(a.settled, true);
  });

  void it('rejects everything on rejectAll', async () => {
    const { q, sent } = setup();
    const a = new Waiter<number>();
    const b = new Waiter<number>();
    const c = new Waiter<number>();
    q.add(a);
    q.flush();
    q.add(b);
    q.onReadStates([{ index: 4, requestCtx: sent[0]! }], 0);
    q.add(c);
    q.rejectAll(new Error('closed'));
    for (const w of [a, b, c]) await assert.rejects(w.promise, /closed/);
  });
});
