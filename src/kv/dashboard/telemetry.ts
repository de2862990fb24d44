/**
 * Telemetry: what one member knows about itself, for its /metrics and its dashboard. It
 * reads the Node's status and events, the KvService's proposal counters and the traffic
 * and disk timings of the wrappers in traffic.ts, and keeps a short history (events, one
 * sample a second) that a page gets when it connects. See docs/dashboard.md.
 *
 * Wiring, in the order a member starts:
 *
 * ```ts
 * const telemetry = new Telemetry();
 * const storage = await openDiskStorage(dir, { fs: telemetry.walFS() });
 * const tcp = new TcpTransport({ id, clusterId, listen });
 * const node = await Node.start({ id, storage, transport: telemetry.transport(tcp), ... });
 * telemetry.attach({ node, storage, transport: tcp });
 * const server = await KvServer.listen({ service, telemetry, ... }); // attaches the service
 * ```
 */
import type { LeaderChange, Node, SnapshotEvent, Transport } from '../../node/index.ts';
import { StateType } from '../../raft/ready.ts';
import type { ConfState, Message } from '../../raftpb/types.ts';
import { MessageType } from '../../raftpb/types.ts';
import { StateType as ProgressState } from '../../tracker/state.ts';
import type { Progress } from '../../tracker/progress.ts';
import { nodeFS } from '../../wal/fs.ts';
import type { WalFS } from '../../wal/fs.ts';
import type { KvService } from '../service.ts';
import { memberLabel, RaftkvMetrics } from './metrics.ts';
import type { MetricsSource } from './metrics.ts';
import type {
  EventKind,
  Hello,
  MemberView,
  NodeState,
  PeerView,
  ProgressStateName,
  ProgressView,
  RaftEvent,
  Role,
  Sample,
  StreamEvents,
} from './protocol.ts';
import { observedTransport, PeerTraffic, timedWalFS } from './traffic.ts';
import type { TrafficCounters } from './traffic.ts';

/** TelemetryOptions configure a Telemetry; every field is optional. */
export interface TelemetryOptions {
  /**
   * controlUrl is the control API of the `raftkv local` supervisor this member runs under;
   * the dashboard offers kill, restart and isolate when it is set. Default: the
   * RAFTKV_CONTROL_URL environment variable.
   */
  controlUrl?: string | undefined;
  /** sampleIntervalMs is the length of one Sample. Default 1000. */
  sampleIntervalMs?: number;
  /** maxSamples is how many samples are kept. Default 180 (three minutes). */
  maxSamples?: number;
  /** maxEvents is how many events are kept. Default 200. */
  maxEvents?: number;
}

/** WalStatsLike is the part of DiskStorage.stats the telemetry reads. */
export interface WalStatsLike {
  readonly stats: { fsyncs: number; bytesWritten: number };
}

/** TcpStatsLike is the part of TcpTransport.stats() the telemetry reads. */
export interface TcpStatsLike {
  stats(): { peers: readonly { id: number; connected: boolean; dropped: number }[] };
}

/** AttachOptions name the parts of a member the telemetry reads; see Telemetry.attach. */
export interface AttachOptions {
  node?: Node | undefined;
  service?: KvService | undefined;
  /** storage: a DiskStorage, for the WAL's byte and fsync counts. */
  storage?: WalStatsLike | undefined;
  /** transport: the TcpTransport itself (not the wrapper), for connections and drops. */
  transport?: TcpStatsLike | undefined;
}

/** TelemetryListener receives the stream's messages as they happen. */
export type TelemetryListener = <K extends keyof StreamEvents>(
  type: K,
  data: StreamEvents[K],
) => void;

const roleNames: Record<number, Role> = {
  [StateType.StateFollower]: 'follower',
  [StateType.StateCandidate]: 'candidate',
  [StateType.StateLeader]: 'leader',
  [StateType.StatePreCandidate]: 'pre-candidate',
};

const progressNames: Record<number, ProgressStateName> = {
  [ProgressState.StateProbe]: 'probe',
  [ProgressState.StateReplicate]: 'replicate',
  [ProgressState.StateSnapshot]: 'snapshot',
};

function progressView(id: number, pr: Progress): ProgressView {
  return {
    id,
    match: pr.match,
    next: pr.next,
    state: progressNames[pr.state] ?? 'probe',
    inflight: pr.inflights.count(),
    inflightBytes: pr.inflights.bytes(),
    paused: pr.isPaused(),
    recentActive: pr.recentActive,
    learner: pr.isLearner,
    pendingSnapshot: pr.pendingSnapshot,
  };
}

function describeConf(cs: ConfState): string {
  const list = (ids: readonly number[]) => `[${[...ids].sort((a, b) => a - b).join(', ')}]`;
  let s = `voters ${list(cs.voters)}`;
  if (cs.votersOutgoing.length > 0) s += ` (joint with ${list(cs.votersOutgoing)})`;
  if (cs.learners.length > 0) s += `, learners ${list(cs.learners)}`;
  return s;
}

/** percentile returns the q-quantile (0..1) of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

const MAX_DURATIONS = 10_000;

/**
 * Telemetry collects one member's metrics, events and samples; see the file comment. It
 * starts a sampling timer (unref'd) at construction; close() stops it and detaches.
 */
export class Telemetry {
  readonly metrics: RaftkvMetrics;
  /** controlUrl is the `raftkv local` supervisor's control API, if any. */
  readonly controlUrl: string | undefined;
  readonly startedAt = Date.now();
  private readonly traffic: PeerTraffic;
  private readonly maxSamples: number;
  private readonly maxEvents: number;
  private node: Node | undefined;
  private service: KvService | undefined;
  private storage: WalStatsLike | undefined;
  private tcp: TcpStatsLike | undefined;
  private readonly events: RaftEvent[] = [];
  private seq = 0;
  private readonly samples: Sample[] = [];
  private durations: number[] = [];
  private proposalsDone = 0;
  private failedInInterval = 0;
  private last: { t: number; applied: number };
  private readonly listeners = new Set<TelemetryListener>();
  private readonly detach: (() => void)[] = [];
  /** The last vote / pre-vote term announced, so that one campaign is one event. */
  private readonly campaigns = new Map<number, number>();
  /** The last configuration reported. */
  private lastConf = '';
  private backendLeaderOff: (() => void) | undefined;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly src: MetricsSource;

  constructor(o: TelemetryOptions = {}) {
    this.controlUrl = o.controlUrl ?? (process.env['RAFTKV_CONTROL_URL'] || undefined);
    this.maxSamples = o.maxSamples ?? 180;
    this.maxEvents = o.maxEvents ?? 200;
    this.traffic = new PeerTraffic({
      rtt: (to, seconds) => this.metrics.peerRtt.observe({ To: memberLabel(to) }, seconds),
      notable: (m) => this.onNotable(m),
    });
    this.src = this.source();
    this.metrics = new RaftkvMetrics(this.src);
    this.last = { t: Date.now(), applied: 0 };
    const interval = o.sampleIntervalMs ?? 1000;
    this.timer = setInterval(() => this.sample(), interval);
    this.timer.unref();
  }

  /** walFS returns a WalFS over `inner` (default the real one) that times fsyncs and snapshots. */
  walFS(inner: WalFS = nodeFS): WalFS {
    return timedWalFS(inner, {
      fsync: (s) => this.metrics.walFsync.observe(s),
      snapshotSave: (s) => this.metrics.snapSave.observe(s),
    });
  }

  /** transport returns a Transport over `inner` that counts peer traffic; give it to the Node. */
  transport(inner: Transport): Transport {
    return observedTransport(inner, this.traffic);
  }

  /**
   * attach names the parts of the member to read. Call it with the node once it started
   * (its events from then on are recorded); KvServer attaches its service itself.
   */
  attach(o: AttachOptions): this {
    if (o.node !== undefined && this.node === undefined) this.attachNode(o.node);
    if (o.service !== undefined && this.service === undefined) this.attachService(o.service);
    this.storage = o.storage ?? this.storage;
    this.tcp = o.transport ?? this.tcp;
    return this;
  }

  /** subscribe calls listener with every event and every sample as they come. */
  subscribe(listener: TelemetryListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** hello returns the current state and the history kept. */
  hello(): Hello {
    return { state: this.state(), events: [...this.events], samples: [...this.samples] };
  }

  /** close stops the sampling timer and detaches from the node and the service. */
  close(): void {
    clearInterval(this.timer);
    for (const d of this.detach.splice(0)) d();
    this.listeners.clear();
  }

  /** id is the member's id (0 until a node or a service is attached). */
  get id(): number {
    return this.node?.id ?? this.service?.backend.id ?? 0;
  }

  /** state reads the member's state now. */
  state(): NodeState {
    const base = this.node !== undefined ? this.nodeState(this.node) : this.backendState();
    const svc = this.service;
    const members = this.members();
    const wal = this.storage?.stats;
    return {
      ...base,
      name: members.find((m) => m.id === base.id)?.name ?? '',
      clusterId: svc?.backend.clusterId ?? 0,
      at: Date.now(),
      startedAt: this.startedAt,
      peers: this.peerViews(base.id),
      members,
      proposals: {
        pending: svc?.proposalStats.pending ?? 0,
        failed: svc?.proposalStats.failed ?? 0,
      },
      revision: svc?.stateMachine.revision ?? 0,
      dbSize: svc?.stateMachine.store.byteSize ?? 0,
      ...(wal !== undefined ? { wal: { fsyncs: wal.fsyncs, bytesWritten: wal.bytesWritten } } : {}),
      ...(this.controlUrl !== undefined ? { controlUrl: this.controlUrl } : {}),
    };
  }

  // ---------------------------------------------------------------------------------------

  private attachNode(node: Node): void {
    this.node = node;
    // The node's events replace the backend's leader changes, if those were followed.
    this.backendLeaderOff?.();
    const onLeader = (ev: LeaderChange) => this.onLeaderChange(ev.leader, ev.term);
    const onConf = (cs: ConfState) => this.onConfChange(cs);
    const onSnap = (ev: SnapshotEvent) => this.onSnapshot(ev);
    const onFatal = (err: Error) =>
      this.record('fatal', `node ${node.id} stopped: ${err.message}`, `fatal:${node.id}`);
    node.on('leaderChange', onLeader);
    node.on('membershipChange', onConf);
    node.on('snapshot', onSnap);
    node.on('fatal', onFatal);
    this.detach.push(() => {
      node.off('leaderChange', onLeader);
      node.off('membershipChange', onConf);
      node.off('snapshot', onSnap);
      node.off('fatal', onFatal);
    });
    this.last = { t: Date.now(), applied: node.status().appliedIndex };
    if (node.leader !== 0) this.metrics.leaderChanges.inc();
  }

  private attachService(svc: KvService): void {
    this.service = svc;
    const stats = svc.proposalStats;
    const previous = stats.onDone;
    stats.onDone = (seconds, failed) => {
      previous?.(seconds, failed);
      this.onProposalDone(seconds, failed);
    };
    this.detach.push(() => {
      if (stats.onDone !== undefined) stats.onDone = previous;
    });
    if (this.node !== undefined) return;
    // Without the node, leader changes come from the backend (without election events).
    const off = svc.backend.onLeaderChange((leader) =>
      this.onLeaderChange(leader, svc.backend.status().term),
    );
    this.backendLeaderOff = off;
    this.detach.push(off);
    this.last = { t: Date.now(), applied: svc.backend.status().appliedIndex };
  }

  private source(): MetricsSource {
    const status = () => {
      const n = this.node;
      if (n !== undefined) {
        const s = n.status();
        const learner = s.confState.learners.includes(n.id);
        return { ...s, isLeader: s.leader === n.id, learner };
      }
      const b = this.service?.backend;
      const s = b?.status();
      return {
        leader: s?.leader ?? 0,
        isLeader: s !== undefined && s.leader === b?.id,
        learner: s?.isLearner ?? false,
        commitIndex: s?.commitIndex ?? 0,
        appliedIndex: s?.appliedIndex ?? 0,
      };
    };
    return {
      memberId: () => this.id,
      leader: () => status().leader,
      isLeader: () => status().isLeader,
      isLearner: () => status().learner,
      commitIndex: () => status().commitIndex,
      appliedIndex: () => status().appliedIndex,
      proposals: () => this.service?.proposalStats ?? { pending: 0, failed: 0 },
      peers: () => this.peerCounters(),
      walBytes: () => this.storage?.stats.bytesWritten,
      dbSize: () => this.service?.stateMachine.store.byteSize ?? 0,
    };
  }

  private nodeState(node: Node): Omit<NodeState, CommonFields> {
    const s = node.status();
    const progress = s.raft.progress;
    return {
      id: node.id,
      role: roleNames[s.role] ?? 'follower',
      term: s.term,
      leader: s.leader,
      commit: s.commitIndex,
      applied: s.appliedIndex,
      lastIndex: s.lastIndex,
      firstIndex: s.firstIndex,
      snapshotIndex: s.snapshotIndex,
      leadTransferee: s.raft.leadTransferee,
      voters: [...s.confState.voters],
      votersOutgoing: [...s.confState.votersOutgoing],
      learners: [...s.confState.learners],
      progress:
        progress === undefined
          ? []
          : [...progress].map(([id, pr]) => progressView(id, pr)).sort((a, b) => a.id - b.id),
    };
  }

  private backendState(): Omit<NodeState, CommonFields> {
    const b = this.service?.backend;
    const s = b?.status();
    const members = b?.members() ?? [];
    const id = b?.id ?? 0;
    return {
      id,
      role: s !== undefined && s.leader === id && id !== 0 ? 'leader' : 'follower',
      term: s?.term ?? 0,
      leader: s?.leader ?? 0,
      commit: s?.commitIndex ?? 0,
      applied: s?.appliedIndex ?? 0,
      lastIndex: s?.commitIndex ?? 0,
      firstIndex: 0,
      snapshotIndex: 0,
      leadTransferee: 0,
      voters: members.filter((m) => !m.isLearner).map((m) => m.id),
      votersOutgoing: [],
      learners: members.filter((m) => m.isLearner).map((m) => m.id),
      progress: [],
    };
  }

  private members(): MemberView[] {
    const svc = this.service;
    if (svc !== undefined) {
      return svc.members().map((m) => ({
        id: m.ID,
        name: m.name,
        clientURLs: [...m.clientURLs],
        peerURLs: [...m.peerURLs],
        isLearner: m.isLearner,
      }));
    }
    const cs = this.node?.status().confState;
    if (cs === undefined) return [];
    const view = (id: number, isLearner: boolean): MemberView => ({
      id,
      name: '',
      clientURLs: [],
      peerURLs: [],
      isLearner,
    });
    return [...cs.voters.map((id) => view(id, false)), ...cs.learners.map((id) => view(id, true))];
  }

  private peerCounters(): TrafficCounters[] {
    const counters = this.traffic.counters();
    const tcp = this.tcp?.stats().peers;
    if (tcp === undefined) return counters;
    const byId = new Map(counters.map((c) => [c.id, { ...c }]));
    for (const p of tcp) {
      const c = byId.get(p.id) ?? {
        id: p.id,
        sentBytes: 0,
        receivedBytes: 0,
        sentMessages: 0,
        receivedMessages: 0,
      };
      byId.set(p.id, { ...c, connected: p.connected, dropped: p.dropped });
    }
    return [...byId.values()].sort((a, b) => a.id - b.id);
  }

  private peerViews(self: number): PeerView[] {
    return this.peerCounters()
      .filter((p) => p.id !== self && p.id !== 0)
      .map((p) => {
        const v: PeerView = {
          id: p.id,
          sentBytes: p.sentBytes,
          receivedBytes: p.receivedBytes,
          sentMessages: p.sentMessages,
          receivedMessages: p.receivedMessages,
        };
        if (p.rttMs !== undefined) v.rttMs = p.rttMs;
        if (p.connected !== undefined) v.connected = p.connected;
        if (p.dropped !== undefined) v.dropped = p.dropped;
        return v;
      });
  }

  // ---------------------------------------------------------------------------------------
  // Events

  private emit<K extends keyof StreamEvents>(type: K, data: StreamEvents[K]): void {
    for (const l of this.listeners) {
      try {
        l(type, data);
      } catch {
        // A listener's failure (a closed stream) is its own business.
      }
    }
  }

  private record(kind: EventKind, text: string, key: string): void {
    const e: RaftEvent = { seq: ++this.seq, at: Date.now(), node: this.id, kind, text, key };
    this.events.push(e);
    if (this.events.length > this.maxEvents) this.events.shift();
    this.emit('event', e);
  }

  private onLeaderChange(leader: number, term: number): void {
    if (leader === 0) {
      this.record(
        'election',
        `node ${this.id} lost its leader in term ${term}`,
        `lost:${this.id}:${term}`,
      );
      return;
    }
    this.metrics.leaderChanges.inc();
    this.record('leader', `node ${leader} is leader in term ${term}`, `leader:${term}:${leader}`);
  }

  private onConfChange(cs: ConfState): void {
    const at = this.node?.status().appliedIndex ?? 0;
    const conf = describeConf(cs);
    // A log replayed from the start applies the bootstrap entries again: say it once.
    if (conf === this.lastConf) return;
    this.lastConf = conf;
    this.record('membership', `configuration at index ${at}: ${conf}`, `conf:${at}`);
  }

  private onSnapshot(ev: SnapshotEvent): void {
    const id = this.id;
    const text = ev.restored
      ? `node ${id} restored a snapshot at index ${ev.index} (term ${ev.term})`
      : `node ${id} took a snapshot at index ${ev.index} (term ${ev.term})`;
    this.record('snapshot', text, `snap:${id}:${ev.index}:${ev.restored}`);
  }

  private onNotable(m: Message): void {
    switch (m.type) {
      case MessageType.MsgPreVote:
      case MessageType.MsgVote: {
        const pre = m.type === MessageType.MsgPreVote;
        const mark = pre ? -m.term : m.term;
        if (this.campaigns.get(m.from) === mark) return;
        this.campaigns.set(m.from, mark);
        const what = pre ? `starts a pre-vote for term ${m.term}` : `campaigns in term ${m.term}`;
        this.record('election', `node ${m.from} ${what}`, `vote:${m.from}:${mark}`);
        return;
      }
      case MessageType.MsgSnap: {
        const index = m.snapshot?.metadata.index ?? 0;
        const text = `leader ${m.from} sends node ${m.to} a snapshot at index ${index}`;
        this.record('snapshot', text, `sendsnap:${m.from}:${m.to}:${index}`);
        return;
      }
      case MessageType.MsgTimeoutNow:
        this.record(
          'transfer',
          `leader ${m.from} hands leadership to node ${m.to} (term ${m.term})`,
          `transfer:${m.term}:${m.to}`,
        );
    }
  }

  // ---------------------------------------------------------------------------------------
  // Samples

  private onProposalDone(seconds: number, failed: boolean): void {
    this.proposalsDone++;
    if (failed) {
      this.failedInInterval++;
      return;
    }
    if (this.durations.length < MAX_DURATIONS) this.durations.push(seconds);
    else this.durations[Math.floor(Math.random() * MAX_DURATIONS)] = seconds;
  }

  private sample(): void {
    if (this.id === 0) return;
    const st = this.src;
    const t = Date.now();
    const applied = st.appliedIndex();
    const dt = Math.max(0.001, (t - this.last.t) / 1000);
    const sorted = this.durations.sort((a, b) => a - b);
    const s: Sample = {
      t,
      commit: st.commitIndex(),
      applied,
      applyRate: Math.max(0, applied - this.last.applied) / dt,
      proposals: this.proposalsDone,
      writeRate: this.proposalsDone / dt,
      failed: this.failedInInterval,
    };
    const p50 = percentile(sorted, 0.5);
    const p99 = percentile(sorted, 0.99);
    if (p50 !== undefined) s.p50Ms = p50 * 1000;
    if (p99 !== undefined) s.p99Ms = p99 * 1000;
    this.durations = [];
    this.proposalsDone = 0;
    this.failedInInterval = 0;
    this.last = { t, applied };
    this.samples.push(s);
    if (this.samples.length > this.maxSamples) this.samples.shift();
    this.emit('sample', s);
  }
}

/** CommonFields are the NodeState fields that do not depend on where the raft state comes from. */
type CommonFields =
  | 'name'
  | 'clusterId'
  | 'at'
  | 'startedAt'
  | 'peers'
  | 'members'
  | 'proposals'
  | 'revision'
  | 'dbSize'
  | 'wal'
  | 'controlUrl';
