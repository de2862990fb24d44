/**
 * Peer: everything the transport keeps for one remote member: the bounded queue of encoded
 * messages waiting to go out, the open connection (if any), the snapshot being streamed,
 * and the reconnection state. A slow or dead peer only fills its own queue; once that is
 * full its messages are dropped and raft is told, so memory stays bounded and the other
 * peers never wait (docs/transport.md, "Backpressure").
 */
import { messageSize } from '../raftpb/codec.ts';
import { MessageType, MessageTypeNames } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import type { Connection } from './connection.ts';
import { FRAME_HEADER_BYTES, sizedMessagesFrameSize, writeSizedMessagesFrame } from './frame.ts';
import type { SizedMessage } from './frame.ts';
import { MessageQueue } from './queue.ts';
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

/**
 * BATCH_WRITE_BYTES caps one write of a batch (a larger message gets a write of its own).
 * Everything queued for a peer is flushed at once: in one write when it fits (any Ready of
 * votes, heartbeats, responses or small appends), else in writes issued back to back while
 * the socket takes them. Pieces of this size let the receiver decode the first messages
 * while the sender is still encoding the rest; one multi-megabyte write serialises the two
 * processes (bench/transport.ts measured about 0.7x the throughput of no batching).
 */
const BATCH_WRITE_BYTES = 64 * 1024;

/**
 * BATCH_FRAME_BYTES caps the Messages frames inside a write (a larger message gets a frame of
 * its own), so that the receiver assembles few frames across its reads.
 */
const BATCH_FRAME_BYTES = 16 * 1024;

/** errorText renders any thrown value for a log line. */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
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
  /** disconnectedAt is when the peer last had no connection (performance.now()). */
  disconnectedAt = performance.now();
  /** probedAt is when this member last dialed a peer that normally dials it. */
  probedAt = -Infinity;
  /** dropped and messagesSent are counters for PeerStats. */
  dropped = 0;
  messagesSent = 0;
  readonly #host: PeerHost;
  /**
   * Messages in send order with their encoded sizes, encoded at flush time straight into
   * the write buffer (send() takes ownership). 0 <= length <= maxQueueMessages and
   * 0 <= bytes <= maxQueueBytes.
   */
  readonly #queue = new MessageQueue();
  /** The snapshot being streamed, bound to the connection it started on. */
  #snap: { out: OutgoingSnapshot; conn: Connection } | undefined;
  #nextSnapId = 1;
  #flushScheduled = false;
  #immediate: NodeJS.Immediate | undefined;
  #flushImmediate: NodeJS.Immediate | undefined;
  /** True from the first drop until the queue empties: one log line per episode. */
  #dropping = false;

  /** Creates the peer; nothing is dialed yet. */
  constructor(host: PeerHost, id: number, address: string) {
    this.#host = host;
    this.id = id;
    this.address = address;
  }

  /** enqueue queues m (sized, not yet encoded), or drops it and tells raft. */
  enqueue(m: Message): void {
    const o = this.#host.opts;
    let size: number;
    try {
      size = messageSize(m);
    } catch (err) {
      this.#drop(m, `cannot encode it: ${errorText(err)}`);
      return;
    }
    if (4 + size > o.maxFrameBytes) {
      this.#drop(m, `its ${size} bytes exceed the frame limit ${o.maxFrameBytes}`);
      return;
    }
    if (this.#queue.length >= o.maxQueueMessages || this.#queue.bytes + size > o.maxQueueBytes) {
      const q = `${this.#queue.length} messages, ${this.#queue.bytes} bytes`;
      this.#drop(m, `the queue is full (${q})`, true);
      return;
    }
    this.#queue.push({ message: m, size });
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
      this.disconnectedAt = performance.now();
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
   * flush writes what is queued while the connection is open and not blocked: with batching,
   * everything queued goes out together (one write up to BATCH_WRITE_BYTES, back-to-back
   * writes beyond), then the next snapshot chunk; without, each message is its own frame and
   * write. What the socket cannot take now waits in the queue for 'drain'.
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
    // What raft sent before the peer was removed still goes out (a removed member learns
    // of its removal from the last appends), as it did when flushes ran in a microtask.
    if (this.#flushScheduled) this.flush();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    if (this.#flushImmediate !== undefined) clearImmediate(this.#flushImmediate);
    this.#flushImmediate = undefined;
    this.#flushScheduled = false;
    this.#snap = undefined;
    this.#queue.clear();
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
      queuedBytes: this.#queue.bytes,
      socketBufferedBytes: this.conn?.socket.writableLength ?? 0,
      dropped: this.dropped,
      messagesSent: this.messagesSent,
    };
  }

  /**
   * scheduleFlush flushes once per turn of the event loop. With batching, at the end of the
   * turn (setImmediate runs right after the poll phase): the messages that every I/O
   * callback of this turn produced (acks from each follower, client requests, WAL
   * completions) share one write per peer; each write to a loopback socket costs tens of
   * microseconds. Without batching, in a microtask.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    if (!this.#host.opts.batching) {
      queueMicrotask(() => this.flush());
      return;
    }
    this.#flushImmediate = setImmediate(() => {
      this.#flushImmediate = undefined;
      if (this.#flushScheduled) this.flush();
    });
  }

  #snapPending(conn: Connection): boolean {
    return this.#snap !== undefined && this.#snap.conn === conn && !this.#snap.out.sent;
  }

  /**
   * flushBatched writes the queue in pieces of up to BATCH_WRITE_BYTES while the socket
   * takes them; once it is full, the rest waits (and grows) until 'drain'. The next snapshot
   * chunk rides after the last messages.
   */
  #flushBatched(conn: Connection): void {
    const cap = Math.min(this.#host.opts.maxFrameBytes, BATCH_WRITE_BYTES);
    while (this.#queue.length > 0 && !conn.blocked && conn.state === 'open') {
      let piece = this.#queue.take(cap);
      const parts =
        this.#queue.length === 0 && this.#snapPending(conn) ? this.#snap!.out.step() : [];
      let buf: Uint8Array;
      try {
        buf = this.#encodeBatch(piece, parts);
      } catch {
        // A message that cannot be encoded (a bug upstream): find it, drop it, send the rest.
        piece = this.#encodable(piece);
        buf = this.#encodeBatch(piece, parts);
      }
      this.messagesSent += piece.length;
      if (buf.length > 0) conn.write(buf);
    }
    if (this.#queue.length === 0 && !conn.blocked && this.#snapPending(conn)) {
      conn.write(this.#encodeBatch([], this.#snap!.out.step()));
    }
  }

  /**
   * encodeBatch encodes q as Messages frames of at most BATCH_FRAME_BYTES (or maxFrameBytes)
   * each, followed by the snapshot pieces, into one buffer.
   */
  #encodeBatch(q: readonly SizedMessage[], snapParts: readonly Uint8Array[]): Uint8Array {
    const cap = Math.min(this.#host.opts.maxFrameBytes, BATCH_FRAME_BYTES);
    const cuts = [0];
    let body = 0;
    for (let i = 0; i < q.length; i++) {
      const n = 4 + q[i]!.size;
      if (body > 0 && body + n > cap) {
        cuts.push(i);
        body = 0;
      }
      body += n;
    }
    if (q.length > 0) cuts.push(q.length);
    let size = 0;
    for (let k = 0; k + 1 < cuts.length; k++)
      size += sizedMessagesFrameSize(q, cuts[k], cuts[k + 1]);
    for (const p of snapParts) size += p.length;
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    for (let k = 0; k + 1 < cuts.length; k++) {
      pos = writeSizedMessagesFrame(buf, pos, q, cuts[k], cuts[k + 1]);
    }
    for (const p of snapParts) {
      buf.set(p, pos);
      pos += p.length;
    }
    return buf;
  }

  /** encodable returns the messages of q that encode, dropping (and reporting) the others. */
  #encodable(q: readonly SizedMessage[]): SizedMessage[] {
    return q.filter((item) => {
      try {
        writeSizedMessagesFrame(Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 + item.size), 0, [item]);
        return true;
      } catch (err) {
        this.#drop(item.message, `cannot encode it: ${errorText(err)}`);
        return false;
      }
    });
  }

  #flushEach(conn: Connection): void {
    while (this.#queue.length > 0 && !conn.blocked && conn.state === 'open') {
      const item = this.#queue.take(0)[0]!;
      const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4 + item.size);
      try {
        writeSizedMessagesFrame(buf, 0, [item]);
      } catch (err) {
        this.#drop(item.message, `cannot encode it: ${errorText(err)}`);
        continue;
      }
      this.messagesSent++;
      conn.write(buf);
    }
    if (this.#queue.length === 0 && !conn.blocked && this.#snapPending(conn)) {
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
