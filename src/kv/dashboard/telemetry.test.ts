// Telemetry on a 3-member in-memory cluster: the events the dashboard lists (elections,
// leadership transfers, configuration changes, snapshots), the leader's view of its
// followers, the samples, and the wrappers' timings.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryDurableStorage, MemoryNetwork, Node } from '../../node/index.ts';
import type { Message } from '../../raftpb/types.ts';
import { MessageType, newMessage } from '../../raftpb/types.ts';
import { OpenMode } from '../../wal/fs.ts';
import type { WalFile, WalFS } from '../../wal/fs.ts';
import { clusterIdOf } from '../local_backend.ts';
import { nodeBackend } from '../node_backend.ts';
import { KvService } from '../service.ts';
import { KvStateMachine } from '../state_machine.ts';
import { putReq, until } from '../testing.ts';
import type { RaftEvent, Sample } from './protocol.ts';
import { percentile, Telemetry } from './telemetry.ts';
import { PeerTraffic, timedWalFS } from './traffic.ts';

interface Member {
  node: Node;
  service: KvService;
  telemetry: Telemetry;
  events: RaftEvent[];
  samples: Sample[];
}

const ids = [1, 2, 3];

describe('Telemetry of a 3-member cluster', { timeout: 30_000 }, () => {
  const members: Member[] = [];
  const net = new MemoryNetwork();
  const byId = (id: number) => members.find((m) => m.node.id === id) as Member;
  const leader = () => members.find((m) => m.node.isLeader);

  before(async () => {
    for (const id of ids) {
      const telemetry = new Telemetry({ sampleIntervalMs: 50, controlUrl: 'http://ctl' });
      const sm = new KvStateMachine();
      const node = await Node.start({
        id,
        storage: new MemoryDurableStorage(),
        transport: telemetry.transport(net.transport(id)),
        stateMachine: sm,
        peers: ids.map((p) => ({ id: p, address: `mem://${p}` })),
        tickMs: 10,
        snapshotInterval: 15,
        compactionMargin: 2,
      });
      const service = new KvService({
        backend: nodeBackend(node, { clusterId: clusterIdOf(ids) }),
        stateMachine: sm,
      });
      telemetry.attach({ node, service });
      const m: Member = { node, service, telemetry, events: [], samples: [] };
      telemetry.subscribe((type, data) => {
        if (type === 'event') m.events.push(data as RaftEvent);
        if (type === 'sample') m.samples.push(data as Sample);
      });
      members.push(m);
    }
    await until(() => leader() !== undefined, 10_000, 'a leader');
  });

  after(async () => {
    for (const m of members) await m.node.close();
    for (const m of members) m.telemetry.close();
  });

  test('every member reports the election under the same key', async () => {
    const l = leader() as Member;
    const term = l.node.status().term;
    const key = `leader:${term}:${l.node.id}`;
    await until(() => members.every((m) => m.events.some((e) => e.key === key)), 5000, key);
    const campaign = l.events.find((e) => e.kind === 'election' && e.node === l.node.id);
    assert.ok(campaign !== undefined, 'the winner reports its campaign');
    assert.equal(l.telemetry.state().controlUrl, 'http://ctl');
  });

  test("the leader's state holds every follower's progress and traffic", async () => {
    const l = leader() as Member;
    for (let i = 0; i < 20; i++) await l.service.put(putReq(`k${i}`, `v${i}`));
    await until(
      () => {
        const st = l.telemetry.state();
        const followers = st.progress.filter((p) => p.id !== st.id);
        return followers.length === 2 && followers.every((p) => p.state === 'replicate');
      },
      5000,
      'followers in replicate',
    );
    const st = l.telemetry.state();
    assert.equal(st.role, 'leader');
    assert.deepEqual(st.voters.sort(), ids);
    assert.ok(st.members.length === 3 && st.revision >= 21);
    for (const p of st.progress) assert.ok(p.match <= st.lastIndex && p.next > p.match);
    await until(() => l.telemetry.state().peers.every((p) => p.rttMs !== undefined), 5000, 'rtt');
    for (const p of l.telemetry.state().peers) {
      assert.ok(p.sentBytes > 0 && p.receivedBytes > 0 && p.sentMessages > 0);
    }
    const f = members.find((m) => m !== l) as Member;
    assert.equal(f.telemetry.state().role, 'follower');
    assert.deepEqual(f.telemetry.state().progress, []);
  });

  test('samples count the applied entries and time the proposals', async () => {
    const l = leader() as Member;
    const from = l.samples.length;
    for (let i = 0; i < 10; i++) await l.service.put(putReq(`s${i}`, 'x'));
    await until(
      () => {
        const recent = l.samples.slice(from);
        const proposals = recent.reduce((n, s) => n + s.proposals, 0);
        return proposals >= 10 && recent.some((s) => s.applyRate > 0);
      },
      5000,
      'samples with the proposals',
    );
    const timed = l.samples.slice(from).filter((s) => s.p50Ms !== undefined);
    assert.ok(timed.length > 0);
    for (const s of timed) assert.ok((s.p50Ms as number) <= (s.p99Ms as number));
  });

  test('snapshots are reported by the member that took them', async () => {
    await until(
      () =>
        members.every((m) => m.events.some((e) => e.kind === 'snapshot' && e.node === m.node.id)),
      5000,
      'snapshot events',
    );
  });

  test('a leadership transfer and a configuration change are reported', async () => {
    const l = leader() as Member;
    const to = ids.find((id) => id !== l.node.id) as number;
    await l.node.transferLeadership(to, { signal: AbortSignal.timeout(5000) });
    assert.ok(l.events.some((e) => e.kind === 'transfer' && e.key.endsWith(`:${to}`)));
    const nl = byId(to);
    await nl.node.addLearner(4, 'mem://4', { signal: AbortSignal.timeout(5000) });
    const conf = nl.events.find((e) => e.kind === 'membership' && e.text.includes('learners [4]'));
    assert.ok(conf !== undefined, 'the configuration with learner 4');
    await until(
      () => members.every((m) => m.events.some((e) => e.key === conf.key)),
      5000,
      'every member reports the same configuration',
    );
    await nl.node.removeMember(4, { signal: AbortSignal.timeout(5000) });
  });
});

describe('the wrappers', () => {
  test('percentile is the nearest rank', () => {
    assert.equal(percentile([], 0.5), undefined);
    assert.equal(percentile([1], 0.99), 1);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
    assert.equal(percentile([1, 2, 3, 4], 0.99), 4);
    assert.equal(percentile([1, 2, 3, 4], 0), 1);
  });

  test('PeerTraffic times a heartbeat round trip and reports notable messages', () => {
    const rtts: [number, number][] = [];
    const notable: Message[] = [];
    const t = new PeerTraffic({
      rtt: (to, s) => rtts.push([to, s]),
      notable: (m) => notable.push(m),
    });
    const msg = (type: MessageType, from: number, to: number): Message =>
      newMessage({ type, from, to, term: 2 });
    t.sent([msg(MessageType.MsgHeartbeat, 1, 2), msg(MessageType.MsgVote, 1, 3)]);
    t.received(msg(MessageType.MsgHeartbeatResp, 3, 1)); // no heartbeat out to 3
    t.received(msg(MessageType.MsgHeartbeatResp, 2, 1));
    t.received(msg(MessageType.MsgHeartbeatResp, 2, 1)); // a duplicate: timed once
    assert.equal(rtts.length, 1);
    assert.equal(rtts[0]?.[0], 2);
    assert.ok((rtts[0]?.[1] ?? -1) >= 0);
    assert.deepEqual(
      notable.map((m) => m.type),
      [MessageType.MsgVote],
    );
    const c = t.counters();
    assert.deepEqual(
      c.map((p) => [p.id, p.sentMessages, p.receivedMessages]),
      [
        [2, 1, 2],
        [3, 1, 1],
      ],
    );
    assert.ok(c.every((p) => p.sentBytes > 0));
  });

  test('timedWalFS times datasyncs and snapshot files, nothing else', async () => {
    const file: WalFile = {
      write: () => Promise.resolve(),
      datasync: () => Promise.resolve(),
      sync: () => Promise.resolve(),
      truncate: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const inner: WalFS = {
      open: () => Promise.resolve(file),
      readFile: () => Promise.resolve(new Uint8Array()),
      readdir: () => Promise.resolve([]),
      rename: () => Promise.resolve(),
      unlink: () => Promise.resolve(),
      mkdir: () => Promise.resolve(),
      syncDir: () => Promise.resolve(),
    };
    const fsyncs: number[] = [];
    const saves: number[] = [];
    const fs = timedWalFS(inner, {
      fsync: (s) => fsyncs.push(s),
      snapshotSave: (s) => saves.push(s),
    });
    const seg = await fs.open('/w/0000000000000001-0000000000000001.wal', OpenMode.Write);
    await seg.write(new Uint8Array(8), 0);
    await seg.datasync();
    await seg.sync();
    const tmp = '/w/0000000000000002-0000000000000009.snap.tmp';
    const snap = await fs.open(tmp, OpenMode.Create);
    await snap.sync();
    await snap.close();
    await fs.rename(tmp, '/w/0000000000000002-0000000000000009.snap');
    await fs.rename('/w/segment.tmp', '/w/0000000000000002-0000000000000005.wal');
    assert.equal(fsyncs.length, 1);
    assert.equal(saves.length, 1);
  });
});
