import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { MessageType, newMessage } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import type { TransportHandler } from './interfaces.ts';
import { MemoryNetwork } from './memory_transport.ts';
import type { MemoryTransport } from './memory_transport.ts';
import { settle } from './testkit.ts';

interface Probe extends TransportHandler {
  got: Message[];
  unreachable: number[];
  snaps: [number, boolean][];
}

function probe(): Probe {
  const p: Probe = {
    got: [],
    unreachable: [],
    snaps: [],
    receive: (m) => p.got.push(m),
    reportUnreachable: (id) => p.unreachable.push(id),
    reportSnapshot: (id, ok) => p.snaps.push([id, ok]),
  };
  return p;
}

async function pair(net: MemoryNetwork): Promise<[MemoryTransport, MemoryTransport, Probe, Probe]> {
  const a = net.transport(1);
  const b = net.transport(2);
  const pa = probe();
  const pb = probe();
  await a.start(pa);
  await b.start(pb);
  a.addPeer(2, b.address);
  b.addPeer(1, a.address);
  return [a, b, pa, pb];
}

const app = (from: number, to: number, index = 0): Message =>
  newMessage({ type: MessageType.MsgApp, from, to, term: 1, index });

void describe('MemoryNetwork', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  void it('delivers a copy, in order, asynchronously', async () => {
    const net = new MemoryNetwork();
    const [a, , , pb] = await pair(net);
    const m = app(1, 2, 1);
    a.send([m, app(1, 2, 2)]);
    assert.equal(pb.got.length, 0);
    await settle();
    assert.deepEqual(
      pb.got.map((x) => x.index),
      [1, 2],
    );
    assert.notEqual(pb.got[0], m);
    assert.deepEqual(net.stats, { sent: 2, delivered: 2, dropped: 0 });
  });

  void it('reports messages to unknown peers as unreachable', async () => {
    const net = new MemoryNetwork();
    const [a, , pa] = await pair(net);
    a.send([app(1, 3)]);
    a.removePeer(2);
    a.send([app(1, 2)]);
    await settle();
    assert.deepEqual(pa.unreachable, [3, 2]);
  });

  void it('drops silently, partitions with unreachable reports, and heals', async () => {
    const net = new MemoryNetwork();
    const [a, b, pa, pb] = await pair(net);
    net.drop(1, 2);
    a.send([app(1, 2)]);
    b.send([app(2, 1)]);
    await settle();
    assert.equal(pb.got.length, 0);
    assert.equal(pa.got.length, 1);
    assert.deepEqual(pa.unreachable, []);
    net.heal();
    net.partition([1], [2]);
    a.send([app(1, 2)]);
    await settle();
    assert.deepEqual(pa.unreachable, [2]);
    net.heal();
    a.send([app(1, 2)]);
    await settle();
    assert.equal(pb.got.length, 1);
  });

  void it('delays with timers and reports snapshot delivery', async () => {
    const net = new MemoryNetwork();
    const [a, , pa, pb] = await pair(net);
    net.delay('*', 2, 50);
    a.send([newMessage({ type: MessageType.MsgSnap, from: 1, to: 2, term: 1 })]);
    await settle();
    assert.equal(pb.got.length, 0);
    mock.timers.tick(50);
    await settle();
    assert.equal(pb.got.length, 1);
    assert.deepEqual(pa.snaps, [[2, true]]);
    net.setFilter((m) => (m.type === MessageType.MsgSnap ? 'drop' : undefined));
    a.send([newMessage({ type: MessageType.MsgSnap, from: 1, to: 2, term: 1 })]);
    await settle();
    assert.deepEqual(pa.snaps, [
      [2, true],
      [2, false],
    ]);
  });

  void it('stops delivering to a closed endpoint and frees its address', async () => {
    const net = new MemoryNetwork();
    const [a, b, pa] = await pair(net);
    await b.close();
    await b.closed();
    a.send([app(1, 2)]);
    await settle();
    assert.deepEqual(pa.unreachable, [2]);
    const b2 = net.transport(2);
    await b2.start(probe());
    await assert.rejects(net.transport(9, a.address).start(probe()), /already in use/);
  });
});
