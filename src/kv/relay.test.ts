// Membership changes sent to a member that does not lead: relayed to the leader over its
// client port (relay.ts, KvService.atLeader), on a cluster of three Nodes in this process.
import assert from 'node:assert/strict';
import { after, before, describe, mock, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { MemoryDurableStorage, MemoryNetwork, Node } from '../node/index.ts';
import type { PeerAddress } from '../node/index.ts';
import { asBuffer, codec, service } from './codec.ts';
import { GrpcCode } from './errors.ts';
import { clusterIdOf } from './local_backend.ts';
import { nodeBackend } from './node_backend.ts';
import { ForwardedHeader, GrpcRelay } from './relay.ts';
import { KvServer } from './server.ts';
import type { GrpcImpl } from './server.ts';
import { KvService, RelayErrorCode } from './service.ts';
import { KvStateMachine } from './state_machine.ts';
import { startStack, StubBackend, until } from './testing.ts';
import type { Member, ResponseHeader } from './types.ts';

interface Members {
  header: ResponseHeader;
  members: Member[];
}
interface Added extends Members {
  member: Member;
}

type Method = 'MemberAdd' | 'MemberRemove' | 'MemberPromote' | 'MemberList';

const clients = new Map<string, grpc.Client>();

/** call makes one Cluster call on the member at url; extra metadata as given. */
function call<Res>(url: string, method: Method, req: object, md: Record<string, string> = {}) {
  const host = new URL(url).host;
  const client = clients.get(host) ?? new grpc.Client(host, grpc.credentials.createInsecure());
  clients.set(host, client);
  const reqCodec = codec<object>(`etcdserverpb.${method}Request`);
  const resCodec = codec<Res>(`etcdserverpb.${method}Response`);
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise<Res>((resolve, reject) => {
    client.makeUnaryRequest<object, Res>(
      `/etcdserverpb.Cluster/${method}`,
      (m) => asBuffer(reqCodec.encode(m)),
      (b) => resCodec.decode(b),
      req,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, res) => (err === null && res !== undefined ? resolve(res) : reject(err ?? new Error())),
    );
  });
}

/** failure resolves with the status a call failed with. */
async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}

interface M {
  id: number;
  node: Node;
  service: KvService;
  server: KvServer;
  url: string;
}

const initial: PeerAddress[] = [1, 2, 3].map((id) => ({ id, address: `mem://${id}` }));

async function startMember(net: MemoryNetwork, id: number, address?: string): Promise<M> {
  const sm = new KvStateMachine();
  const node = await Node.start({
    id,
    storage: new MemoryDurableStorage(),
    transport: net.transport(id, address),
    stateMachine: sm,
    peers: initial,
    join: address !== undefined,
    tickMs: 10,
  });
  const backend = nodeBackend(node, {
    clusterId: clusterIdOf([1, 2, 3]),
    peerURLs: (m) => [`http://m${m}.test:2380`],
  });
  const service = new KvService({ backend, stateMachine: sm });
  const server = await KvServer.listen({ service, port: 0 });
  return { id, node, service, server, url: server.url };
}

async function stop(m: M): Promise<void> {
  await m.server.close();
  await m.node.close();
}

describe(
  'membership changes sent to a follower are relayed to the leader',
  { timeout: 60_000 },
  () => {
    const net = new MemoryNetwork();
    const members: M[] = [];

    /** leaderOf waits until every member names the same leader. */
    async function leaderOf(): Promise<{ leader: M; followers: M[] }> {
      let lead = 0;
      await until(
        () => {
          lead = members[0]?.service.backend.status().leader ?? 0;
          return lead !== 0 && members.every((m) => m.service.backend.status().leader === lead);
        },
        10_000,
        'one leader known by every member',
      );
      const leader = members.find((m) => m.id === lead) as M;
      return { leader, followers: members.filter((m) => m !== leader) };
    }

    /** everyList waits until MemberList on every member (over gRPC) satisfies ok. */
    async function everyList(ok: (ms: Member[]) => boolean, what: string): Promise<void> {
      let lists: Member[][] = [];
      const done = async () => {
        lists = await Promise.all(
          members.map((m) => call<Members>(m.url, 'MemberList', {}).then((r) => r.members)),
        );
        return lists.every(ok);
      };
      for (const deadline = Date.now() + 10_000; !(await done());) {
        if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(lists)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }

    before(async () => {
      for (const { id } of initial) members.push(await startMember(net, id));
      await Promise.all(members.map((m) => m.server.published()));
      await leaderOf();
    });

    after(async () => {
      mock.restoreAll();
      for (const c of clients.values()) c.close();
      clients.clear();
      await Promise.all(members.map(stop));
    });

    test('MemberAdd (learner, voter), MemberPromote and MemberRemove on followers', async () => {
      const { leader, followers } = await leaderOf();
      const [f1, f2] = followers as [M, M];
      // f1 hears the leader late: it answers only once it has applied the change all the same.
      net.delay(leader.id, f1.id, 60);
      const added = await call<Added>(f1.url, 'MemberAdd', {
        peerURLs: ['http://n4.test:2380'],
        isLearner: true,
      });
      assert.equal(added.header.memberId, leader.id, "the leader's answer");
      const x = added.member.ID;
      assert.equal(added.member.isLearner, true);
      assert.ok(added.members.some((m) => m.ID === x && m.isLearner));
      // The follower applied the change before it answered: its own list shows it at once.
      assert.equal(f1.service.members().find((m) => m.ID === x)?.isLearner, true);
      net.heal();
      await everyList((ms) => ms.some((m) => m.ID === x && m.isLearner), 'learner listed');

      // The learner starts, catches up and is promoted through the other follower.
      const learner = await startMember(net, x, 'n4.test:2380');
      try {
        let promoted: Members | undefined;
        const notReady =
          'etcdserver: can only promote a learner member which is in sync with leader';
        for (const deadline = Date.now() + 10_000; promoted === undefined;) {
          try {
            promoted = await call<Members>(f2.url, 'MemberPromote', { ID: x });
          } catch (err) {
            if ((err as grpc.ServiceError).details !== notReady || Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        assert.equal(promoted.header.memberId, leader.id);
        assert.equal(f2.service.members().find((m) => m.ID === x)?.isLearner, false);
        await everyList(
          (ms) => ms.some((m) => m.ID === x && !m.isLearner),
          'promoted voter listed',
        );

        const voter = await call<Added>(f2.url, 'MemberAdd', { peerURLs: ['http://n5.test:2380'] });
        const y = voter.member.ID;
        assert.equal(voter.member.isLearner, false);
        await everyList((ms) => ms.some((m) => m.ID === y && !m.isLearner), 'voter listed');

        for (const id of [y, x]) {
          const removed = await call<Members>(f1.url, 'MemberRemove', { ID: id });
          assert.equal(removed.header.memberId, leader.id);
          assert.ok(!removed.members.some((m) => m.ID === id));
          assert.ok(!f1.service.members().some((m) => m.ID === id));
        }
        await everyList((ms) => ms.length === 3, 'back to three members');
      } finally {
        await stop(learner);
      }
    });

    test("a follower answers a bad request with the leader's error, unchanged", async () => {
      const { leader, followers } = await leaderOf();
      const f = followers[0] as M;
      const spies = members.map((m) => ({
        m,
        add: mock.method(m.service, 'memberAdd'),
        remove: mock.method(m.service, 'memberRemove'),
        promote: mock.method(m.service, 'memberPromote'),
      }));
      const cases: [Method, object, { code: number; details: string }][] = [
        [
          'MemberAdd',
          { peerURLs: ['not a url'] },
          { code: GrpcCode.INVALID_ARGUMENT, details: 'raftkv: peer URL "not a url" is invalid' },
        ],
        [
          'MemberAdd',
          { peerURLs: [`http://m${leader.id}.test:2380`] },
          { code: GrpcCode.FAILED_PRECONDITION, details: 'etcdserver: Peer URLs already exists' },
        ],
        [
          'MemberRemove',
          { ID: 12345 },
          { code: GrpcCode.NOT_FOUND, details: 'etcdserver: member not found' },
        ],
        [
          'MemberPromote',
          { ID: f.id },
          {
            code: GrpcCode.FAILED_PRECONDITION,
            details: 'etcdserver: can only promote a learner member',
          },
        ],
      ];
      for (const [method, req, want] of cases) {
        assert.deepEqual(
          await failure(call(leader.url, method, req)),
          want,
          `${method} on the leader`,
        );
        assert.deepEqual(await failure(call(f.url, method, req)), want, `${method} on a follower`);
      }
      // The leader served all of them, twice each; the followers none.
      for (const s of spies) {
        const n = s.add.mock.callCount() + s.remove.mock.callCount() + s.promote.mock.callCount();
        assert.equal(n, s.m === leader ? 2 * cases.length : 0, `member ${s.m.id}`);
      }
      mock.restoreAll();
    });

    test('a relayed call that reaches a member that does not lead answers not leader', async () => {
      const { followers } = await leaderOf();
      const f = followers[0] as M;
      const req = { peerURLs: ['http://n6.test:2380'], isLearner: true };
      assert.deepEqual(await failure(call(f.url, 'MemberAdd', req, { [ForwardedHeader]: '9' })), {
        code: GrpcCode.FAILED_PRECONDITION,
        details: 'etcdserver: not leader',
      });
      assert.deepEqual(
        await failure(call(f.url, 'MemberRemove', { ID: 1 }, { [ForwardedHeader]: '9' })),
        {
          code: GrpcCode.FAILED_PRECONDITION,
          details: 'etcdserver: not leader',
        },
      );
      for (const m of members) assert.equal(m.service.members().length, 3);
    });
  },
);

describe('GrpcRelay', { timeout: 30_000 }, () => {
  const method = service('Cluster').MemberList as Parameters<GrpcRelay['unary']>[0]['method'];
  const raw = new Uint8Array();

  test('a leader that does not accept connections is unreachable; close() ends the relay', async () => {
    const stack = await startStack();
    const url = stack.url;
    await stack.close();
    const relay = new GrpcRelay({ from: 1 });
    const signal = new AbortController().signal;
    const r = { leader: { id: 2, clientURLs: [url] }, method, raw, timeoutMs: 2000, signal };
    await assert.rejects(relay.unary(r), { code: RelayErrorCode.Unreachable });
    assert.equal(relay.size, 0, 'the failed channel is dropped');
    const none = { ...r, leader: { id: 2, clientURLs: [] } };
    await assert.rejects(relay.unary(none), { code: RelayErrorCode.Unreachable });
    relay.close();
    await assert.rejects(relay.unary(r), { message: 'etcdserver: server stopped' });
  });
});

// Every gRPC server reads the relay marker.
const impls: readonly GrpcImpl[] = ['h2', 'http2', 'grpc-js'];
for (const impl of impls) {
  describe(`relay marker and an unreachable leader (${impl})`, { timeout: 30_000 }, () => {
    test('marked: not leader at once; unmarked: retried until the request timeout', async () => {
      let be: StubBackend | undefined;
      const stack = await startStack({
        backend: (sm) => (be = new StubBackend(sm)),
        service: { requestTimeoutMs: 300 },
        server: { grpc: { impl }, publish: false },
      });
      try {
        (be as StubBackend).setLeader(8);
        const req = { peerURLs: ['http://n9.test:2380'] };
        const marked = call(stack.url, 'MemberAdd', req, { [ForwardedHeader]: '3' });
        assert.deepEqual(await failure(marked), {
          code: GrpcCode.FAILED_PRECONDITION,
          details: 'etcdserver: not leader',
        });
        // Leader 8 published no client URL: unreachable until the request times out.
        const t0 = performance.now();
        assert.deepEqual(await failure(call(stack.url, 'MemberAdd', req)), {
          code: GrpcCode.UNAVAILABLE,
          details: 'etcdserver: request timed out',
        });
        assert.ok(performance.now() - t0 >= 250);
      } finally {
        await stack.close();
      }
    });
  });
}
