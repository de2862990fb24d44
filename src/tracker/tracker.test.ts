import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { JointConfig } from '../quorum/joint.ts';
import { MajorityConfig } from '../quorum/majority.ts';
import { VoteResult } from '../quorum/quorum.ts';
import { Inflights } from './inflights.ts';
import { Progress } from './progress.ts';
import { ProgressTracker, TrackerConfig } from './tracker.ts';

function joint(incoming: number[], outgoing: number[] = []): JointConfig {
  return new JointConfig(new MajorityConfig(incoming), new MajorityConfig(outgoing));
}

/** tracker builds a tracker whose progress map matches the config. */
function tracker(cfg: TrackerConfig, match: Record<number, number> = {}): ProgressTracker {
  const t = new ProgressTracker(10);
  t.config = cfg;
  for (const id of [...cfg.voters.ids(), ...(cfg.learners ?? [])]) {
    const isLearner = cfg.learners?.has(id) === true;
    const m = match[id] ?? 0;
    t.progress.set(
      id,
      new Progress({ match: m, next: m + 1, inflights: new Inflights(10), isLearner }),
    );
  }
  return t;
}

void describe('TrackerConfig', () => {
  void it('prints in the etcd format', () => {
    assert.equal(new TrackerConfig().toString(), 'voters=()');
    const c = new TrackerConfig({
      voters: joint([1, 2, 3], [1]),
      learners: [11],
      learnersNext: [3, 2],
      autoLeave: true,
    });
    assert.equal(c.toString(), 'voters=(1 2 3)&&(1) learners=(b) learners_next=(2 3) autoleave');
  });

  void it('normalises empty learner sets to undefined and clones deeply', () => {
    const c = new TrackerConfig({ voters: joint([1]), learners: [], learnersNext: new Set() });
    assert.equal(c.learners, undefined);
    assert.equal(c.learnersNext, undefined);
    const d = new TrackerConfig({ voters: joint([1], [2]), learners: [3], autoLeave: true });
    const e = d.clone();
    e.voters.incoming.add(4);
    e.learners!.add(5);
    assert.equal(d.toString(), 'voters=(1)&&(2) learners=(3) autoleave');
    assert.equal(e.toString(), 'voters=(1 4)&&(2) learners=(3 5) autoleave');
  });
});

void describe('ProgressTracker', () => {
  void it('confState lists are sorted', () => {
    const t = tracker(
      new TrackerConfig({ voters: joint([3, 1, 2], [4, 1]), learners: [9, 7], learnersNext: [4] }),
    );
    assert.deepEqual(t.confState(), {
      voters: [1, 2, 3],
      votersOutgoing: [1, 4],
      learners: [7, 9],
      learnersNext: [4],
      autoLeave: false,
    });
    assert.deepEqual(tracker(new TrackerConfig()).confState(), {
      voters: [],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    });
  });

  void it('isSingleton, voterNodes, learnerNodes', () => {
    assert.equal(tracker(new TrackerConfig({ voters: joint([1]) })).isSingleton(), true);
    assert.equal(tracker(new TrackerConfig({ voters: joint([1], [2]) })).isSingleton(), false);
    assert.equal(tracker(new TrackerConfig({ voters: joint([1, 2]) })).isSingleton(), false);
    const t = tracker(new TrackerConfig({ voters: joint([5, 1], [3, 1]), learners: [8, 6] }));
    assert.deepEqual(t.voterNodes(), [1, 3, 5]);
    assert.deepEqual(t.learnerNodes(), [6, 8]);
    assert.deepEqual(tracker(new TrackerConfig()).learnerNodes(), []);
  });

  void it('committed follows the match indexes of a joint quorum', () => {
    const t = tracker(new TrackerConfig({ voters: joint([1, 2, 3], [3, 4, 5]), learners: [6] }), {
      1: 10,
      2: 8,
      3: 7,
      4: 3,
      5: 9,
      6: 100,
    });
    // Incoming (1 2 3) commits 8, outgoing (3 4 5) commits 7.
    assert.equal(t.committed(), 7);
    t.progress.get(4)!.match = 9;
    assert.equal(t.committed(), 8);
    assert.equal(tracker(new TrackerConfig()).committed(), Infinity);
  });

  void it('visit goes in ascending id order, also with many peers', () => {
    for (const n of [3, 40]) {
      const ids = Array.from({ length: n }, (_, i) => (i * 7919) % 101);
      const t = tracker(new TrackerConfig({ voters: joint(ids) }));
      const seen: number[] = [];
      t.visit((id) => seen.push(id));
      assert.deepEqual(
        seen,
        [...ids].sort((a, b) => a - b),
      );
    }
  });

  void it('visit survives nesting and removals', () => {
    const t = tracker(new TrackerConfig({ voters: joint([3, 1, 2]) }));
    const pairs: string[] = [];
    t.visit((a) => t.visit((b) => pairs.push(`${a}${b}`)));
    assert.deepEqual(pairs, ['11', '12', '13', '21', '22', '23', '31', '32', '33']);
    const seen: number[] = [];
    t.visit((id) => {
      seen.push(id);
      t.progress.delete(3);
    });
    assert.deepEqual(seen, [1, 2]);
  });

  void it('quorumActive counts recently active voters only', () => {
    const t = tracker(new TrackerConfig({ voters: joint([1, 2, 3]), learners: [4] }));
    t.progress.get(1)!.recentActive = true;
    t.progress.get(4)!.recentActive = true;
    assert.equal(t.quorumActive(), false);
    t.progress.get(3)!.recentActive = true;
    assert.equal(t.quorumActive(), true);
  });

  void it('records the first vote per peer and tallies current voters', () => {
    const t = tracker(new TrackerConfig({ voters: joint([1, 2, 3, 4, 5]), learners: [6] }));
    t.recordVote(1, true);
    t.recordVote(1, false);
    t.recordVote(2, false);
    t.recordVote(6, true); // learner: not counted
    t.recordVote(9, true); // unknown peer: not counted
    assert.deepEqual(t.tallyVotes(), { granted: 1, rejected: 1, result: VoteResult.VotePending });
    t.recordVote(3, true);
    t.recordVote(4, true);
    assert.deepEqual(t.tallyVotes(), { granted: 3, rejected: 1, result: VoteResult.VoteWon });
    t.resetVotes();
    assert.deepEqual(t.tallyVotes(), { granted: 0, rejected: 0, result: VoteResult.VotePending });
  });
});
