import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Transport, TransportHandler } from '../../node/interfaces.ts';
import { MessageType, newMessage } from '../../raftpb/types.ts';
import type { Message } from '../../raftpb/types.ts';
import { MemberTransport } from './member_transport.ts';

/** Inner records what the wrapper passes on and lets the test deliver messages. */
class Inner implements Transport {
  handler: TransportHandler | undefined;
  sent: Message[] = [];
  peers = new Map<number, string>();
  start(h: TransportHandler): Promise<void> {
    this.handler = h;
    return Promise.resolve();
  }
  send(msgs: readonly Message[]): void {
    this.sent.push(...msgs);
  }
  addPeer(id: number, address: string): void {
    this.peers.set(id, address);
  }
  removePeer(id: number): void {
    this.peers.delete(id);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  closed(): Promise<void> {
    return Promise.resolve();
  }
}

function recorder() {
  const events: string[] = [];
  const h: TransportHandler = {
    receive: (m) => events.push(`receive ${m.from}`),
    reportUnreachable: (id) => events.push(`unreachable ${id}`),
    reportSnapshot: (id, ok) => events.push(`snapshot ${id} ${ok}`),
  };
  return { events, h };
}

const app = (from: number, to: number) =>
  newMessage({ type: MessageType.MsgApp, from, to, term: 1 });

test('MemberTransport records peer addresses and passes traffic while healed', async () => {
  const inner = new Inner();
  const t = new MemberTransport(inner);
  const { events, h } = recorder();
  await t.start(h);
  t.addPeer(2, '127.0.0.1:2380');
  t.addPeer(3, '127.0.0.1:3380');
  t.removePeer(3);
  assert.equal(t.address(2), '127.0.0.1:2380');
  assert.equal(t.address(3), undefined);
  assert.deepEqual([...inner.peers], [[2, '127.0.0.1:2380']]);
  t.send([app(1, 2)]);
  inner.handler!.receive(app(2, 1));
  assert.equal(inner.sent.length, 1);
  assert.deepEqual(events, ['receive 2']);
});

test('isolated, it drops raft traffic both ways and reports the peers unreachable, later', async () => {
  const inner = new Inner();
  const t = new MemberTransport(inner);
  const { events, h } = recorder();
  await t.start(h);
  t.isolate();
  assert.equal(t.isolated, true);
  const snap = newMessage({ type: MessageType.MsgSnap, from: 1, to: 3, term: 1 });
  t.send([app(1, 2), app(1, 2), snap]);
  inner.handler!.receive(app(2, 1));
  assert.equal(inner.sent.length, 0);
  assert.deepEqual(events, [], 'nothing is reported from inside send()');
  await Promise.resolve();
  assert.deepEqual(events, ['snapshot 3 false', 'unreachable 2', 'unreachable 3']);
  assert.equal(t.dropped, 4);
  t.heal();
  t.send([app(1, 2)]);
  inner.handler!.receive(app(2, 1));
  assert.equal(inner.sent.length, 1);
  assert.equal(events.at(-1), 'receive 2');
});

test('no report is made after close()', async () => {
  const t = new MemberTransport(new Inner());
  const { events, h } = recorder();
  await t.start(h);
  t.isolate();
  t.send([app(1, 2)]);
  await t.close();
  await Promise.resolve();
  assert.deepEqual(events, []);
});
