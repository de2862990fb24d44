import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import type { ConfState } from '../raftpb/types.ts';
import { ProgressTracker } from '../tracker/tracker.ts';
import { progressMapString } from '../tracker/progress.ts';
import { Changer, ConfChangeError } from './confchange.ts';
import { restore, toConfChangeSingle } from './restore.ts';

function confState(p: Partial<ConfState>): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...p };
}

function sorted(cs: ConfState): ConfState {
  const s = (ids: number[]) => [...ids].sort((a, b) => a - b);
  return {
    voters: s(cs.voters),
    learners: s(cs.learners),
    votersOutgoing: s(cs.votersOutgoing),
    learnersNext: s(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
}

/**
 * arbConfState generates valid ConfStates: 1-5 voters, 0-4 learners, and possibly an
 * outgoing config made of some incoming voters plus 0-2 removed voters, some of which are
 * being demoted (learnersNext). Ids are distinct and unordered.
 */
const arbConfState: fc.Arbitrary<ConfState> = fc
  .record({
    nVoters: fc.integer({ min: 1, max: 5 }),
    nLearners: fc.integer({ min: 0, max: 4 }),
    nRemoved: fc.integer({ min: 0, max: 2 }),
  })
  .chain(({ nVoters, nLearners, nRemoved }) => {
    const pool = Array.from({ length: 2 * (nVoters + nLearners + nRemoved) }, (_, i) => i + 1);
    return fc.record({
      ids: fc.shuffledSubarray(pool, { minLength: pool.length, maxLength: pool.length }),
      nRetained: fc.integer({ min: 0, max: nVoters }),
      nLearnersNext: fc.integer({ min: 0, max: nRemoved }),
      autoLeave: fc.boolean(),
      nVoters: fc.constant(nVoters),
      nLearners: fc.constant(nLearners),
      nRemoved: fc.constant(nRemoved),
    });
  })
  .map((g) => {
    const voters = g.ids.slice(0, g.nVoters);
    const learners = g.ids.slice(g.nVoters, g.nVoters + g.nLearners);
    const removed = g.ids.slice(g.nVoters + g.nLearners, g.nVoters + g.nLearners + g.nRemoved);
    const votersOutgoing = [...voters.slice(0, g.nRetained), ...removed];
    return confState({
      voters,
      learners,
      votersOutgoing,
      learnersNext: removed.slice(0, g.nLearnersNext),
      autoLeave: votersOutgoing.length > 0 && g.autoLeave,
    });
  });

function roundTrip(cs: ConfState): void {
  const t = new ProgressTracker(20);
  const [cfg, prs] = restore(new Changer(t, 10), cs);
  // The changer's tracker is left as it was.
  assert.equal(t.config.toString(), 'voters=()');
  assert.equal(t.progress.size, 0);
  t.config = cfg;
  t.progress = prs;
  assert.deepEqual(t.confState(), sorted(cs));
}

void describe('restore', () => {
  void it('rebuilds the hand-picked ConfStates', () => {
    for (const cs of [
      confState({}),
      confState({ voters: [1, 2, 3] }),
      confState({ voters: [1, 2, 3], learners: [4, 5, 6] }),
      confState({
        voters: [1, 2, 3],
        learners: [5],
        votersOutgoing: [1, 2, 4, 6],
        learnersNext: [4],
      }),
      confState({ voters: [3, 1], votersOutgoing: [2], autoLeave: true }),
    ]) {
      roundTrip(cs);
    }
  });

  void it('rebuilds any valid ConfState', () => {
    fc.assert(fc.property(arbConfState, roundTrip), { numRuns: 1000 });
  });

  void it('plans outgoing voters first, then the incoming changes', () => {
    const plan = toConfChangeSingle(
      confState({
        voters: [1, 2, 3],
        learners: [5],
        votersOutgoing: [1, 2, 4, 6],
        learnersNext: [4],
      }),
    );
    const letters = (ccs: { type: number; nodeId: number }[]) =>
      ccs.map((cc) => `${'vrul'[cc.type]}${cc.nodeId}`).join(' ');
    assert.equal(letters(plan.outgoing), 'v1 v2 v4 v6');
    assert.equal(letters(plan.incoming), 'r1 r2 r4 r6 v1 v2 v3 l5 l4');
  });

  void it('gives new progresses the changer’s last index', () => {
    const [, prs] = restore(
      new Changer(new ProgressTracker(20), 10),
      confState({ voters: [2, 1], learners: [3] }),
    );
    assert.equal(
      progressMapString(prs),
      '1: StateProbe match=0 next=10\n2: StateProbe match=0 next=10\n3: StateProbe match=0 next=10 learner\n',
    );
  });

  void it('refuses an inconsistent ConfState', () => {
    // A voter that is also a learner ends up as a learner only, which then removes all voters.
    assert.throws(
      () =>
        restore(new Changer(new ProgressTracker(20), 1), confState({ voters: [1], learners: [1] })),
      ConfChangeError,
    );
  });
});
