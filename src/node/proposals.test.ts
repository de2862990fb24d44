import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry } from '../raftpb/types.ts';
import { ErrLeaderChanged } from './errors.ts';
import { Proposal, ProposalTracker } from './proposals.ts';
import { Waiter } from './waiter.ts';

/** ent makes an entry carrying key (in its data's first byte, for keyOf below). */
function ent(index: number, term: number, key?: number): Entry {
  return { index, term, type: 0, data: key === undefined ? undefined : new Uint8Array([key]) };
}
const keyOf = (e: Entry): number | undefined => e.data?.[0];

function outcome(w: Waiter<unknown>): Promise<unknown> {
  return w.promise.then(
    (v) => ({ ok: v }),
    (e: unknown) => ({ err: (e as Error).name }),
  );
}

void describe('ProposalTracker', () => {
  void it('resolves a proposal when its entry is applied', async () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.add(1, 2, w);
    t.onAppend([ent(5, 2, 1)], keyOf);
    t.onApplied(5, 2, 1, 'r');
    assert.deepEqual(await outcome(w), { ok: 'r' });
    assert.equal(t.size, 0);
  });

  void it('rejects a placed proposal whose entry is overwritten by another term', async () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.add(1, 2, w);
    t.onAppend([ent(5, 2, 1), ent(6, 2)], keyOf);
    t.onAppend([ent(5, 3), ent(6, 3)], keyOf);
    assert.deepEqual(await outcome(w), { err: 'ErrLeaderChanged' });
  });

  void it('rejects a placed proposal truncated away by a conflict before it', async () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.add(1, 2, w);
    t.onAppend([ent(5, 2), ent(6, 2, 1)], keyOf);
    t.onAppend([ent(5, 3)], keyOf);
    assert.deepEqual(await outcome(w), { err: 'ErrLeaderChanged' });
  });

  void it('keeps a placed proposal rewritten with the same term', () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.add(1, 2, w);
    t.onAppend([ent(5, 2, 1)], keyOf);
    t.onAppend([ent(5, 2, 1), ent(6, 3)], keyOf);
    assert.equal(w.settled, false);
    t.onApplied(5, 2, 1, 'ok');
    assert.equal(w.settled, true);
  });

  void it('never resolves with the result of another entry at its index', async () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.addPlaced(7, 2, w);
    t.onApplied(7, 3, undefined, 'someone else');
    assert.deepEqual(await outcome(w), { err: 'ErrLeaderChanged' });
  });

  void it('rejects an unplaced proposal once a later term reaches the log', async () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.add(1, 2, w);
    t.onAppend([ent(3, 2)], keyOf);
    assert.equal(w.settled, false);
    t.onAppend([ent(4, 3)], keyOf);
    assert.deepEqual(await outcome(w), { err: 'ErrLeaderChanged' });
  });

  void it('places a proposal that arrives together with later-term entries', () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.add(1, 2, w);
    t.onAppend([ent(3, 2, 1), ent(4, 3)], keyOf);
    assert.equal(w.settled, false);
  });

  void it('settles proposals a snapshot replaced: gone or unknown', async () => {
    const t = new ProposalTracker();
    const after = new Waiter<unknown>();
    const inside = new Waiter<unknown>();
    const newer = new Waiter<unknown>();
    const unplacedOld = new Waiter<unknown>();
    const unplacedNew = new Waiter<unknown>();
    t.add(1, 2, inside);
    t.add(2, 2, after);
    t.add(3, 4, unplacedNew);
    t.add(4, 2, unplacedOld);
    t.onAppend([ent(5, 2, 1), ent(6, 2), ent(7, 2), ent(8, 2, 2)], keyOf);
    t.addPlaced(6, 4, newer);
    t.onSnapshot(7, 3);
    assert.deepEqual(await outcome(inside), { err: 'ErrOutcomeUnknown' });
    assert.deepEqual(await outcome(after), { err: 'ErrLeaderChanged' });
    assert.deepEqual(await outcome(newer), { err: 'ErrLeaderChanged' });
    assert.deepEqual(await outcome(unplacedOld), { err: 'ErrOutcomeUnknown' });
    assert.equal(unplacedNew.settled, false);
  });

  void it('forgets aborted proposals and rejects the rest on rejectAll', async () => {
    const t = new ProposalTracker();
    const a = new Waiter<unknown>();
    const b = new Waiter<unknown>();
    t.add(1, 1, a);
    t.add(2, 1, b);
    t.forget(1);
    t.onAppend([ent(1, 1, 1)], keyOf);
    t.onApplied(1, 1, 1, 'x');
    assert.equal(a.settled, false, 'a forgotten proposal is not placed');
    assert.equal(t.size, 1);
    t.rejectAll(new ErrLeaderChanged());
    await assert.rejects(b.promise, ErrLeaderChanged);
    assert.equal(t.size, 0);
  });

  void it('tracks the proposals of a leader at their position at once', async () => {
    const t = new ProposalTracker();
    const p = new Proposal(1, new Uint8Array());
    const q = new Proposal(2, new Uint8Array());
    p.term = q.term = 3;
    [p.index, q.index] = [8, 9];
    t.track(p);
    t.track(q);
    t.onAppend([ent(8, 3, 1), ent(9, 3, 2)], keyOf); // its own Ready: nothing replaced
    assert.equal(t.size, 2);
    t.onApplied(8, 3, 1, 'r');
    assert.deepEqual(await outcome(p), { ok: 'r' });
    t.onAppend([ent(9, 4)], keyOf); // another leader's entry at 9
    assert.deepEqual(await outcome(q), { err: 'ErrLeaderChanged' });
    assert.equal(t.size, 0);
  });

  void it('rejects a placed proposal when a different key is applied at its position', async () => {
    const t = new ProposalTracker();
    const w = new Waiter<unknown>();
    t.add(1, 2, w);
    t.onAppend([ent(5, 2, 1)], keyOf);
    t.onApplied(5, 2, 9, 'x');
    assert.deepEqual(await outcome(w), { err: 'ErrLeaderChanged' });
  });
});
