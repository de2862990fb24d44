import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeCommand } from './command.ts';
import { clusterIdOf, LocalBackend } from './local_backend.ts';
import { KvStateMachine } from './state_machine.ts';
import { putReq, rangeReq, str } from './testing.ts';
import type { PutResponse } from './types.ts';

const putCmd = (k: string, v: string) => encodeCommand({ put: putReq(k, v) });

describe('LocalBackend', { timeout: 30_000 }, () => {
  test('starts as leader and applies proposals in order, resolving with their results', async () => {
    const sm = new KvStateMachine();
    const be = await LocalBackend.start({ stateMachine: sm, id: 3, peerURLs: ['http://p:1'] });
    assert.equal(be.status().leader, 3);
    const results = (await Promise.all([
      be.propose(putCmd('a', '1')),
      be.propose(putCmd('a', '2')),
      be.propose(putCmd('b', '1')),
    ])) as PutResponse[];
    assert.deepEqual(
      results.map((r) => r.header?.revision),
      [2, 3, 4],
    );
    await be.readIndex();
    assert.equal(str(sm.range(rangeReq('a')).kvs[0]?.value), '2');
    const st = be.status();
    assert.equal(st.appliedIndex, st.commitIndex);
    assert.deepEqual(be.members(), [{ id: 3, peerURLs: ['http://p:1'], isLearner: false }]);
    assert.equal(be.clusterId, clusterIdOf([3]));
    await be.close();
  });

  test('snapshots the state machine every snapshotInterval entries', async () => {
    const sm = new KvStateMachine();
    let snapshots = 0;
    const counting = Object.assign(Object.create(sm) as KvStateMachine, {
      snapshot: () => {
        snapshots++;
        return sm.snapshot();
      },
      apply: sm.apply.bind(sm),
    });
    const be = await LocalBackend.start({
      stateMachine: counting,
      snapshotInterval: 5,
      compactionMargin: 2,
    });
    for (let i = 0; i < 12; i++) await be.propose(putCmd(`k${i}`, 'v'));
    assert.ok(snapshots >= 2, `took ${snapshots} snapshots`);
    await be.close();
  });

  test('an aborted proposal rejects with the reason; close rejects the rest', async () => {
    const sm = new KvStateMachine();
    const be = await LocalBackend.start({ stateMachine: sm });
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    await assert.rejects(be.propose(putCmd('a', '1'), { signal: ac.signal }), /gone/);
    await be.close();
    await assert.rejects(be.propose(putCmd('a', '1')), { code: 'ERR_NODE_CLOSED' });
    await assert.rejects(be.readIndex(), { code: 'ERR_NODE_CLOSED' });
  });

  test('learners can be added and removed; a learner that never caught up is not promoted', async () => {
    const sm = new KvStateMachine();
    const be = await LocalBackend.start({ stateMachine: sm });
    await be.addMember(9, ['http://l:9'], { learner: true });
    assert.deepEqual(be.members()[1], { id: 9, peerURLs: ['http://l:9'], isLearner: true });
    await assert.rejects(be.promoteMember(9), { code: 'ERR_LEARNER_NOT_READY' });
    await be.removeMember(9);
    assert.equal(be.members().length, 1);
    await assert.rejects(be.removeMember(1), RangeError);
    await be.close();
  });
});
