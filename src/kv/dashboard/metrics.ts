/**
 * RaftkvMetrics: one member's Prometheus metrics (prom-client), named as etcd names them so
 * that etcd's dashboards and alerts apply (etcd server/etcdserver/metrics.go,
 * server/storage/wal/metrics.go, snap/metrics.go, rafthttp/metrics.go). Gauges and
 * counters that mirror state are read from a MetricsSource at scrape time; durations are
 * observed as they happen. docs/dashboard.md lists every metric and where it comes from.
 */
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  exponentialBuckets,
} from 'prom-client';
import { ServerVersion } from '../service.ts';

/** PeerCounters are the traffic counters of one peer, in etcd's sense (message sizes). */
export interface PeerCounters {
  id: number;
  sentBytes: number;
  receivedBytes: number;
  sentMessages: number;
  receivedMessages: number;
  /** dropped counts messages the transport could not send (etcd's sent_failures). */
  dropped?: number | undefined;
  connected?: boolean | undefined;
}

/** MetricsSource is what the metrics read at scrape time. */
export interface MetricsSource {
  /** memberId is this member's id (0 while unknown). */
  memberId(): number;
  leader(): number;
  isLeader(): boolean;
  isLearner(): boolean;
  commitIndex(): number;
  appliedIndex(): number;
  proposals(): { pending: number; failed: number };
  peers(): readonly PeerCounters[];
  /** walBytes is the WAL's bytes written, when a DiskStorage is attached. */
  walBytes(): number | undefined;
  dbSize(): number;
}

let processRegistry: Registry | undefined;

/**
 * processMetrics returns the registry of prom-client's default metrics (process_*,
 * nodejs_*), one per process however many members it runs.
 */
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** memberLabel formats a member id as etcd does in labels: lowercase hex. */
export function memberLabel(id: number): string {
  return id.toString(16);
}

/** setCounter replaces a counter's values with the given ones (state read at scrape time). */
function setCounter<L extends string>(
  c: Counter<L>,
  values: Iterable<[Partial<Record<L, string>>, number]>,
): void {
  c.reset();
  for (const [labels, v] of values) c.inc(labels, v);
}

/**
 * RaftkvMetrics owns a Registry (not prom-client's global one, so that several members can
 * live in one process) with the metrics of one member.
 */
export class RaftkvMetrics {
  readonly registry = new Registry();
  /** walFsync observes each WAL fdatasync (etcd_disk_wal_fsync_duration_seconds). */
  readonly walFsync: Histogram;
  /** snapSave observes each snapshot file save (etcd_debugging_snap_save_total_duration_seconds). */
  readonly snapSave: Histogram;
  /** peerRtt observes heartbeat round trips per peer (etcd_network_peer_round_trip_time_seconds). */
  readonly peerRtt: Histogram<'To'>;
  /** leaderChanges counts changes to a new, known leader. */
  readonly leaderChanges: Counter;

  constructor(src: MetricsSource) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge(
      'etcd_server_has_leader',
      'Whether or not a leader exists. 1 is existence, 0 is not.',
      () => (src.leader() !== 0 ? 1 : 0),
    );
    gauge(
      'etcd_server_is_leader',
      'Whether or not this member is a leader. 1 if is, 0 otherwise.',
      () => (src.isLeader() ? 1 : 0),
    );
    gauge(
      'etcd_server_is_learner',
      'Whether or not this member is a learner. 1 if is, 0 otherwise.',
      () => (src.isLearner() ? 1 : 0),
    );
    gauge(
      'etcd_server_proposals_committed_total',
      'The total number of consensus proposals committed.',
      () => src.commitIndex(),
    );
    gauge(
      'etcd_server_proposals_applied_total',
      'The total number of consensus proposals applied.',
      () => src.appliedIndex(),
    );
    gauge(
      'etcd_server_proposals_pending',
      'The current number of pending proposals to commit.',
      () => src.proposals().pending,
    );
    gauge(
      'etcd_mvcc_db_total_size_in_bytes',
      'Total size of the key-value data in bytes (approximate).',
      () => src.dbSize(),
    );
    gauge(
      'etcd_disk_wal_write_bytes_total',
      'Total number of bytes written in WAL.',
      () => src.walBytes() ?? 0,
    );
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total',
      help: 'The number of leader changes seen.',
      registers,
    });
    new Counter({
      name: 'etcd_server_proposals_failed_total',
      help: 'The total number of failed proposals seen.',
      registers,
      collect() {
        setCounter(this, [[{}, src.proposals().failed]]);
      },
    });
    this.info(src);
    this.walFsync = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL.',
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.snapSave = new Histogram({
      name: 'etcd_debugging_snap_save_total_duration_seconds',
      help: 'The total latency distributions of save called by snapshot.',
      buckets: exponentialBuckets(0.001, 2, 14),
      registers,
    });
    this.peerRtt = new Histogram({
      name: 'etcd_network_peer_round_trip_time_seconds',
      help: 'Round-Trip-Time histogram between peers (leader: MsgHeartbeat to MsgHeartbeatResp).',
      labelNames: ['To'],
      buckets: exponentialBuckets(0.0001, 2, 16),
      registers,
    });
    this.peerCounters(src);
  }

  /** metrics renders the member's metrics and the process's in the Prometheus text format. */
  metrics(): Promise<string> {
    return Registry.merge([this.registry, processMetrics()]).metrics();
  }

  /** contentType is the Content-Type of metrics(). */
  get contentType(): string {
    return this.registry.contentType;
  }

  private info(src: MetricsSource): void {
    const registers = [this.registry];
    new Gauge({
      name: 'etcd_server_id',
      help: 'Server or member ID in hexadecimal format. 1 for server_id label with current ID.',
      labelNames: ['server_id'],
      registers,
      collect() {
        this.reset();
        this.set({ server_id: memberLabel(src.memberId()) }, 1);
      },
    });
    new Gauge({
      name: 'etcd_server_version',
      help: 'Which version is running. 1 for server_version label with current version.',
      labelNames: ['server_version'],
      registers,
    }).set({ server_version: ServerVersion }, 1);
  }

  private peerCounters(src: MetricsSource): void {
    const registers = [this.registry];
    const perPeer = (
      name: string,
      help: string,
      label: 'To' | 'From',
      read: (p: PeerCounters) => number | undefined,
    ) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers,
        collect() {
          const rows: [Partial<Record<'To' | 'From', string>>, number][] = [];
          for (const p of src.peers()) {
            const v = read(p);
            if (v !== undefined) rows.push([{ [label]: memberLabel(p.id) }, v]);
          }
          setCounter(this, rows);
        },
      });
    perPeer(
      'etcd_network_peer_sent_bytes_total',
      'The total number of bytes sent to peers.',
      'To',
      (p) => p.sentBytes,
    );
    perPeer(
      'etcd_network_peer_received_bytes_total',
      'The total number of bytes received from peers.',
      'From',
      (p) => p.receivedBytes,
    );
    perPeer(
      'etcd_network_peer_sent_messages_total',
      'The total number of raft messages sent to peers.',
      'To',
      (p) => p.sentMessages,
    );
    perPeer(
      'etcd_network_peer_received_messages_total',
      'The total number of raft messages received from peers.',
      'From',
      (p) => p.receivedMessages,
    );
    perPeer(
      'etcd_network_peer_sent_failures_total',
      'The total number of send failures from peers.',
      'To',
      (p) => p.dropped,
    );
    new Gauge({
      name: 'etcd_network_active_peers',
      help: 'The current number of active peer connections.',
      labelNames: ['Local', 'Remote'],
      registers,
      collect() {
        this.reset();
        for (const p of src.peers()) {
          if (p.connected !== true) continue;
          this.set({ Local: memberLabel(src.memberId()), Remote: memberLabel(p.id) }, 1);
        }
      },
    });
  }
}
