import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import type { ConfChangeSingle } from '../raftpb/types.ts';
import { ConfChangeType } from '../raftpb/types.ts';
import { progressMapString } from '../tracker/progress.ts';
import { ProgressTracker } from '../tracker/tracker.ts';
import type { ChangeResult } from './confchange.ts';
import { Changer, ConfChangeError, describeChanges } from './confchange.ts';

const { ConfChangeAddNode, ConfChangeRemoveNode, ConfChangeUpdateNode, ConfChangeAddLearnerNode } =
  ConfChangeType;
const v = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeAddNode, nodeId });
const l = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeAddLearnerNode, nodeId });
const r = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeRemoveNode, nodeId });

/** show renders a tracker state the way the datadriven files do. */
function show([cfg, prs]: ChangeResult): string {
  return `${cfg.toString()}\n${progressMapString(prs)}`;
}

/** install makes result the tracker's state. */
function install(t: ProgressTracker, [cfg, prs]: ChangeResult): void {
  t.config = cfg;
  t.progress = prs;
}

function refused(f: () => unknown, message: string): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof ConfChangeError);
    assert.equal(err.code, 'ERR_CONF_CHANGE');
    assert.equal(err.message, message);
    return true;
  });
}

void describe('Changer', () => {
  void it('refuses invalid changes with etcd’s messages', () => {
    const t = new ProgressTracker(10);
    const c = new Changer(t, 0);
    refused(() => c.simple(v(0)), 'removed all voters');
    refused(() => c.enterJoint(false, v(1)), "can't make a zero-voter config joint");
    refused(() => c.leaveJoint(), "can't leave a non-joint config");
    refused(
      () => c.simple(v(1), v(2)),
      'more than one voter changed without entering joint config',
    );
    install(t, c.simple(v(1)));
    refused(() => c.simple(r(1)), 'removed all voters');
    refused(() => c.simple({ type: 7 as ConfChangeType, nodeId: 2 }), 'unexpected conf type 7');
    install(t, c.enterJoint(true, v(2), v(3)));
    refused(() => c.enterJoint(false), 'config is already joint');
    refused(() => c.simple(v(4)), "can't apply simple config change in joint config");
  });

  void it('does not modify the tracker it reads', () => {
    const t = new ProgressTracker(10);
    const c = new Changer(t, 5);
    install(t, c.simple(v(1)));
    install(t, c.simple(v(2)));
    install(t, c.simple(l(3)));
    const before = show([t.config, t.progress]);
    const progress = t.progress;
    const pr1 = t.progress.get(1)!;
    const result = c.enterJoint(false, l(2), r(3), v(4));
    assert.equal(show([t.config, t.progress]), before);
    assert.equal(t.progress, progress);
    assert.notEqual(result[1].get(1), pr1);
    assert.equal(
      show(result),
      'voters=(1 4)&&(1 2) learners_next=(2)\n' +
        '1: StateProbe match=0 next=5\n' +
        '2: StateProbe match=0 next=5\n' +
        '4: StateProbe match=0 next=5\n',
    );
    result[1].get(1)!.inflights.add(1, 1);
    assert.equal(pr1.inflights.count(), 0);
  });

  void it('new peers start at max(lastIndex, 1) with the tracker limits', () => {
    const t = new ProgressTracker(3, 100);
    const [, prs] = new Changer(t, 0).simple(v(1));
    const pr = prs.get(1)!;
    assert.deepEqual([pr.match, pr.next, pr.recentActive], [0, 1, true]);
    assert.equal(pr.inflights.size, 3);
    assert.equal(pr.inflights.maxBytes, 100);
    assert.equal(new Changer(t, 7).simple(v(1))[1].get(1)!.next, 7);
  });

  void it('leaveJoint turns staged learners into learners and drops removed voters', () => {
    const t = new ProgressTracker(10);
    const c = new Changer(t, 1);
    for (const cc of [v(1), v(2), v(3)]) install(t, c.simple(cc));
    install(t, c.enterJoint(false, l(2), r(3), ...[{ type: ConfChangeUpdateNode, nodeId: 1 }]));
    assert.equal(t.config.toString(), 'voters=(1)&&(1 2 3) learners_next=(2)');
    install(t, c.leaveJoint());
    assert.equal(
      show([t.config, t.progress]),
      'voters=(1) learners=(2)\n1: StateProbe match=0 next=1\n2: StateProbe match=0 next=1 learner\n',
    );
  });

  void it('describes changes', () => {
    assert.equal(describeChanges([v(1), r(2)]), 'ConfChangeAddNode(1) ConfChangeRemoveNode(2)');
  });

  void it('simple changes one at a time equal one joint change', () => {
    // Node 1 is always a voter and never changed, so neither path can lose all voters.
    const arbSetup = fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 5 });
    const arbType = fc.constantFrom(
      ConfChangeAddNode,
      ConfChangeRemoveNode,
      ConfChangeUpdateNode,
      ConfChangeAddLearnerNode,
    );
    const arbChanges = fc.array(
      fc.record({ type: arbType, nodeId: fc.integer({ min: 2, max: 10 }) }),
      { minLength: 1, maxLength: 9 },
    );
    fc.assert(
      fc.property(arbSetup, arbChanges, (setupIds, ccs) => {
        const start = (): [ProgressTracker, Changer] => {
          const t = new ProgressTracker(10);
          const c = new Changer(t, 10);
          for (const id of [1, ...setupIds]) install(t, c.simple(v(id)));
          return [t, c];
        };
        const [ts, cs] = start();
        for (const cc of ccs) install(ts, cs.simple(cc));

        const [tj, cj] = start();
        const joined = cj.enterJoint(false, ...ccs);
        const joinedAuto = cj.enterJoint(true, ...ccs);
        assert.equal(joinedAuto[0].autoLeave, true);
        joinedAuto[0].autoLeave = false;
        assert.equal(show(joinedAuto), show(joined));
        install(tj, joined);
        install(tj, cj.leaveJoint());

        assert.equal(
          show([tj.config, tj.progress]),
          show([ts.config, ts.progress]),
          describeChanges(ccs),
        );
        assert.deepEqual(tj.confState(), ts.confState());
      }),
      { numRuns: 1000 },
    );
  });
});
