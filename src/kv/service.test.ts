import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeCommand } from './command.ts';
import { Etcd, GrpcCode, KvError } from './errors.ts';
import { KvService, MaxRelayHops, RelayErrorCode } from './service.ts';
import type { LeaderAddress } from './service.ts';
import { KvStateMachine } from './state_machine.ts';
import { op, putReq, rangeReq, StubBackend, until } from './testing.ts';

function setup(requestTimeoutMs = 200) {
  const sm = new KvStateMachine();
  const be = new StubBackend(sm);
  const svc = new KvService({ backend: be, stateMachine: sm, requestTimeoutMs });
  return { sm, be, svc };
}

function unavailable(message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof KvError, String(err));
    assert.equal(err.code, GrpcCode.UNAVAILABLE);
    assert.match(err.message, message);
    return true;
  };
}

describe('KvService', { timeout: 30_000 }, () => {
  test('responses carry cluster_id, member_id, revision and raft_term', async () => {
    const { svc } = setup();
    const r = await svc.put(putReq('a', '1'));
    assert.deepEqual(r.header, { clusterId: 99, memberId: 7, revision: 2, raftTerm: 3 });
    const g = await svc.range(rangeReq('a'));
    assert.deepEqual(g.header, { clusterId: 99, memberId: 7, revision: 2, raftTerm: 3 });
  });

  test('with no leader, writes and linearizable reads fail UNAVAILABLE after the timeout', async () => {
    const { be, svc } = setup(100);
    be.setLeader(0);
    const t0 = Date.now();
    await assert.rejects(svc.put(putReq('a', '1')), unavailable(/^etcdserver: no leader$/));
    await assert.rejects(svc.range(rangeReq('a')), unavailable(/no leader/));
    const took = Date.now() - t0;
    assert.ok(took >= 190 && took < 2000, `took ${took} ms`);
    // A serializable read does not need a leader.
    assert.equal((await svc.range(rangeReq('a', { serializable: true }))).count, 0);
    assert.equal(svc.status().errors[0], 'etcdserver: no leader');
  });

  test('a request waiting for a leader goes on once one is elected', async () => {
    const { be, svc } = setup(5000);
    be.setLeader(0);
    const p = svc.put(putReq('a', '1'));
    await until(() => be.proposals === 0);
    setImmediate(() => be.setLeader(7));
    assert.equal((await p).header?.revision, 2);
  });

  test('dropped proposals are retried until one is applied (exactly once)', async () => {
    const { be, sm, svc } = setup(5000);
    be.dropNext = 3;
    const r = await svc.put(putReq('a', '1'));
    assert.equal(be.proposals, 4);
    assert.equal(r.header?.revision, 2);
    assert.equal(sm.revision, 2);
  });

  test('a slow proposal times out with "request timed out"', async () => {
    const { be, svc } = setup(100);
    be.hold();
    await assert.rejects(svc.put(putReq('a', '1')), unavailable(/^etcdserver: request timed out$/));
    be.release();
  });

  test('a caller that aborts gets its own reason, not a KvError', async () => {
    const { be, svc } = setup(5000);
    be.hold();
    const ac = new AbortController();
    const p = svc.txn(
      {
        compare: [],
        success: [op({ put: putReq('a', '1') }), op({ put: putReq('b', '1') })],
        failure: [],
      },
      { signal: ac.signal },
    );
    await until(() => be.proposals === 1);
    ac.abort(new Error('client went away'));
    await assert.rejects(p, /client went away/);
    be.release();
  });

  test('read-only txns are served without a proposal', async () => {
    const { be, svc } = setup();
    await svc.put(putReq('a', '1'));
    const r = await svc.txn({ compare: [], success: [op({ range: rangeReq('a') })], failure: [] });
    assert.equal(r.succeeded, true);
    assert.equal(be.proposals, 1);
  });

  test('member and leader operations map backend errors to etcd errors', async () => {
    const { svc } = setup();
    await assert.rejects(svc.memberRemove(12345), {
      code: GrpcCode.NOT_FOUND,
      message: 'etcdserver: member not found',
    });
    await assert.rejects(svc.memberPromote(7), {
      message: 'etcdserver: can only promote a learner member',
    });
    await assert.rejects(svc.memberAdd(['http://127.0.0.1:1'], false), {
      message: 'etcdserver: Peer URLs already exists',
    });
    await assert.rejects(svc.memberAdd(['not a url'], false), { code: GrpcCode.INVALID_ARGUMENT });
    await assert.rejects(svc.memberAdd(['http://x:2'], false), {
      code: GrpcCode.FAILED_PRECONDITION,
      message: 'etcdserver: not leader',
    });
    await assert.rejects(svc.moveLeader(8), { message: 'etcdserver: bad leader transferee' });
  });

  describe('atLeader: leader-only requests on a member that does not lead', () => {
    const here = () => Promise.resolve('here');
    const notLeader = { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: not leader' };
    const unreachable = Object.assign(new Error('no route'), { code: RelayErrorCode.Unreachable });

    test('the leader serves them itself; a follower relays them to the leader it knows', async () => {
      const { be, sm, svc } = setup();
      const seen: LeaderAddress[] = [];
      const relay = (l: LeaderAddress) => {
        seen.push(l);
        return Promise.resolve('relayed');
      };
      assert.equal(await svc.atLeader({}, here, relay), 'here');
      sm.applyData(
        encodeCommand({ memberAttributes: { id: 8, name: 'b', clientUrls: ['http://b:1'] } }),
      );
      be.setLeader(8);
      assert.equal(await svc.atLeader({}, here, relay), 'relayed');
      assert.deepEqual(seen, [{ id: 8, clientURLs: ['http://b:1'] }]);
      assert.equal(await svc.atLeader({}, here, undefined), 'here', 'no relay: served here');
    });

    test('a relayed request is not relayed again', async () => {
      const { be, svc } = setup();
      be.setLeader(8);
      let calls = 0;
      const relay = () => Promise.resolve(String(++calls));
      await assert.rejects(svc.atLeader({ forwarded: true }, here, relay), notLeader);
      assert.equal(calls, 0);
      be.setLeader(7);
      assert.equal(await svc.atLeader({ forwarded: true }, here, relay), 'here');
    });

    test('"not leader" from the leader is retried, at most MaxRelayHops times', async () => {
      const { be, svc } = setup(2000);
      be.setLeader(8);
      let calls = 0;
      const relay = () => {
        calls++;
        return Promise.reject(Etcd.notLeader());
      };
      await assert.rejects(svc.atLeader({}, here, relay), notLeader);
      assert.equal(calls, MaxRelayHops);
    });

    test('an unreachable leader is tried again until it answers or another leads', async () => {
      const { be, svc } = setup(2000);
      be.setLeader(8);
      const to: number[] = [];
      const relay = (l: LeaderAddress) => {
        to.push(l.id);
        if (to.length < 3) return Promise.reject(unreachable);
        be.setLeader(7);
        return Promise.reject(Etcd.notLeader());
      };
      // Twice unreachable, then "not leader" as this member takes over: served here.
      assert.equal(await svc.atLeader({}, here, relay), 'here');
      assert.deepEqual(to, [8, 8, 8]);
    });

    test("the leader's errors are the answer, unchanged", async () => {
      const { be, svc } = setup();
      be.setLeader(8);
      let calls = 0;
      const relay = () => {
        calls++;
        return Promise.reject(new KvError(GrpcCode.NOT_FOUND, 'etcdserver: member not found'));
      };
      await assert.rejects(svc.atLeader({}, here, relay), {
        code: GrpcCode.NOT_FOUND,
        message: 'etcdserver: member not found',
      });
      assert.equal(calls, 1);
    });

    test('without a leader they wait for one, and fail as a put does', async () => {
      const { be, svc } = setup(150);
      be.setLeader(0);
      let calls = 0;
      const relay = () => Promise.resolve(String(++calls));
      await assert.rejects(svc.atLeader({}, here, relay), unavailable(/^etcdserver: no leader$/));
      const p = svc.atLeader({}, here, relay);
      setTimeout(() => be.setLeader(8), 20);
      assert.equal(await p, '1');
      // A leader that stays unreachable: the request times out like a put.
      const never = () => Promise.reject(unreachable);
      await assert.rejects(svc.atLeader({}, here, never), unavailable(/request timed out/));
    });
  });
});
