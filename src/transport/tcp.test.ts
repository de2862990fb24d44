// TcpTransport over plain TCP on 127.0.0.1: delivery and batching, handshake refusals,
// garbage and oversized frames, a peer that stops reading, a peer that dies and returns,
// and snapshot streaming. Every wait is a poll with a deadline.
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, describe, test } from 'node:test';

import { MessageType, newMessage } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import { TransportError } from './errors.ts';
import {
  FRAME_HEADER_BYTES,
  FrameType,
  RejectReason,
  encodeMessagesFrame,
  encodeSnapBegin,
  encodeSnapChunk,
  encodeSnapEnd,
  writeFrameHeader,
} from './frame.ts';
import { encodeMessage } from '../raftpb/codec.ts';
import type { TcpTransportOptions } from './options.ts';
import { TcpTransport } from './tcp.ts';
import {
  CapturingLogger,
  RawPeer,
  RawServer,
  RecordingHandler,
  heartbeat,
  msgApp,
  waitFor,
} from './testing.ts';

const CLUSTER = 7;

/** Node is one transport with its handler and log, for the tests. */
interface Member {
  t: TcpTransport;
  h: RecordingHandler;
  log: CapturingLogger;
}

const open: TcpTransport[] = [];
after(async () => {
  await Promise.all(open.map((t) => t.close()));
});

/** member starts a transport for `id` on 127.0.0.1:0. */
async function member(id: number, opts: Partial<TcpTransportOptions> = {}): Promise<Member> {
  const log = new CapturingLogger();
  const t = new TcpTransport({
    id,
    clusterId: CLUSTER,
    logger: log,
    backoff: { initialMs: 10, maxMs: 100 },
    ...opts,
  });
  const h = new RecordingHandler();
  await t.start(h);
  open.push(t);
  return { t, h, log };
}

/** link tells each transport where the others listen. */
function link(...ms: Member[]): void {
  for (const a of ms) for (const b of ms) if (a !== b) a.t.addPeer(b.t.id, b.t.listenAddress());
}

function connected(m: Member, peer: number): boolean {
  return m.t.stats().peers.find((p) => p.id === peer)?.connected === true;
}

describe('delivery', () => {
  test('messages flow both ways on one connection, in order', async () => {
    const a = await member(1);
    const b = await member(2);
    link(a, b);
    a.t.send([heartbeat(1, 2, 1), heartbeat(1, 2, 2)]);
    b.t.send([heartbeat(2, 1, 3)]);
    await waitFor('delivery', () => b.h.received.length === 2 && a.h.received.length === 1);
    assert.deepEqual(
      b.h.received.map((m) => m.commit),
      [1, 2],
    );
    assert.equal(a.h.received[0]!.commit, 3);
    assert.equal(a.t.stats().peers[0]!.connected, true);
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('one Ready for a peer goes out in one write; appends are pipelined without replies', async () => {
    const a = await member(1);
    const b = await member(2);
    link(a, b);
    a.t.send([heartbeat(1, 2)]);
    await waitFor('connection', () => b.h.received.length === 1);
    const before = a.t.stats().writes;
    const ready: Message[] = [];
    for (let i = 0; i < 10; i++) ready.push(msgApp(1, 2, 4, 100));
    ready.push(heartbeat(1, 2, 5));
    a.t.send(ready);
    await waitFor('the Ready', () => b.h.received.length === 12);
    assert.equal(a.t.stats().writes - before, 1, 'one write for the whole Ready');
    // Pipelining: 100 appends over 100 event-loop turns, with no reply ever sent.
    for (let i = 0; i < 100; i++) {
      a.t.send([newMessage({ type: MessageType.MsgApp, from: 1, to: 2, term: 1, index: i })]);
      await nextTurn();
    }
    await waitFor('the appends', () => b.h.received.length === 112);
    assert.deepEqual(
      b.h.received.slice(12).map((m) => m.index),
      Array.from({ length: 100 }, (_, i) => i),
    );
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('without batching, each message is its own write', async () => {
    const a = await member(1, { batching: false });
    const b = await member(2, { batching: false });
    link(a, b);
    a.t.send([heartbeat(1, 2)]);
    await waitFor('connection', () => b.h.received.length === 1);
    const before = a.t.stats().writes;
    a.t.send(Array.from({ length: 10 }, (_, i) => heartbeat(1, 2, i)));
    await waitFor('the Ready', () => b.h.received.length === 11);
    assert.equal(a.t.stats().writes - before, 10);
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('batches respect a small maxFrameBytes; a larger message is dropped and reported', async () => {
    const a = await member(1, { maxFrameBytes: 1000 });
    const b = await member(2, { maxFrameBytes: 1000 });
    link(a, b);
    const ready = Array.from({ length: 50 }, () => msgApp(1, 2, 1, 200));
    ready.push(msgApp(1, 2, 1, 2000));
    a.t.send(ready);
    await waitFor('delivery', () => b.h.received.length === 50);
    await waitFor('report', () => a.h.unreachable.includes(2));
    assert.match(
      a.log.matching(/dropped/)[0]!,
      /dropped MsgApp to peer 2: its \d+ bytes exceed the frame limit 1000/,
    );
    assert.equal(b.log.matching(/closed/).length, 0, 'no frame was refused');
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('a message that cannot be encoded is dropped; the rest of the Ready goes out', async () => {
    const a = await member(1);
    const b = await member(2);
    link(a, b);
    a.t.send([
      heartbeat(1, 2, 1),
      newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: -1 }),
      heartbeat(1, 2, 3),
    ]);
    await waitFor('delivery', () => b.h.received.length === 2);
    assert.deepEqual(
      b.h.received.map((m) => m.commit),
      [1, 3],
    );
    assert.match(
      a.log.matching(/dropped/)[0]!,
      /dropped MsgHeartbeat to peer 2: cannot encode it: .*term: -1/,
    );
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('a message for an unknown peer is reported unreachable, after send() returns', async () => {
    const a = await member(1);
    a.t.send([heartbeat(1, 9)]);
    assert.deepEqual(a.h.unreachable, [], 'no report from inside send()');
    await waitFor('the report', () => a.h.unreachable.includes(9));
    await a.t.close();
  });
});

describe('refusing bad peers', () => {
  test('garbage closes the connection with one log line; raft sees nothing', async () => {
    const b = await member(2);
    b.t.addPeer(1, '127.0.0.1:1');
    const raw = await RawPeer.connect(b.t.listenAddress());
    raw.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await waitFor('close', () => raw.closed);
    const lines = b.log.matching(/closed/);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /connection from 127\.0\.0\.1:\d+ closed: Cannot decode frame: length \d+ exceeds limit 1024/,
    );
    assert.equal(b.h.received.length, 0);
    await b.t.close();
  });

  test('an oversized frame after the handshake closes the connection', async () => {
    const b = await member(2, { maxFrameBytes: 1 << 20 });
    b.t.addPeer(1, '127.0.0.1:1');
    const raw = await RawPeer.connect(b.t.listenAddress());
    raw.hello({ clusterId: CLUSTER, from: 1, to: 2 });
    await waitFor('welcome', () => raw.frames.length === 1);
    assert.equal(raw.frames[0]!.type, FrameType.Welcome);
    const h = new Uint8Array(FRAME_HEADER_BYTES);
    writeFrameHeader(h, 0, FrameType.Messages, 2 ** 31);
    raw.write(h);
    await waitFor('close', () => raw.closed);
    const lines = b.log.matching(/closed/);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /\(peer 1\) closed: Cannot decode frame: length 2147483648 exceeds limit 1048576/,
    );
    assert.equal(b.h.received.length, 0);
    await b.t.close();
  });

  test('a frame that fails to decode, or a message with forged ids, reaches no one', async () => {
    const b = await member(2);
    b.t.addPeer(1, '127.0.0.1:1');
    const cases: [Uint8Array, RegExp][] = [
      [
        encodeMessagesFrame([Uint8Array.of(0xff)]),
        /Cannot decode frame: Messages frame: Cannot decode Message/,
      ],
      [
        encodeMessagesFrame([encodeMessage(heartbeat(3, 2))]),
        /MsgHeartbeat from 3 to 2 on the connection between 1 and 2/,
      ],
      [encodeMessagesFrame([encodeMessage(heartbeat(1, 4))]), /MsgHeartbeat from 1 to 4/],
      [
        encodeMessagesFrame([
          encodeMessage(newMessage({ type: MessageType.MsgHup, from: 1, to: 2 })),
        ]),
        /MsgHup is not a message members exchange/,
      ],
      [
        encodeMessagesFrame([encodeMessage(heartbeat(1, 2)), Uint8Array.of(0x08, 0x80)]),
        /Cannot decode frame/,
      ],
    ];
    for (const [frame, re] of cases) {
      const raw = await RawPeer.connect(b.t.listenAddress());
      raw.hello({ clusterId: CLUSTER, from: 1, to: 2 });
      await waitFor('welcome', () => raw.frames.length === 1);
      const logged = b.log.lines.length;
      raw.write(frame);
      await waitFor('close', () => raw.closed);
      const lines = b.log.lines.slice(logged).filter((l) => !l.startsWith('DEBUG'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, re);
    }
    assert.equal(b.h.received.length, 0, 'not even the good message before the bad one');
    await b.t.close();
  });

  test('handshakes of another cluster, receiver, unknown or removed member are refused', async () => {
    const b = await member(2);
    b.t.addPeer(1, '127.0.0.1:1');
    b.t.addPeer(3, '127.0.0.1:1');
    b.t.removePeer(3);
    const cases: [object, number, RegExp][] = [
      [
        { clusterId: 8, from: 1, to: 2 },
        RejectReason.WrongCluster,
        /wrong-cluster: cluster 8 is not cluster 7/,
      ],
      [
        { clusterId: CLUSTER, from: 1, to: 5 },
        RejectReason.WrongReceiver,
        /wrong-receiver: this is member 2, not member 5/,
      ],
      [
        { clusterId: CLUSTER, from: 4, to: 2 },
        RejectReason.UnknownMember,
        /unknown-member: member 4 is not a known peer/,
      ],
      [
        { clusterId: CLUSTER, from: 3, to: 2 },
        RejectReason.RemovedMember,
        /removed-member: member 3 was removed/,
      ],
      [
        { clusterId: CLUSTER, from: 1, to: 2, version: 9 },
        RejectReason.Version,
        /version: protocol version 9 is not 1/,
      ],
    ];
    for (const [hello, reason, re] of cases) {
      const raw = await RawPeer.connect(b.t.listenAddress());
      const logged = b.log.lines.length;
      raw.hello(hello as { clusterId: number; from: number; to: number });
      await waitFor('close', () => raw.closed);
      assert.equal(raw.frames.length, 1);
      const f = raw.frames[0]!;
      assert.ok(f.type === FrameType.Reject);
      assert.equal(f.reason, reason);
      const lines = b.log.lines.slice(logged);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, re);
    }
    assert.equal(b.h.received.length, 0);
    await b.t.close();
  });

  test('a dialer refused by its peer logs the reason and retries with backoff', async () => {
    const a = await member(1);
    const other = await member(2, { clusterId: 99 });
    a.t.addPeer(2, other.t.listenAddress());
    other.t.addPeer(1, a.t.listenAddress());
    await waitFor('two attempts', () => other.log.matching(/refused: wrong-cluster/).length >= 2);
    assert.match(
      a.log.matching(/closed/)[0]!,
      /peer refused the connection: wrong-cluster: cluster 7 is not cluster 99/,
    );
    assert.equal(a.h.received.length + other.h.received.length, 0);
    await Promise.all([a.t.close(), other.t.close()]);
  });

  test('a connection that never says Hello is closed after the handshake timeout', async () => {
    const b = await member(2, { handshakeTimeoutMs: 100 });
    const raw = await RawPeer.connect(b.t.listenAddress());
    await waitFor('close', () => raw.closed, { timeoutMs: 3000 });
    assert.match(b.log.matching(/closed/)[0]!, /handshake not completed within 100 ms/);
    await b.t.close();
  });
});

describe('backpressure and failure', () => {
  test('a peer that stops reading: bounded memory, drops reported, others unaffected', async () => {
    // Peer 2 completes the handshake, then never reads again.
    const stuck = new RawServer((p) => {
      p.socket.once('data', () => {
        p.welcome({ clusterId: CLUSTER, from: 2, to: 1 });
        p.socket.pause();
      });
    });
    const stuckAddr = await stuck.listen();
    const limit = 1 << 20;
    const a = await member(1, { maxQueueBytes: limit, writeTimeoutMs: 60_000 });
    const c = await member(3);
    a.t.addPeer(2, stuckAddr);
    link(a, c);
    a.t.send([heartbeat(1, 2)]);
    await waitFor('link to 2', () => connected(a, 2));
    const payload = new Uint8Array(64 * 1024).fill(7);
    const big = (to: number): Message =>
      newMessage({
        type: MessageType.MsgApp,
        from: 1,
        to,
        term: 1,
        entries: [{ term: 1, index: 1, type: 0, data: payload }],
      });
    const mem0 = process.memoryUsage().arrayBuffers;
    let sentTo3 = 0;
    for (let round = 0; round < 200; round++) {
      const ready: Message[] = [];
      for (let i = 0; i < 10; i++) ready.push(big(2)); // 640 KiB per Ready to the stuck peer
      ready.push(heartbeat(1, 3, ++sentTo3));
      a.t.send(ready);
      await nextTurn();
    }
    await waitFor('peer 3 gets everything', () => c.h.received.length === sentTo3);
    const s = a.t.stats().peers.find((p) => p.id === 2)!;
    const grown = process.memoryUsage().arrayBuffers - mem0;
    assert.ok(s.queuedBytes <= limit, `queue ${s.queuedBytes}`);
    assert.ok(s.socketBufferedBytes <= 256 * 1024, `socket buffer ${s.socketBufferedBytes}`);
    assert.ok(s.dropped > 1000, `dropped ${s.dropped} of 2000`);
    assert.ok(grown < 48 * limit, `arrayBuffers grew by ${grown} bytes for 125 MiB sent`);
    await waitFor('unreachable reported', () => a.h.unreachable.includes(2));
    assert.equal(a.log.matching(/dropped MsgApp to peer 2: the queue is full/).length, 1);
    await Promise.all([a.t.close(), c.t.close(), stuck.close()]);
  });

  test('a peer that stops reading is disconnected after writeTimeoutMs', async () => {
    const stuck = new RawServer((p) => {
      p.socket.once('data', () => {
        p.welcome({ clusterId: CLUSTER, from: 2, to: 1 });
        p.socket.pause();
      });
    });
    const addr = await stuck.listen();
    const a = await member(1, { writeTimeoutMs: 200 });
    a.t.addPeer(2, addr);
    const payload = new Uint8Array(1 << 20);
    for (let i = 0; i < 40; i++) {
      a.t.send([
        newMessage({
          type: MessageType.MsgApp,
          from: 1,
          to: 2,
          entries: [{ term: 1, index: 1, type: 0, data: payload }],
        }),
      ]);
      await nextTurn();
    }
    await waitFor(
      'stall detected',
      () =>
        a.log.matching(/a write has been pending for 200 ms: the peer is not reading/).length > 0,
    );
    await Promise.all([a.t.close(), stuck.close()]);
  });

  test('a peer that dies and returns is reconnected with backoff (either side)', async () => {
    const a = await member(1);
    let b = await member(2);
    link(a, b);
    a.t.send([heartbeat(1, 2, 1)]);
    await waitFor('first delivery', () => b.h.received.length === 1);
    const addrB = b.t.listenAddress();
    await b.t.close();
    await waitFor('loss noticed', () => !connected(a, 2));
    a.t.send([heartbeat(1, 2, 2)]);
    await waitFor('unreachable', () => a.h.unreachable.includes(2));
    // Peer 2 comes back on the same address; peer 1 (the dialer) finds it again.
    b = await member(2, { listen: addrB });
    b.t.addPeer(1, a.t.listenAddress());
    a.t.send([heartbeat(1, 2, 3)]);
    await waitFor('delivery after return', () => b.h.received.some((m) => m.commit === 3));
    // Now the dialer dies and returns; peer 2 waits to be dialed and its queue drains.
    const addrA = a.t.listenAddress();
    await a.t.close();
    await waitFor('loss noticed', () => !connected(b, 1));
    b.t.send([heartbeat(2, 1, 4)]);
    const a2 = await member(1, { listen: addrA });
    a2.t.addPeer(2, b.t.listenAddress());
    await waitFor('delivery to the returned dialer', () =>
      a2.h.received.some((m) => m.commit === 4),
    );
    await Promise.all([a2.t.close(), b.t.close()]);
  });

  test('removePeer closes the link and drops what was queued', async () => {
    const a = await member(1);
    const b = await member(2);
    link(a, b);
    a.t.send([heartbeat(1, 2)]);
    await waitFor('link', () => connected(b, 1));
    a.t.removePeer(2);
    await waitFor('closed on the other side', () => !connected(b, 1));
    a.t.send([heartbeat(1, 2)]);
    await waitFor('unreachable', () => a.h.unreachable.includes(2));
    assert.equal(a.t.stats().peers.length, 0);
    await Promise.all([a.t.close(), b.t.close()]);
  });
});

describe('snapshots', () => {
  function msgSnap(from: number, to: number, data: Uint8Array | undefined): Message {
    return newMessage({
      type: MessageType.MsgSnap,
      from,
      to,
      term: 2,
      snapshot: {
        data,
        metadata: {
          index: 1000,
          term: 2,
          confState: {
            voters: [1, 2],
            learners: [],
            votersOutgoing: [],
            learnersNext: [],
            autoLeave: false,
          },
        },
      },
    });
  }

  test('a snapshot larger than a frame streams in chunks, with messages interleaved', async () => {
    const opts = { maxFrameBytes: 256 * 1024, snapshotChunkBytes: 64 * 1024 };
    const a = await member(1, opts);
    const b = await member(2, opts);
    link(a, b);
    a.t.send([heartbeat(1, 2)]);
    await waitFor('link', () => b.h.received.length === 1);
    const data = new Uint8Array(3 * 1024 * 1024 + 5);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
    a.t.send([msgSnap(1, 2, data)]);
    a.t.send([heartbeat(1, 2, 42)]);
    await waitFor('snapshot', () => b.h.received.some((m) => m.type === MessageType.MsgSnap), {
      timeoutMs: 10_000,
    });
    await waitFor('ack', () => a.h.snapshots.length === 1);
    assert.deepEqual(a.h.snapshots, [[2, true]]);
    const got = b.h.received.find((m) => m.type === MessageType.MsgSnap)!;
    assert.equal(got.snapshot!.metadata.index, 1000);
    assert.ok(Buffer.from(got.snapshot!.data!).equals(data), 'data intact');
    const hb = b.h.received.findIndex((m) => m.commit === 42);
    assert.ok(
      hb >= 0 && hb < b.h.received.indexOf(got),
      'the heartbeat did not wait for the snapshot',
    );
    // An empty snapshot works too.
    a.t.send([msgSnap(1, 2, undefined)]);
    await waitFor('second ack', () => a.h.snapshots.length === 2);
    assert.deepEqual(a.h.snapshots[1], [2, true]);
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('a snapshot over the receiver limit closes the connection and fails the send', async () => {
    const a = await member(1, { snapshotChunkBytes: 64 * 1024 });
    const b = await member(2, { maxSnapshotBytes: 1 << 20 });
    link(a, b);
    a.t.send([heartbeat(1, 2)]);
    await waitFor('link', () => b.h.received.length === 1);
    a.t.send([msgSnap(1, 2, new Uint8Array(2 << 20))]);
    await waitFor('failure', () => a.h.snapshots.length === 1);
    assert.deepEqual(a.h.snapshots, [[2, false]]);
    assert.equal(b.log.matching(/snapshot 1 of 2097152 bytes exceeds limit 1048576/).length, 1);
    assert.ok(!b.h.received.some((m) => m.type === MessageType.MsgSnap));
    // The link comes back for ordinary messages.
    await waitFor('relink', () => connected(a, 2));
    a.t.send([heartbeat(1, 2, 9)]);
    await waitFor('delivery', () => b.h.received.some((m) => m.commit === 9));
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('a snapshot that fails its checksum never reaches raft', async () => {
    const b = await member(2);
    b.t.addPeer(1, '127.0.0.1:1');
    const raw = await RawPeer.connect(b.t.listenAddress());
    raw.hello({ clusterId: CLUSTER, from: 1, to: 2 });
    await waitFor('welcome', () => raw.frames.length === 1);
    const data = new Uint8Array(100).fill(1);
    const meta = encodeMessage(msgSnap(1, 2, undefined));
    raw.write(encodeSnapBegin(1, data.length, meta));
    raw.write(encodeSnapChunk(1, data));
    raw.write(encodeSnapEnd(1, new Uint8Array(32)));
    await waitFor('close', () => raw.closed);
    assert.equal(b.log.matching(/snapshot 1 failed its SHA-256 checksum/).length, 1);
    assert.equal(b.h.received.length, 0);
    await b.t.close();
  });

  test('a snapshot the sender cannot send fails at once', async () => {
    const a = await member(1, { maxSnapshotBytes: 10 });
    a.t.addPeer(2, '127.0.0.1:1'); // nobody there
    a.t.send([msgSnap(1, 2, new Uint8Array(5))]);
    a.t.send([msgSnap(1, 2, new Uint8Array(50))]);
    await waitFor('reports', () => a.h.snapshots.length === 2);
    assert.deepEqual(a.h.snapshots, [
      [2, false],
      [2, false],
    ]);
    assert.equal(a.log.matching(/exceed the snapshot limit 10/).length, 1);
    await a.t.close();
  });
});

describe('lifecycle and options', () => {
  test('close() releases everything; no report after it; start twice fails', async () => {
    const a = await member(1);
    a.t.addPeer(2, '127.0.0.1:1');
    a.t.send([heartbeat(1, 2)]);
    await a.t.close();
    await a.t.closed();
    const n = a.h.unreachable.length;
    a.t.send([heartbeat(1, 2)]);
    await nextTurn();
    assert.equal(a.h.unreachable.length, n);
    await assert.rejects(a.t.start(a.h), /already started/);
  });

  test('close() during start() leaves nothing listening', async () => {
    const t = new TcpTransport({ id: 1, clusterId: CLUSTER, logger: new CapturingLogger() });
    const started = t.start(new RecordingHandler());
    await t.close();
    await started;
    assert.throws(() => t.listenAddress(), /not listening/);
  });

  test('listening on a busy address fails with ERR_TRANSPORT_LISTEN', async () => {
    const a = await member(1);
    const t = new TcpTransport({ id: 2, clusterId: CLUSTER, listen: a.t.listenAddress() });
    await assert.rejects(t.start(new RecordingHandler()), (err: unknown) => {
      assert.ok(err instanceof TransportError);
      assert.equal(err.code, 'ERR_TRANSPORT_LISTEN');
      assert.match(err.message, /^Cannot listen on 127\.0\.0\.1:\d+: listen EADDRINUSE/);
      return true;
    });
    await t.closed();
    await a.t.close();
  });

  test('start() honours an aborted signal', async () => {
    const t = new TcpTransport({ id: 1, clusterId: 1 });
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(t.start(new RecordingHandler(), { signal: ac.signal }), /stop/);
  });

  test('bad options and arguments are named in the error', () => {
    assert.throws(
      () => new TcpTransport({ id: 0, clusterId: 1 }),
      /Invalid transport option id: 0/,
    );
    assert.throws(
      () => new TcpTransport({ id: 1, clusterId: 1, maxQueueBytes: 0 }),
      /maxQueueBytes: 0/,
    );
    assert.throws(() => new TcpTransport({ id: 1, clusterId: 1, listen: 'nope' }), {
      name: 'TypeError',
      message: 'Invalid address "nope": expected "host:port"',
    });
    const t = new TcpTransport({ id: 1, clusterId: 1 });
    assert.throws(() => t.addPeer(2, 'localhost'), /Invalid address "localhost"/);
    assert.throws(() => t.addPeer(-1, '127.0.0.1:1'), /id -1 is not a safe integer > 0/);
  });
});
