import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { Inflights } from './inflights.ts';
import type { ProgressInit } from './progress.ts';
import { cloneProgressMap, Progress, progressMapString } from './progress.ts';
import { StateType, stateTypeName } from './state.ts';

const { StateProbe, StateReplicate, StateSnapshot } = StateType;

function pr(init: Partial<ProgressInit> = {}): Progress {
  return new Progress({ next: 1, inflights: new Inflights(256), ...init });
}

void describe('Progress', () => {
  void it('prints every optional word in order', () => {
    const ins = new Inflights(1);
    ins.add(123, 1);
    const p = pr({
      match: 1,
      next: 2,
      state: StateSnapshot,
      pendingSnapshot: 123,
      recentActive: false,
      msgAppFlowPaused: true,
      isLearner: true,
      inflights: ins,
    });
    assert.equal(
      p.toString(),
      'StateSnapshot match=1 next=2 learner paused pendingSnap=123 inactive inflight=1[full]',
    );
    assert.equal(
      pr({ match: 3, next: 4, state: StateReplicate, recentActive: true }).toString(),
      'StateReplicate match=3 next=4',
    );
  });

  void it('is paused in StateSnapshot or when the flow is paused', () => {
    const cases: [StateType, boolean, boolean][] = [
      [StateProbe, false, false],
      [StateProbe, true, true],
      [StateReplicate, false, false],
      [StateReplicate, true, true],
      [StateSnapshot, false, true],
      [StateSnapshot, true, true],
    ];
    for (const [state, paused, want] of cases) {
      const p = pr({ state, msgAppFlowPaused: paused });
      assert.equal(p.isPaused(), want, `${stateTypeName(state)} paused=${paused}`);
    }
  });

  void it('maybeUpdate and maybeDecrTo unpause the flow', () => {
    const p = pr({ next: 2, msgAppFlowPaused: true });
    p.maybeDecrTo(1, 1);
    assert.equal(p.msgAppFlowPaused, false);
    p.msgAppFlowPaused = true;
    p.maybeUpdate(2);
    assert.equal(p.msgAppFlowPaused, false);
  });

  void it('becomeProbe restarts after match, or after a pending snapshot', () => {
    const cases: [Progress, number][] = [
      [pr({ state: StateReplicate, match: 1, next: 5 }), 2],
      [pr({ state: StateSnapshot, match: 1, next: 5, pendingSnapshot: 10 }), 11],
      [pr({ state: StateSnapshot, match: 1, next: 5, pendingSnapshot: 0 }), 2],
    ];
    for (const [p, wantNext] of cases) {
      p.becomeProbe();
      assert.equal(p.state, StateProbe);
      assert.equal(p.match, 1);
      assert.equal(p.next, wantNext);
      assert.equal(p.pendingSnapshot, 0);
    }
  });

  void it('becomeProbe lowers sentCommit to next - 1', () => {
    const p = pr({ state: StateReplicate, match: 3, next: 9, sentCommitIdx: 8 });
    p.becomeProbe();
    assert.equal(p.sentCommitIdx, 3);
  });

  void it('becomeReplicate and becomeSnapshot', () => {
    const p = pr({ state: StateProbe, match: 1, next: 5, msgAppFlowPaused: true });
    p.becomeReplicate();
    assert.deepEqual([p.state, p.match, p.next, p.msgAppFlowPaused], [StateReplicate, 1, 2, false]);
    p.inflights.add(4, 10);
    p.becomeSnapshot(10);
    assert.deepEqual(
      [p.state, p.match, p.next, p.pendingSnapshot, p.sentCommitIdx, p.inflights.count()],
      [StateSnapshot, 1, 11, 10, 10, 0],
    );
  });

  void it('maybeUpdate never moves match or next back', () => {
    const cases: [update: number, match: number, next: number, ok: boolean][] = [
      [2, 3, 5, false],
      [3, 3, 5, false],
      [4, 4, 5, true],
      [5, 5, 6, true],
    ];
    for (const [update, wantMatch, wantNext, wantOk] of cases) {
      const p = pr({ match: 3, next: 5 });
      assert.equal(p.maybeUpdate(update), wantOk, `update ${update}`);
      assert.deepEqual([p.match, p.next], [wantMatch, wantNext], `update ${update}`);
    }
  });

  void it('maybeDecrTo ignores stale rejections and moves next back', () => {
    const cases: [StateType, number, number, number, number, boolean, number][] = [
      // state, match, next, rejected, matchHint, wantOk, wantNext
      [StateReplicate, 5, 10, 5, 5, false, 10],
      [StateReplicate, 5, 10, 4, 4, false, 10],
      [StateReplicate, 5, 10, 9, 9, true, 6],
      [StateProbe, 0, 0, 0, 0, false, 0],
      [StateProbe, 0, 10, 5, 5, false, 10],
      [StateProbe, 0, 10, 9, 9, true, 9],
      [StateProbe, 0, 2, 1, 1, true, 1],
      [StateProbe, 0, 1, 0, 0, true, 1],
      [StateProbe, 0, 10, 9, 2, true, 3],
      [StateProbe, 0, 10, 9, 0, true, 1],
    ];
    for (const [i, [state, match, next, rejected, hint, wantOk, wantNext]] of cases.entries()) {
      const p = pr({ state, match, next });
      assert.equal(p.maybeDecrTo(rejected, hint), wantOk, `case ${i}`);
      assert.equal(p.match, match, `case ${i}`);
      assert.equal(p.next, wantNext, `case ${i}`);
    }
  });

  void it('sentEntries advances next and tracks inflights in StateReplicate', () => {
    const p = pr({ state: StateReplicate, match: 4, next: 5, inflights: new Inflights(2) });
    p.sentEntries(3, 30);
    assert.deepEqual([p.next, p.inflights.count(), p.msgAppFlowPaused], [8, 1, false]);
    p.sentEntries(0, 0); // an empty append does not use the window
    assert.deepEqual([p.next, p.inflights.count(), p.msgAppFlowPaused], [8, 1, false]);
    p.sentEntries(1, 10); // fills the window: the flow pauses
    assert.deepEqual([p.next, p.inflights.count(), p.msgAppFlowPaused], [9, 2, true]);
    assert.equal(p.toString(), 'StateReplicate match=4 next=9 paused inactive inflight=2[full]');
  });

  void it('sentEntries pauses a probe that carried entries', () => {
    const p = pr({ state: StateProbe, next: 3 });
    p.sentEntries(0, 0);
    assert.equal(p.msgAppFlowPaused, false);
    p.sentEntries(2, 5);
    assert.deepEqual([p.next, p.msgAppFlowPaused], [3, true]);
    assert.throws(
      () => pr({ state: StateSnapshot }).sentEntries(1, 1),
      /unhandled state StateSnapshot/,
    );
  });

  void it('canBumpCommit until the sent commit reaches next - 1', () => {
    const p = pr({ state: StateReplicate, match: 5, next: 10 });
    assert.equal(p.canBumpCommit(0), false);
    assert.equal(p.canBumpCommit(7), true);
    p.sentCommit(7);
    assert.equal(p.canBumpCommit(7), false);
    assert.equal(p.canBumpCommit(8), true);
    p.sentCommit(9);
    assert.equal(p.canBumpCommit(12), false);
    p.maybeDecrTo(9, 0);
    assert.deepEqual([p.next, p.sentCommitIdx], [6, 5]);
    // The commit already sent covers everything up to next - 1.
    assert.equal(p.canBumpCommit(6), false);
    p.maybeUpdate(8);
    assert.equal(p.canBumpCommit(6), true);
  });

  void it('resetForNewTerm keeps only isLearner', () => {
    const p = pr({
      state: StateSnapshot,
      match: 7,
      next: 9,
      pendingSnapshot: 8,
      recentActive: true,
      msgAppFlowPaused: true,
      sentCommitIdx: 8,
      isLearner: true,
    });
    p.resetForNewTerm(0, 21);
    assert.equal(p.toString(), 'StateProbe match=0 next=21 learner inactive');
    assert.equal(p.sentCommitIdx, 0);
  });

  void it('clone and the map helpers copy deeply and print ascending', () => {
    const m = new Map([
      [10, pr({ match: 1, next: 2, recentActive: true })],
      [2, pr({ match: 0, next: 1, isLearner: true })],
    ]);
    const c = cloneProgressMap(m);
    c.get(10)!.inflights.add(5, 1);
    c.get(2)!.match = 9;
    assert.equal(m.get(10)!.inflights.count(), 0);
    assert.equal(m.get(2)!.match, 0);
    assert.equal(
      progressMapString(m),
      '2: StateProbe match=0 next=1 learner inactive\n10: StateProbe match=1 next=2\n',
    );
  });
});
