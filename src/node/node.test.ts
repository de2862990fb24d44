// Unit tests of the Node driver with fake timers: one Node, or one Node facing a scripted
// peer (FakePeer) on a MemoryNetwork, so that the order of its work can be observed.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ErrProposalDropped } from '../raft/errors.ts';
import { MessageType, newMessage } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import { ErrNodeClosed, ErrNodeStopped, ErrNotLeader } from './errors.ts';
import type { TransportHandler } from './interfaces.ts';
import { MemoryDurableStorage } from './memory_storage.ts';
import { MemoryNetwork } from './memory_transport.ts';
import type { MemoryTransport } from './memory_transport.ts';
import { Node } from './node.ts';
import type { LeaderChange } from './events.ts';
import type { NodeOptions } from './options.ts';
import { FakeClock, RecordingMachine, bytes, settle } from './testkit.ts';

const clock = new FakeClock(10);
beforeEach(() => clock.enable());
afterEach(() => clock.reset());

const peers = (...ids: number[]): { id: number; address: string }[] =>
  ids.map((id) => ({ id, address: `mem://${id}` }));

/** Gate holds saves until opened (a slow disk). */
class Gate {
  private waiting: (() => void)[] = [];
  closed = false;
  wait = (): Promise<void> | void => {
    if (!this.closed) return;
    return new Promise((r) => this.waiting.push(r));
  };
  open(): void {
    this.closed = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

interface Solo {
  node: Node;
  machine: RecordingMachine;
  storage: MemoryDurableStorage;
  net: MemoryNetwork;
}

async function solo(
  extra: Partial<NodeOptions> = {},
  storage = new MemoryDurableStorage(),
): Promise<Solo> {
  const net = new MemoryNetwork();
  const machine = new RecordingMachine();
  const node = await Node.start({
    id: 1,
    peers: peers(1),
    tickMs: 10,
    ...extra,
    storage,
    transport: net.transport(1),
    stateMachine: machine,
  });
  return { node, machine, storage, net };
}

async function soloLeader(
  extra: Partial<NodeOptions> = {},
  storage?: MemoryDurableStorage,
): Promise<Solo> {
  const s = await solo(extra, storage);
  await clock.until(() => s.node.isLeader, 1000, 'leadership');
  return s;
}

/**
 * FakePeer is node 2, scripted: it records what it receives and, when `auto`, grants votes
 * and acknowledges appends and heartbeats.
 */
class FakePeer implements TransportHandler {
  got: Message[] = [];
  auto = true;
  readonly t: MemoryTransport;

  constructor(net: MemoryNetwork) {
    this.t = net.transport(2);
    this.t.addPeer(1, 'mem://1');
  }

  receive(m: Message): void {
    this.got.push(m);
    if (!this.auto) return;
    const reply = (type: MessageType, extra: Partial<Message> = {}): void =>
      this.t.send([newMessage({ type, from: 2, to: 1, term: m.term, ...extra })]);
    if (m.type === MessageType.MsgPreVote) reply(MessageType.MsgPreVoteResp);
    if (m.type === MessageType.MsgVote) reply(MessageType.MsgVoteResp);
    if (m.type === MessageType.MsgApp)
      reply(MessageType.MsgAppResp, { index: m.index + m.entries.length });
    if (m.type === MessageType.MsgHeartbeat)
      reply(MessageType.MsgHeartbeatResp, { context: m.context });
  }
  reportUnreachable(): void {}
  reportSnapshot(): void {}

  /** send delivers a message from node 2 to node 1. */
  send(init: Partial<Message> & { type: MessageType }): void {
    this.t.send([newMessage({ from: 2, to: 1, ...init })]);
  }

  count(type: MessageType): number {
    return this.got.filter((m) => m.type === type).length;
  }
}

async function withPeer(
  extra: Partial<NodeOptions>,
  gate?: Gate,
): Promise<Solo & { peer: FakePeer }> {
  const net = new MemoryNetwork();
  const peer = new FakePeer(net);
  await peer.t.start(peer);
  const storage = new MemoryDurableStorage(gate === undefined ? {} : { beforeSave: gate.wait });
  const machine = new RecordingMachine();
  const node = await Node.start({
    id: 1,
    peers: peers(1, 2),
    tickMs: 10,
    ...extra,
    storage,
    transport: net.transport(1),
    stateMachine: machine,
  });
  return { node, machine, storage, net, peer };
}

void describe('Node: proposals on a single node', () => {
  void it('elects itself, applies proposals and resolves each with its own result', async () => {
    const { node, machine } = await soloLeader();
    const results = await clock.settled(
      Promise.all(['a', 'b', 'c'].map((s) => node.propose(bytes(s)))),
    );
    assert.deepEqual(results, ['a@3', 'b@4', 'c@5']);
    assert.deepEqual(machine.applied, ['a', 'b', 'c']);
    assert.equal(node.status().appliedIndex, 5);
    await node.close();
  });

  void it('emits leaderChange when it becomes leader', async () => {
    const { node } = await solo();
    const seen: LeaderChange[] = [];
    node.on('leaderChange', (e) => seen.push(e));
    await clock.until(() => seen.length > 0, 1000);
    assert.deepEqual(seen, [{ leader: 1, term: 2, isLeader: true }]);
    await node.close();
  });

  void it('serves a linearizable read after the writes before it', async () => {
    const { node, machine } = await soloLeader();
    await clock.settled(node.propose(bytes('w')));
    const index = await clock.settled(node.read());
    assert.equal(index, 3);
    assert.deepEqual(machine.applied, ['w']);
    await node.close();
  });

  void it('rejects bad arguments with TypeError and RangeError', async () => {
    const { node } = await soloLeader();
    await assert.rejects(node.propose('x' as unknown as Uint8Array), TypeError);
    await assert.rejects(node.addVoter(0, 'mem://0'), RangeError);
    await assert.rejects(node.addVoter(2, ''), TypeError);
    await assert.rejects(node.transferLeadership(-1), RangeError);
    await assert.rejects(node.removeMember(1), /membership change refused: removed all voters/);
    await node.close();
    const net = new MemoryNetwork();
    const base = { storage: new MemoryDurableStorage(), stateMachine: new RecordingMachine() };
    await assert.rejects(
      Node.start({ id: 1, ...base, transport: net.transport(1) }),
      /needs options.peers/,
    );
    const twice = [...peers(1), ...peers(1)];
    await assert.rejects(
      Node.start({ id: 1, ...base, transport: net.transport(1), peers: twice }),
      /peer 1 is listed twice/,
    );
    const reuse = net.transport(1); // the failed start released the address
    await reuse.start({ receive() {}, reportUnreachable() {}, reportSnapshot() {} });
    await reuse.close();
    await assert.rejects(
      Node.start({ id: 1.5, ...base, transport: net.transport(1), peers: peers(1) }),
      RangeError,
    );
  });
});

void describe('Node: the order of work', () => {
  for (const asyncStorageWrites of [false, true]) {
    void it(`a follower acknowledges an append only after it is durable (async=${asyncStorageWrites})`, async () => {
      const gate = new Gate();
      const { node, peer, storage } = await withPeer({ asyncStorageWrites }, gate);
      peer.auto = false;
      await settle();
      gate.closed = true;
      const saves = storage.saves;
      peer.send({ type: MessageType.MsgHeartbeat, term: 5 });
      peer.send({
        type: MessageType.MsgApp,
        term: 5,
        index: 2,
        logTerm: 1,
        commit: 2,
        entries: [{ index: 3, term: 5, type: 0, data: bytes('x') }],
      });
      await clock.run(30);
      assert.ok(storage.saves > saves, 'the write was issued');
      assert.equal(
        peer.count(MessageType.MsgAppResp),
        0,
        'no MsgAppResp before the write is durable',
      );
      gate.open();
      await clock.until(() => peer.count(MessageType.MsgAppResp) > 0, 200, 'MsgAppResp');
      const resp = peer.got.find((m) => m.type === MessageType.MsgAppResp);
      assert.equal(resp?.index, 3);
      await node.close();
    });
  }

  void it('with asyncStorageWrites the leader replicates while its own write is pending', async () => {
    const gate = new Gate();
    const { node, peer } = await withPeer({ asyncStorageWrites: true }, gate);
    await clock.until(() => node.isLeader, 1000, 'leadership');
    await clock.run(30);
    gate.closed = true;
    const p = node.propose(bytes('p'));
    await settle();
    const app = peer.got.find(
      (m) =>
        m.type === MessageType.MsgApp &&
        m.entries.some((e) => e.data !== undefined && e.data.length > 0),
    );
    assert.ok(
      app !== undefined,
      'MsgApp with the proposal went out before the local write finished',
    );
    gate.open();
    assert.equal(await clock.settled(p), 'p@4');
    await node.close();
  });

  void it('batches proposals of one event-loop turn into one forwarded MsgProp', async () => {
    const { node, peer } = await withPeer({});
    peer.auto = false;
    peer.send({ type: MessageType.MsgHeartbeat, term: 3 });
    await settle();
    assert.equal(node.leader, 2);
    const ps = ['a', 'b', 'c', 'd'].map((s) =>
      assert.rejects(node.propose(bytes(s)), ErrNodeClosed),
    );
    await settle();
    const props = peer.got.filter((m) => m.type === MessageType.MsgProp);
    assert.equal(props.length, 1);
    assert.equal(props[0]?.entries.length, 4);
    await node.close();
    await Promise.all(ps);
  });

  void it('holds proposals while no leader is known and forwards them once one is', async () => {
    const { node, peer } = await withPeer({});
    peer.auto = false;
    const p = assert.rejects(node.propose(bytes('x')), ErrNodeClosed);
    await clock.run(30);
    assert.equal(peer.count(MessageType.MsgProp), 0);
    peer.send({ type: MessageType.MsgHeartbeat, term: 3 });
    await settle();
    assert.equal(peer.count(MessageType.MsgProp), 1);
    await node.close();
    await p;
  });

  void it('rejects a proposal raft drops (uncommitted size limit) with ErrProposalDropped', async () => {
    const gate = new Gate();
    const storage = new MemoryDurableStorage({ beforeSave: gate.wait });
    const { node } = await soloLeader({ raft: { maxUncommittedEntriesSize: 64 } }, storage);
    gate.closed = true;
    const first = node.propose(new Uint8Array(100));
    await settle();
    await assert.rejects(node.propose(new Uint8Array(100)), ErrProposalDropped);
    gate.open();
    assert.equal(await clock.settled(first), '\0'.repeat(100) + '@3');
    await node.close();
  });
});

void describe('Node: leader-only operations and options', () => {
  void it('rejects membership changes and transfers on a follower with ErrNotLeader', async () => {
    const { node, peer } = await withPeer({ forwardProposals: false });
    peer.auto = false;
    peer.send({ type: MessageType.MsgHeartbeat, term: 3 });
    await settle();
    const isNotLeader = (e: unknown): boolean =>
      e instanceof ErrNotLeader && e.leader === 2 && e.leaderAddress === 'mem://2';
    await assert.rejects(node.addVoter(3, 'mem://3'), isNotLeader);
    await assert.rejects(node.transferLeadership(), isNotLeader);
    await assert.rejects(node.propose(bytes('x')), isNotLeader);
    await node.close();
  });
});

void describe('Node: signals', () => {
  void it('rejects with the reason of an already aborted signal', async () => {
    const { node } = await soloLeader();
    const reason = new Error('too late');
    await assert.rejects(
      node.propose(bytes('x'), { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    await assert.rejects(node.read({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
    await node.close();
  });

  void it('rejects a waiting call when its signal aborts and removes the listener', async () => {
    const { node } = await withPeer({});
    const ac = new AbortController();
    const p = node.read({ signal: ac.signal });
    const q = node.waitForLeader({ signal: ac.signal });
    await clock.run(50);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 2);
    ac.abort(new Error('give up'));
    await assert.rejects(p, /give up/);
    await assert.rejects(q, /give up/);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    await node.close();
  });
});

void describe('Node: close and fatal errors', () => {
  void it('close rejects pending work with ErrNodeClosed and refuses new work', async () => {
    const { node, net } = await withPeer({});
    const leader = assert.rejects(node.waitForLeader(), ErrNodeClosed);
    const read = assert.rejects(node.read(), ErrNodeClosed);
    await clock.run(20);
    await node.close();
    await leader;
    await read;
    await assert.rejects(node.propose(bytes('x')), ErrNodeClosed);
    assert.throws(() => node.campaign(), ErrNodeClosed);
    await node.closed();
    await node.close();
    assert.equal(net.stats.sent >= 0, true);
  });

  void it('a failed storage write stops the node for good', async () => {
    let fail = false;
    const storage = new MemoryDurableStorage({
      beforeSave: () => {
        if (fail) throw new Error('EIO: fsync failed');
      },
    });
    const { node } = await soloLeader({}, storage);
    const fatal: Error[] = [];
    node.on('fatal', (e) => fatal.push(e));
    fail = true;
    const p = node.propose(bytes('x'));
    const isStopped = (e: unknown): boolean =>
      e instanceof ErrNodeStopped && (e.cause as Error).message === 'EIO: fsync failed';
    await assert.rejects(clock.settled(p), isStopped);
    await node.closed();
    assert.equal(fatal.length, 1);
    assert.equal(node.error?.message, 'EIO: fsync failed');
    await assert.rejects(node.propose(bytes('y')), isStopped);
  });

  for (const asyncStorageWrites of [false, true]) {
    void it(`a state machine that throws stops the node (async=${asyncStorageWrites})`, async () => {
      const { node, machine } = await soloLeader({ asyncStorageWrites });
      machine.failOn = 'bad';
      const ok = assert.rejects(node.propose(bytes('ok')), ErrNodeStopped);
      const bad = node.propose(bytes('bad'));
      await assert.rejects(clock.settled(bad), ErrNodeStopped);
      await ok;
      assert.match(node.error?.message ?? '', /apply failed on bad/);
    });
  }
});

void describe('Node: snapshots and restarts', () => {
  for (const asyncStorageWrites of [false, true]) {
    void it(`snapshots every N entries, compacts behind, and restarts from disk (async=${asyncStorageWrites})`, async () => {
      const opts = { snapshotInterval: 5, compactionMargin: 2, asyncStorageWrites };
      const { node, storage, machine } = await soloLeader(opts);
      const taken: number[] = [];
      node.on('snapshot', (e) => taken.push(e.index));
      const words = Array.from({ length: 12 }, (_, i) => `w${i}`);
      for (const w of words) await clock.settled(node.propose(bytes(w)));
      assert.deepEqual(taken, [5, 10]);
      assert.equal(storage.snapshot().metadata.index, 10);
      assert.equal(storage.firstIndex(), 9);
      assert.equal(machine.snapshots, 2);
      await node.close();

      const again = await soloLeader(opts, storage.reopen());
      assert.equal(again.machine.restores, 1);
      await clock.until(() => again.node.status().appliedIndex >= 14, 1000, 'replay');
      assert.deepEqual(again.machine.applied, words);
      assert.equal(await clock.settled(again.node.propose(bytes('more'))), 'more@16');
      await again.node.close();
    });
  }
});

void describe('Node: close on a hung disk', () => {
  void it('close({ signal }) gives up waiting for the writes in progress', async () => {
    const gate = new Gate();
    const storage = new MemoryDurableStorage({ beforeSave: gate.wait });
    const { node } = await soloLeader({}, storage);
    gate.closed = true;
    const p = assert.rejects(node.propose(bytes('stuck')), ErrNodeClosed);
    await clock.run(20);
    const ac = new AbortController();
    const closing = node.close({ signal: ac.signal });
    await clock.run(50);
    ac.abort(new Error('disk hung'));
    await assert.rejects(closing, /disk hung/);
    await p;
    await assert.rejects(node.read(), ErrNodeClosed);
    gate.open();
    await node.closed();
  });
});
