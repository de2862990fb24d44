// Refusals surfaced to the transport's owner: the tracker and its majority rule, then real
// transports on 127.0.0.1: a member refused as removed by its peers (as the dialer, and as
// the member with the highest id, which only hears the refusals by probing), a single
// refusal that a later handshake clears, and probes that make ordinary connections.
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';

import { RejectReason } from './frame.ts';
import type { TcpTransportOptions } from './options.ts';
import { RefusalTracker, removedByMajority } from './refusal.ts';
import type { PeerRefusal } from './refusal.ts';
import { TcpTransport } from './tcp.ts';
import { CapturingLogger, RecordingHandler, heartbeat, waitFor } from './testing.ts';

describe('RefusalTracker', () => {
  test('keeps the peers whose latest answer was removed-member', () => {
    const t = new RefusalTracker();
    const r1 = t.refused(3, RejectReason.RemovedMember, 'member 1 was removed', 4);
    assert.deepEqual(r1, {
      peer: 3,
      reason: 'removed-member',
      detail: 'member 1 was removed',
      removedBy: [3],
      peers: 4,
    });
    t.refused(2, RejectReason.RemovedMember, '', 4);
    assert.deepEqual(t.removedBy(), [2, 3]);
    // Another answer replaces a peer's removed-member; a successful handshake forgets it.
    const r2 = t.refused(3, RejectReason.WrongCluster, 'cluster 8 is not cluster 7', 4);
    assert.equal(r2.reason, 'wrong-cluster');
    assert.deepEqual(r2.removedBy, [2]);
    t.forget(2);
    assert.deepEqual(t.removedBy(), []);
  });

  test('removedByMajority needs more than half of the known peers', () => {
    const r = (removedBy: number[], peers: number): PeerRefusal => ({
      peer: removedBy[0] ?? 9,
      reason: 'removed-member',
      detail: '',
      removedBy,
      peers,
    });
    const cases: [number[], number, boolean][] = [
      [[], 0, false],
      [[2], 1, true],
      [[2], 2, false],
      [[2, 3], 2, true],
      [[2, 3], 4, false],
      [[2, 3, 4], 4, true],
      [[2, 3], 3, true],
    ];
    for (const [by, peers, want] of cases) {
      assert.equal(removedByMajority(r(by, peers)), want, `${by.length} of ${peers}`);
    }
  });
});

const CLUSTER = 7;
const open: TcpTransport[] = [];
after(async () => {
  await Promise.all(open.map((t) => t.close()));
});

interface Member {
  t: TcpTransport;
  h: RecordingHandler;
  log: CapturingLogger;
  refusals: PeerRefusal[];
}

async function member(id: number, opts: Partial<TcpTransportOptions> = {}): Promise<Member> {
  const log = new CapturingLogger();
  const t = new TcpTransport({
    id,
    clusterId: CLUSTER,
    logger: log,
    backoff: { initialMs: 10, maxMs: 50 },
    probeIntervalMs: 50,
    ...opts,
  });
  const h = new RecordingHandler();
  await t.start(h);
  open.push(t);
  const refusals: PeerRefusal[] = [];
  t.onRefusal((r) => refusals.push(r));
  return { t, h, log, refusals };
}

function link(...ms: Member[]): void {
  for (const a of ms) for (const b of ms) if (a !== b) a.t.addPeer(b.t.id, b.t.listenAddress());
}

/** chatter sends a heartbeat from m to each id every few ms until stop() (raft's chatter). */
function chatter(m: Member, ids: number[]): { stop(): void } {
  const timer = setInterval(() => m.t.send(ids.map((id) => heartbeat(m.t.id, id))), 10);
  return { stop: () => clearInterval(timer) };
}

describe('refusals from real peers', () => {
  test('a dialer refused as removed by all its peers hears it from each', async () => {
    const [a, b, c] = [await member(1), await member(2), await member(3)];
    link(a, b, c);
    b.t.removePeer(1);
    c.t.removePeer(1);
    const talk = chatter(a, [2, 3]);
    await waitFor('a majority', () => a.refusals.some(removedByMajority));
    talk.stop();
    const r = a.refusals.find(removedByMajority)!;
    assert.deepEqual(r.removedBy, [2, 3]);
    assert.equal(r.peers, 2);
    assert.equal(r.reason, 'removed-member');
    assert.match(r.detail, /member 1 was removed from the cluster/);
    assert.equal(a.h.received.length, 0);
    await Promise.all([a.t.close(), b.t.close(), c.t.close()]);
  });

  test('the member with the highest id, which dials no one, probes and hears it', async () => {
    const [a, b, c] = [await member(1), await member(2), await member(3)];
    link(a, b, c);
    a.t.send([heartbeat(1, 3)]);
    b.t.send([heartbeat(2, 3)]);
    await waitFor('links', () => c.h.received.length === 2);
    a.t.removePeer(3);
    b.t.removePeer(3);
    const talk = chatter(c, [1, 2]);
    await waitFor('a majority', () => c.refusals.some(removedByMajority));
    talk.stop();
    assert.deepEqual(c.refusals.find(removedByMajority)!.removedBy, [1, 2]);
    await Promise.all([a.t.close(), b.t.close(), c.t.close()]);
  });

  test('one refusal is no majority, and a later handshake with that peer clears it', async () => {
    const [a, b, c] = [await member(1), await member(2), await member(3)];
    link(a, b, c);
    b.t.removePeer(1);
    const talk = chatter(a, [2, 3]);
    await waitFor('the refusal', () => a.refusals.length > 0);
    assert.deepEqual(a.refusals[0]!.removedBy, [2]);
    assert.equal(removedByMajority(a.refusals[0]!), false);
    // Peer 2 takes member 1 back; then peer 3 drops it: only 3 refuses now.
    b.t.addPeer(1, a.t.listenAddress());
    await waitFor('connected to 2', () => a.t.stats().peers.find((p) => p.id === 2)!.connected);
    a.refusals.length = 0;
    c.t.removePeer(1);
    await waitFor('the refusal by 3', () => a.refusals.some((r) => r.peer === 3));
    talk.stop();
    assert.deepEqual(a.refusals.find((r) => r.peer === 3)!.removedBy, [3]);
    assert.ok(a.refusals.every((r) => !removedByMajority(r)));
    await Promise.all([a.t.close(), b.t.close(), c.t.close()]);
  });

  test('other refusals are surfaced with their reason', async () => {
    const a = await member(1);
    const other = await member(2, { clusterId: 99 });
    a.t.addPeer(2, other.t.listenAddress());
    other.t.addPeer(1, a.t.listenAddress());
    await waitFor('a refusal', () => a.refusals.length > 0);
    assert.equal(a.refusals[0]!.reason, 'wrong-cluster');
    assert.deepEqual(a.refusals[0]!.removedBy, []);
    await Promise.all([a.t.close(), other.t.close()]);
  });

  test('a probe makes an ordinary connection; probeIntervalMs 0 never probes', async () => {
    // Member 1 cannot reach member 2 (a wrong address), so only 2 can open the link.
    const a = await member(1);
    const b = await member(2);
    a.t.addPeer(2, '127.0.0.1:1');
    b.t.addPeer(1, a.t.listenAddress());
    b.t.send([heartbeat(2, 1, 1)]);
    await delay(60); // the peer must have been without a link for probeIntervalMs
    b.t.send([heartbeat(2, 1, 2)]);
    await waitFor('delivery through the probe', () => a.h.received.length === 2);
    a.t.send([heartbeat(1, 2, 3)]);
    await waitFor('the other way', () => b.h.received.length === 1);
    assert.equal(a.t.stats().peers[0]!.connected, true);
    assert.equal(a.log.matching(/replaced/).length, 0, a.log.lines.join('\n'));

    const c = await member(3);
    const d = await member(4, { probeIntervalMs: 0 });
    c.t.addPeer(4, '127.0.0.1:1');
    d.t.addPeer(3, c.t.listenAddress());
    const talk = chatter(d, [3]);
    await delay(300);
    talk.stop();
    assert.equal(c.h.received.length, 0);
    await Promise.all([a.t.close(), b.t.close(), c.t.close(), d.t.close()]);
  });

  test('a listener that throws is logged; none is called after close()', async () => {
    const a = await member(1);
    const b = await member(2);
    link(a, b);
    b.t.removePeer(1);
    let calls = 0;
    const off = a.t.onRefusal(() => {
      calls++;
      throw new Error('boom');
    });
    a.t.send([heartbeat(1, 2)]);
    await waitFor('the throw logged', () => a.log.matching(/refusal listener threw/).length > 0);
    off();
    const seen = calls;
    await waitFor('another refusal', () => a.refusals.length >= 3);
    assert.equal(calls, seen, 'removed listener not called');
    await a.t.close();
    const n = a.refusals.length;
    await delay(100);
    assert.equal(a.refusals.length, n);
    await b.t.close();
  });
});
