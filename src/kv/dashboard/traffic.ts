/**
 * Wrappers that let the telemetry see a member's traffic and disk without hooks inside the
 * transport or the WAL: a Transport that counts what passes through it (etcd counts peer
 * bytes as message sizes, as here) and times heartbeat round trips, and a WalFS that times
 * the WAL's fdatasyncs and snapshot file saves.
 */
import type { Message } from '../../raftpb/types.ts';
import { MessageType } from '../../raftpb/types.ts';
import { messageSize } from '../../raftpb/codec.ts';
import type { Transport, TransportHandler } from '../../node/interfaces.ts';
import type { OpenMode, WalFile, WalFS } from '../../wal/fs.ts';
import { SNAP_SUFFIX, TMP_SUFFIX } from '../../wal/names.ts';
import type { PeerCounters } from './metrics.ts';

/** TrafficListener hears what the traffic counters see that the dashboard reports. */
export interface TrafficListener {
  /** rtt: a heartbeat round trip to peer `to` took `seconds`. */
  rtt(to: number, seconds: number): void;
  /** notable: this member sent m, a vote, a pre-vote, a snapshot or a MsgTimeoutNow. */
  notable(m: Message): void;
}

/** TrafficCounters are a peer's counters with its last heartbeat round trip, if any. */
export type TrafficCounters = PeerCounters & { rttMs?: number };

/** NOTABLE are the message types worth an event: elections, snapshots, transfers. */
const NOTABLE: ReadonlySet<number> = new Set([
  MessageType.MsgVote,
  MessageType.MsgPreVote,
  MessageType.MsgSnap,
  MessageType.MsgTimeoutNow,
]);

/** PeerTraffic keeps per-peer message and byte counters and the last heartbeat round trip. */
export class PeerTraffic {
  private readonly peers = new Map<number, TrafficCounters>();
  /** Send time of the last heartbeat to each peer not answered yet. */
  private readonly heartbeats = new Map<number, number>();
  private readonly listener: TrafficListener;

  constructor(listener: TrafficListener) {
    this.listener = listener;
  }

  private peer(id: number): TrafficCounters {
    let p = this.peers.get(id);
    if (p === undefined) {
      p = { id, sentBytes: 0, receivedBytes: 0, sentMessages: 0, receivedMessages: 0 };
      this.peers.set(id, p);
    }
    return p;
  }

  /** sent counts messages handed to the transport. */
  sent(msgs: readonly Message[]): void {
    for (const m of msgs) {
      const p = this.peer(m.to);
      p.sentMessages++;
      p.sentBytes += messageSize(m);
      // The last heartbeat wins: on a healthy link its answer comes long before the next.
      if (m.type === MessageType.MsgHeartbeat) this.heartbeats.set(m.to, performance.now());
      else if (NOTABLE.has(m.type)) this.listener.notable(m);
    }
  }

  /** received counts a message the transport delivered. */
  received(m: Message): void {
    const p = this.peer(m.from);
    p.receivedMessages++;
    p.receivedBytes += messageSize(m);
    if (m.type !== MessageType.MsgHeartbeatResp) return;
    const sentAt = this.heartbeats.get(m.from);
    if (sentAt === undefined) return;
    this.heartbeats.delete(m.from);
    const seconds = (performance.now() - sentAt) / 1000;
    p.rttMs = seconds * 1000;
    this.listener.rtt(m.from, seconds);
  }

  /** forget drops a removed peer's counters. */
  forget(id: number): void {
    this.peers.delete(id);
    this.heartbeats.delete(id);
  }

  /** counters returns the counters of every peer seen, by id. */
  counters(): TrafficCounters[] {
    return [...this.peers.values()].sort((a, b) => a.id - b.id);
  }
}

/**
 * observedTransport returns a Transport that forwards everything to `inner` and counts
 * what passes in PeerTraffic. Give it to Node.start instead of the transport itself.
 */
export function observedTransport(inner: Transport, traffic: PeerTraffic): Transport {
  return {
    start(handler: TransportHandler): Promise<void> {
      return inner.start({
        receive(m) {
          traffic.received(m);
          handler.receive(m);
        },
        reportUnreachable: (id) => handler.reportUnreachable(id),
        reportSnapshot: (id, ok) => handler.reportSnapshot(id, ok),
      });
    },
    send(msgs) {
      traffic.sent(msgs);
      inner.send(msgs);
    },
    addPeer: (id, address) => inner.addPeer(id, address),
    removePeer(id) {
      traffic.forget(id);
      inner.removePeer(id);
    },
    close: () => inner.close(),
    closed: () => inner.closed(),
  };
}

/** DiskTimings hears how long the WAL's durable writes took, in seconds. */
export interface DiskTimings {
  /** fsync: one fdatasync of a WAL segment (a group commit). */
  fsync(seconds: number): void;
  /** snapshotSave: one snapshot file written, synced and renamed into place. */
  snapshotSave(seconds: number): void;
}

/**
 * timedWalFS returns a WalFS over `inner` that times every fdatasync (the WAL syncs its
 * batches with datasync; segment creation and snapshot files use sync) and every snapshot
 * file save, from opening `<name>.snap.tmp` to its rename into place (snapfile.ts).
 */
export function timedWalFS(inner: WalFS, timings: DiskTimings): WalFS {
  const snapStarts = new Map<string, number>();
  const timedFile = (f: WalFile): WalFile => ({
    write: (data, position) => f.write(data, position),
    async datasync() {
      const start = performance.now();
      await f.datasync();
      timings.fsync((performance.now() - start) / 1000);
    },
    sync: () => f.sync(),
    truncate: (size) => f.truncate(size),
    close: () => f.close(),
  });
  return {
    async open(path: string, mode: OpenMode) {
      if (path.endsWith(SNAP_SUFFIX + TMP_SUFFIX)) snapStarts.set(path, performance.now());
      return timedFile(await inner.open(path, mode));
    },
    readFile: (path) => inner.readFile(path),
    readdir: (dir) => inner.readdir(dir),
    async rename(from, to) {
      await inner.rename(from, to);
      const start = snapStarts.get(from);
      if (start === undefined) return;
      snapStarts.delete(from);
      timings.snapshotSave((performance.now() - start) / 1000);
    },
    unlink(path) {
      snapStarts.delete(path);
      return inner.unlink(path);
    },
    mkdir: (dir) => inner.mkdir(dir),
    syncDir: (dir) => inner.syncDir(dir),
  };
}
