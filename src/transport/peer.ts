/**
 * Peer: everything the transport keeps for one remote member: the bounded queue of encoded
 * messages waiting to go out, the open connection (if any), the snapshot being streamed,
 * and the reconnection state. A slow or dead peer only fills its own queue; once that is
 * full its messages are dropped and raft is told, so memory stays bounded and the other
 * peers never wait (docs/transport.md, "Backpressure").
 */
import { encodeMessage } from '../raftpb/codec.ts';
import { MessageType, MessageTypeNames } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import type { Connection } from './connection.ts';
import { writeMessagesFrame } from './frame.ts';
import type { ResolvedOptions } from './options.ts';
import { OutgoingSnapshot } from './snapshot.ts';

/** PeerHost is what a Peer reports to: the transport. */
export interface PeerHost {
  readonly opts: ResolvedOptions;
  /** reportUnreachable queues a ReportUnreachable for raft (delivered asynchronously). */
  reportUnreachable(id: number): void;
  /** reportSnapshot queues a ReportSnapshot for raft (delivered asynchronously). */
  reportSnapshot(id: number, ok: boolean): void;
}

/** PeerStats describe one peer's link, for tests, benchmarks and dashboards. */
export interface PeerStats {
  id: number;
  address: string;
  /** connected is true while a connection has completed its handshake. */
  connected: boolean;
  /** queuedMessages / queuedBytes wait in the transport's queue (bounded by the options). */
  queuedMessages: number;
  queuedBytes: number;
  /** socketBufferedBytes were handed to the socket but not yet to the kernel. */
  socketBufferedBytes: number;
  /** dropped counts messages dropped for this peer (full queue, no link, too large). */
  dropped: number;
  /** messagesSent counts messages handed to the socket. */
  messagesSent: number;
}

/** frameOfOne returns a Messages frame holding a single encoded message. */
function frameOfOne(bytes: Uint8Array): Uint8Array {
  const list = [bytes];
  const buf = Buffer.allocUnsafe(5 + 4 + bytes.length);
  writeMessagesFrame(buf, 0, list);
  return buf;
}

/** Peer is one remote member; see the file comment. */
export class Peer {
  /** id is the member's raft id. */
  readonly id: number;
  /** address is where the member listens, "host:port". */
  address: string;
  /** conn is the connection whose handshake completed, if any. */
  conn: Connection | undefined;
  /** dialing is the connection being set up by this side, if any. */
  dialing: Connection | undefined;
  /** attempts counts failed dials since the last success (it scales the backoff). */
  attempts = 0;
  /** retryTimer fires the next dial. */
  retryTimer: NodeJS.Timeout | undefined;
  /** dropped and messagesSent are counters for PeerStats. */
  dropped = 0;
  messagesSent = 0;
  readonly #host: PeerHost;
  /** Encoded messages in send order; 0 <= #queue.length <= maxQueueMessages. */
  #queue: Uint8Array[] = [];
  /** Sum of the #queue lengths; 0 <= #queueBytes <= maxQueueBytes. */
  #queueBytes = 0;
  /** The snapshot being streamed, bound to the connection it started on. */
  #snap: { out: OutgoingSnapshot; conn: Connection } | undefined;
  #nextSnapId = 1;
  #flushScheduled = false;
  #immediate: NodeJS.Immediate | undefined;
  /** True from the first drop until the queue empties: one log line per episode. */
  #dropping = false;

  /** Creates the peer; nothing is dialed yet. */
  constructor(host: PeerHost, id: number, address: string) {
    this.#host = host;
    this.id = id;
    this.address = address;
  }

  /** enqueue encodes m and queues it, or drops it (and tells raft) if it cannot be queued. */
  enqueue(m: Message): void {
    const o = this.#host.opts;
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m);
    } catch (err) {
      this.#drop(m, `cannot encode it: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (4 + bytes.length > o.maxFrameBytes) {
      this.#drop(m, `its ${bytes.length} bytes exceed the frame limit ${o.maxFrameBytes}`);
      return;
    }
    if (this.#queue.length >= o.maxQueueMessages || this.#queueBytes + bytes.length > o.maxQueueBytes) {
      this.#drop(
        m,
        `the queue is full (${this.#queue.length} messages, ${this.#queueBytes} bytes)`,
        true,
      );
      return;
    }
    this.#queue.push(bytes);
    this.#queueBytes += bytes.length;
    // Not connected: the message waits, but raft should stop streaming appends meanwhile.
    if (this.conn === undefined) this.#host.reportUnreachable(this.id);
    this.#scheduleFlush();
  }

  /** sendSnapshot starts streaming a MsgSnap, or fails it at once (ReportSnapshot failure). */
  sendSnapshot(m: Message): void {
    const o = this.#host.opts;
    const size = m.snapshot?.data?.length ?? 0;
    if (size > o.maxSnapshotBytes) {
      this.#drop(m, `its ${size} bytes of data exceed the snapshot limit ${o.maxSnapshotBytes}`);
    } else if (this.conn === undefined) {
      this.#drop(m, 'there is no connection', true);
    } else if (this.#snap !== undefined) {
      this.#drop(m, `snapshot ${this.#snap.out.snapId} is still being sent`);
    } else {
      const snapId = this.#nextSnapId;
      this.#nextSnapId = (this.#nextSnapId % 0xffffffff) + 1;
      this.#snap = { out: new OutgoingSnapshot(snapId, m, o.snapshotChunkBytes), conn: this.conn };
      this.#scheduleFlush();
    }
  }

  /** attach makes conn (just opened) the peer's connection, replacing any older one. */
  attach(conn: Connection): void {
    const old = this.conn;
    this.conn = conn;
    if (this.dialing === conn) this.dialing = undefined;
    this.attempts = 0;
    if (old !== undefined && old !== conn) old.close('replaced by a newer connection');
    this.flush();
  }

  /** detach forgets a closed connection and fails the snapshot that was using it. */
  detach(conn: Connection, wasOpen: boolean): void {
    if (this.#snap?.conn === conn) {
      this.#snap = undefined;
      this.#host.reportSnapshot(this.id, false);
    }
    if (this.dialing === conn) this.dialing = undefined;
    if (this.conn === conn) {
      this.conn = undefined;
      if (wasOpen) this.#host.reportUnreachable(this.id);
    }
  }

  /** onSnapAck settles the snapshot stream `snapId`; false if no such stream is waiting. */
  onSnapAck(conn: Connection, snapId: number, ok: boolean): boolean {
    const s = this.#snap;
    if (s === undefined || s.conn !== conn || s.out.snapId !== snapId || !s.out.sent) return false;
    this.#snap = undefined;
    this.#host.reportSnapshot(this.id, ok);
    return true;
  }

  /**
   * flush writes what is queued, if the connection is open and not blocked: with batching,
   * every queued message (in frames of at most maxFrameBytes) and the next snapshot chunk
   * go out in one write; without, each message is its own frame and write.
   */
  flush(): void {
    this.#flushScheduled = false;
    const conn = this.conn;
    if (conn === undefined || conn.state !== 'open' || conn.blocked) return;
    if (this.#host.opts.batching) this.#flushBatched(conn);
    else this.#flushEach(conn);
    if (this.#queue.length === 0) this.#dropping = false;
    // A snapshot continues on 'drain'; if the socket took the chunk without filling up,
    // continue on the next turn of the event loop so that reads are not starved.
    if (!conn.blocked && conn.state === 'open' && this.#snapPending(conn)) {
      this.#immediate ??= setImmediate(() => {
        this.#immediate = undefined;
        this.flush();
      });
    }
  }

  /** shutdown forgets the peer: timers, connections and queue (no reports to raft). */
  shutdown(reason: string, level: 'debug' | 'info'): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#snap = undefined;
    this.#queue = [];
    this.#queueBytes = 0;
    this.conn?.close(reason, level);
    this.dialing?.close(reason, level);
  }

  /** stats returns the peer's counters and queue sizes. */
  stats(): PeerStats {
    return {
      id: this.id,
      address: this.address,
      connected: this.conn !== undefined,
      queuedMessages: this.#queue.length,
      queuedBytes: this.#queueBytes,
      socketBufferedBytes: this.conn?.socket.writableLength ?? 0,
      dropped: this.dropped,
      messagesSent: this.messagesSent,
    };
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  #snapPending(conn: Connection): boolean {
    return this.#snap !== undefined && this.#snap.conn === conn && !this.#snap.out.sent;
  }

  #flushBatched(conn: Connection): void {
    const q = this.#queue;
    const max = this.#host.opts.maxFrameBytes;
    const snapParts = this.#snapPending(conn) ? this.#snap!.out.step() : [];
    if (q.length === 0 && snapParts.length === 0) return;
    // Cut the queue into frames of at most `max` body bytes (each message fits on its own).
    const cuts = [0];
    let size = 0;
    let body = 0;
    for (let i = 0; i < q.length; i++) {
      const n = 4 + q[i]!.length;
      if (body > 0 && body + n > max) {
        cuts.push(i);
        size += 5 + body;
        body = 0;
      }
      body += n;
    }
    if (q.length > 0) {
      size += 5 + body;
      cuts.push(q.length);
    }
    for (const p of snapParts) size += p.length;
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    for (let k = 0; k + 1 < cuts.length; k++) pos = writeMessagesFrame(buf, pos, q, cuts[k], cuts[k + 1]);
    for (const p of snapParts) {
      buf.set(p, pos);
      pos += p.length;
    }
    this.messagesSent += q.length;
    this.#queue = [];
    this.#queueBytes = 0;
    conn.write(buf);
  }

  #flushEach(conn: Connection): void {
    const q = this.#queue;
    let i = 0;
    let bytes = 0;
    while (i < q.length && !conn.blocked && conn.state === 'open') {
      const m = q[i++]!;
      bytes += m.length;
      conn.write(frameOfOne(m));
    }
    q.splice(0, i);
    this.#queueBytes -= bytes;
    this.messagesSent += i;
    if (!conn.blocked && conn.state === 'open' && this.#snapPending(conn)) {
      conn.write(Buffer.concat(this.#snap!.out.step()));
    }
  }

  /** drop counts a message that will not be sent, logs the first of a run, and tells raft. */
  #drop(m: Message, why: string, quietAfterFirst = false): void {
    this.dropped++;
    const o = this.#host.opts;
    const name = MessageTypeNames[m.type] ?? `type ${m.type}`;
    const line = `raft transport ${o.id}: dropped ${name} to peer ${this.id}: ${why}`;
    if (!quietAfterFirst) o.logger.warning(line);
    else if (!this.#dropping) o.logger.warning(`${line} (further drops are not logged)`);
    if (quietAfterFirst) this.#dropping = true;
    if (m.type === MessageType.MsgSnap) this.#host.reportSnapshot(this.id, false);
    this.#host.reportUnreachable(this.id);
  }
}
