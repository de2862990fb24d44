/**
 * Simulator runs one Schedule: several SimNodes in one process, on a simulated clock (ms)
 * and a simulated network, with the schedule's faults and client operations. After every
 * step it runs the SafetyChecker; at the end it heals everything, waits for the members to
 * converge, and checks the client history for linearizability.
 *
 * Everything is deterministic: events are ordered by (time, sequence), and all randomness
 * comes from Prngs seeded by the schedule's seed. The trace hash of a run summarizes every
 * event and Ready, so two runs of one schedule must print the same hash.
 */
import { SnapshotStatus } from '../../raft/rawnode.ts';
import type { Ready, ReadState } from '../../raft/ready.ts';
import { StateType } from '../../raft/ready.ts';
import { refusal } from '../../raft/validate.ts';
import { decodeMessage, encodeMessage } from '../../raftpb/codec.ts';
import { MessageType, MessageTypeNames } from '../../raftpb/types.ts';
import type { Message } from '../../raftpb/types.ts';
import { CheckResult, checkOperations, describeReport } from '../linearizability/checker.ts';
import type { CheckReport } from '../linearizability/checker.ts';
import { kvModel } from '../linearizability/kv_model.ts';
import type { KvInput, KvOutput } from '../linearizability/kv_model.ts';
import { Clients } from './clients.ts';
import type { ClientStats } from './clients.ts';
import { handleEvent } from './faults.ts';
import type { FaultHost } from './faults.ts';
import { EventHeap } from './heap.ts';
import type { Timed } from './heap.ts';
import { Invariant, SafetyChecker } from './invariants.ts';
import type { Violation } from './invariants.ts';
import type { KvCommand } from './kv.ts';
import { Network } from './network.ts';
import { SimNode, isMember } from './node.ts';
import type { NodeHost } from './node.ts';
import { Hash53, Prng, splitmix32 } from './prng.ts';
import type { Schedule, SimEvent, SimOptions } from './schedule.ts';
import { LEADER_REF, REMEMBERED_REF } from './schedule.ts';

/** TICK_MS is the simulated time between two ticks of a node. */
export const TICK_MS = 10;
/** MAX_NODES bounds how many node ids a run may ever use (new members get fresh ids). */
export const MAX_NODES = 9;
/** PROBE_MS is the period of the simulator's housekeeping (retirements, convergence). */
const PROBE_MS = 100;
/** RETIRE_MS is the least time a removed node keeps running (etcd's stopWithDelay). */
const RETIRE_MS = 1000;

/** SimStats counts what happened in a run. */
export interface SimStats extends ClientStats {
  steps: number;
  messages: number;
  dropped: number;
  elections: number;
  crashes: number;
  restarts: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  confChanges: number;
  transfers: number;
  truncations: number;
  /** truncatedEntries counts the entries overwritten on disk by conflicting ones. */
  truncatedEntries: number;
}

/** SimResult is the outcome of one run. */
export interface SimResult {
  schedule: Schedule;
  violations: Violation[];
  /** trace is the hex trace hash: equal for equal runs. */
  trace: string;
  stats: SimStats;
  /** converged: the members caught up with each other after healing. */
  converged: boolean;
  /** endTime is the simulated time at which the run stopped (ms). */
  endTime: number;
  linearizability: CheckReport<KvInput, KvOutput> | undefined;
}

/** SimRunOptions tune a run without changing what it does. */
export interface SimRunOptions {
  /** linearizabilityTimeoutMs bounds the final history check; default 10,000. */
  linearizabilityTimeoutMs?: number;
  /** onTrace receives a line for every processed event (debugging; slow). */
  onTrace?: (line: string) => void;
  /**
   * replayPm makes the network misbehave further, for fuzzing: with this per-mille chance at
   * every send it also delivers a message captured earlier in the run (an old duplicate,
   * arbitrarily late), half the time as a MsgApp cut down to a prefix of its entries.
   */
  replayPm?: number;
}

type QKind = 'tick' | 'persist' | 'apply' | 'deliver' | 'report' | 'event' | 'heal' | 'probe';

/** Report is what a transport tells its node about a message it sent. */
const Report = { SnapshotFinish: 1, SnapshotFailure: 2, Unreachable: 3 } as const;

interface QEvent extends Timed {
  kind: QKind;
  node: SimNode | undefined;
  inc: number;
  from: number;
  to: number;
  bytes: Uint8Array | undefined;
  ev: SimEvent | undefined;
  /** code is the Report of a 'report' event. */
  code?: number;
}

const calm = { minDelay: 1, maxDelay: 10, dropPm: 0, dupPm: 0, longPm: 0 };

/** Simulator runs one schedule; see the file comment. Use runSchedule(). */
export class Simulator implements NodeHost, FaultHost {
  readonly schedule: Schedule;
  readonly options: SimOptions;
  readonly checker = new SafetyChecker();
  readonly clients: Clients;
  readonly network: Network;
  readonly nodes: SimNode[] = [];
  readonly stats: SimStats;
  remembered: SimNode | undefined;
  now = 0;
  private readonly queue = new EventHeap<QEvent>();
  private seq = 0;
  private readonly trace = new Hash53();
  private readonly diskRng: Prng;
  private readonly runOptions: SimRunOptions;
  private readonly endTime: number;
  private settling = false;
  private readonly captured: { from: number; inc: number; to: number; bytes: Uint8Array }[] = [];
  private converged = false;

  constructor(schedule: Schedule, runOptions: SimRunOptions = {}) {
    this.schedule = schedule;
    this.options = schedule.options;
    this.runOptions = runOptions;
    const root = new Prng(schedule.seed);
    this.network = new Network(root.fork(1), this.options);
    this.diskRng = root.fork(2);
    this.clients = new Clients(this.checker, () => this.now);
    this.endTime = schedule.duration + schedule.settle;
    this.stats = {
      steps: 0,
      messages: 0,
      dropped: 0,
      elections: 0,
      crashes: 0,
      restarts: 0,
      snapshotsSent: 0,
      snapshotsInstalled: 0,
      confChanges: 0,
      transfers: 0,
      truncations: 0,
      truncatedEntries: 0,
      ...this.clients.stats,
    };
  }

  /** run executes the schedule to the end, or to the first violation. */
  run(): SimResult {
    const voters = Math.max(1, Math.min(5, this.options.voters));
    const peers = Array.from({ length: voters }, (_, i) => i + 1);
    for (const id of peers) this.addNode(id, peers);
    const events = this.schedule.events
      .filter((e) => e.at < this.schedule.duration)
      .sort((a, b) => a.at - b.at);
    for (const ev of events) this.push(ev.at, 'event', undefined, { ev });
    this.push(this.schedule.duration, 'heal', undefined);
    this.push(PROBE_MS, 'probe', undefined);
    this.loop();
    if (this.checker.ok()) this.finish();
    Object.assign(this.stats, this.clients.stats);
    return this.result();
  }

  private loop(): void {
    for (;;) {
      const e = this.queue.pop();
      if (e === undefined || e.t > this.endTime || this.converged) break;
      this.now = e.t;
      this.checker.now = e.t;
      this.stats.steps++;
      try {
        this.handle(e);
      } catch (err) {
        this.coreError(
          err,
          `handling ${e.kind}${e.node !== undefined ? ` on node ${e.node.id}` : ''}`,
        );
      }
      this.checker.afterStep(this.nodes);
      if (!this.checker.ok()) break;
    }
  }

  private handle(e: QEvent): void {
    this.trace.add(e.t).add(e.seq);
    this.runOptions.onTrace?.(`${e.t} ${e.kind} node=${e.node?.id ?? '-'} ${e.from}->${e.to}`);
    const n = e.node;
    if (n !== undefined && n.pausedUntil > e.t && e.kind !== 'deliver') {
      this.defer(e, n.pausedUntil);
      return;
    }
    switch (e.kind) {
      case 'tick':
        if (n !== undefined && n.alive && n.incarnation === e.inc) {
          n.tick();
          this.later(TICK_MS, 'tick', n);
        }
        return;
      case 'persist':
        if (n !== undefined && n.incarnation === e.inc) n.persist();
        return;
      case 'apply':
        if (n !== undefined && n.incarnation === e.inc) n.apply();
        return;
      case 'deliver':
        this.deliver(e);
        return;
      case 'report':
        this.handleReport(e);
        return;
      case 'event':
        if (e.ev !== undefined && !this.settling) this.fire(e.ev);
        return;
      case 'heal':
        this.heal();
        return;
      case 'probe':
        this.probe();
        return;
    }
  }

  /** defer re-queues an event for a frozen node at the end of its pause. */
  private defer(e: QEvent, until: number): void {
    this.queue.push({ ...e, t: until, seq: this.seq++ });
  }

  private fire(ev: SimEvent): void {
    this.trace.addString(ev.kind).add(ev.a).add(ev.b);
    handleEvent(this, ev);
  }

  private push(
    t: number,
    kind: QKind,
    node: SimNode | undefined,
    extra: Partial<QEvent> = {},
  ): void {
    this.queue.push({
      t,
      seq: this.seq++,
      kind,
      node,
      inc: node?.incarnation ?? 0,
      from: extra.from ?? 0,
      to: extra.to ?? 0,
      bytes: extra.bytes,
      ev: extra.ev,
    });
  }

  // ---- NodeHost ------------------------------------------------------------------------

  /** later implements NodeHost. */
  later(delay: number, kind: 'persist' | 'apply' | 'tick', node: SimNode): void {
    this.push(this.now + delay, kind, node);
  }

  /** diskDelay implements NodeHost. */
  diskDelay(max: number): number {
    return max <= 0 ? 0 : this.diskRng.range(0, max);
  }

  /** randomIntnFor implements NodeHost: one stream per node and incarnation. */
  randomIntnFor(id: number, incarnation: number): (n: number) => number {
    const rng = new Prng(splitmix32(this.schedule.seed ^ splitmix32(id * 1000 + incarnation)));
    return (n) => rng.int(n);
  }

  /** send implements NodeHost: each message is encoded, then delivered, lost or duplicated. */
  send(from: SimNode, msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.stats.messages++;
      this.trace.add(m.type).add(m.to).add(m.term).add(m.index);
      const why = refusal(m, m.to);
      if (why !== undefined) {
        const name = MessageTypeNames[m.type] ?? m.type;
        this.checker.fail(Invariant.Crash, `${from.id} sent a ${name} peers refuse: ${why}`);
      }
      const delays = this.network.plan(from.id, m.to);
      if (delays.length === 0) {
        this.stats.dropped++;
        this.transportFailure(from.id, from.incarnation, m.to, m.type);
        continue;
      }
      const bytes = encodeMessage(m);
      this.capture(from, m, bytes);
      for (const d of delays) {
        this.queue.push({
          t: this.now + d,
          seq: this.seq++,
          kind: 'deliver',
          node: from,
          inc: from.incarnation,
          from: from.id,
          to: m.to,
          bytes,
          ev: undefined,
        });
      }
    }
  }

  /** capture remembers sent messages and, under replayPm, redelivers an old one. */
  private capture(from: SimNode, m: Message, bytes: Uint8Array): void {
    const pm = this.runOptions.replayPm ?? 0;
    if (pm <= 0) return;
    const c = this.captured;
    if (c.length < 512) c.push({ from: from.id, inc: from.incarnation, to: m.to, bytes });
    else c[this.diskRng.int(c.length)] = { from: from.id, inc: from.incarnation, to: m.to, bytes };
    if (!this.diskRng.perMille(pm)) return;
    const old = this.diskRng.pick(c);
    let b = old.bytes;
    const om = decodeMessage(b);
    if (om.type === MessageType.MsgApp && om.entries.length > 1 && this.diskRng.chance(0.5)) {
      om.entries = om.entries.slice(0, this.diskRng.range(0, om.entries.length - 1));
      b = encodeMessage(om);
    }
    this.queue.push({
      t: this.now + this.diskRng.range(0, 200),
      seq: this.seq++,
      kind: 'deliver',
      node: undefined,
      inc: old.inc,
      from: old.from,
      to: old.to,
      bytes: b,
      ev: undefined,
    });
  }

  private deliver(e: QEvent): void {
    const dest = this.node(e.to);
    const bytes = e.bytes;
    if (bytes === undefined) return;
    if (dest !== undefined && dest.pausedUntil > e.t) {
      this.defer(e, dest.pausedUntil);
      return;
    }
    const m = decodeMessage(bytes, { copy: false });
    if (
      m.type === MessageType.MsgSnap &&
      this.options.deferSnapshots === true &&
      dest?.busy === true
    ) {
      this.defer(e, this.now + 1);
      return;
    }
    if (dest === undefined || !dest.alive || this.network.isCut(e.from, e.to)) {
      this.stats.dropped++;
      this.transportFailure(e.from, e.inc, e.to, m.type);
      return;
    }
    this.trace.add(m.type).add(m.from).add(m.to).add(m.term).add(m.index).add(m.logTerm);
    this.trace
      .add(m.commit)
      .add(m.entries.length)
      .add(m.reject ? 1 : 0);
    const err = dest.step(m);
    if (err !== undefined) {
      this.coreError(err, `stepping ${MessageTypeNames[m.type] ?? m.type} into ${dest.id}`);
    }
    if (m.type === MessageType.MsgSnap) {
      this.stats.snapshotsSent++;
      this.report(e.from, e.inc, e.to, Report.SnapshotFinish);
    }
  }

  /** transportFailure tells the sender what its transport would notice of a lost message. */
  private transportFailure(from: number, inc: number, to: number, type: number): void {
    if (type === MessageType.MsgSnap) {
      this.report(from, inc, to, Report.SnapshotFailure);
    } else if (type === MessageType.MsgApp && this.network.chance(0.25)) {
      this.report(from, inc, to, Report.Unreachable);
    }
  }

  /**
   * report queues a transport report for the incarnation of `from` that sent the message; a
   * report is never lost (a leader waits in StateSnapshot for the one about a snapshot), but
   * it waits for the end of a pause like anything else the node does.
   */
  private report(from: number, inc: number, to: number, code: number): void {
    const s = this.node(from);
    if (s === undefined || s.incarnation !== inc) return;
    this.queue.push({
      t: this.now,
      seq: this.seq++,
      kind: 'report',
      node: s,
      inc,
      from,
      to,
      bytes: undefined,
      ev: undefined,
      code,
    });
  }

  private handleReport(e: QEvent): void {
    const s = e.node;
    const rn = s?.rn;
    if (s === undefined || rn === undefined || s.incarnation !== e.inc) return;
    if (e.code === Report.Unreachable) rn.reportUnreachable(e.to);
    else {
      const ok = e.code === Report.SnapshotFinish;
      rn.reportSnapshot(e.to, ok ? SnapshotStatus.SnapshotFinish : SnapshotStatus.SnapshotFailure);
    }
    s.pump();
  }

  /** onCommand implements NodeHost. */
  onCommand(node: SimNode, cmd: KvCommand, index: number): void {
    this.clients.onCommand(node, cmd, index);
  }

  /** onReadState implements NodeHost. */
  onReadState(node: SimNode, rs: ReadState): void {
    this.clients.onReadState(node, rs);
  }

  /** onApplied implements NodeHost. */
  onApplied(node: SimNode): void {
    this.clients.onApplied(node);
  }

  /** onCrash implements NodeHost. */
  onCrash(node: SimNode): void {
    this.clients.onCrash(node);
  }

  /** traceReady implements NodeHost. */
  traceReady(node: SimNode, rd: Ready): void {
    const h = this.trace;
    h.add(node.id).add(node.incarnation).add(rd.hardState.term).add(rd.hardState.vote);
    h.add(rd.hardState.commit).add(rd.entries.length).add(rd.committedEntries.length);
    h.add(rd.messages.length).add(rd.snapshot?.metadata.index ?? 0);
    const first = rd.entries[0];
    if (first !== undefined && first.index <= node.disk.lastIndex()) {
      this.stats.truncations++;
      this.stats.truncatedEntries += node.disk.lastIndex() - first.index + 1;
    }
    if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0)
      this.stats.snapshotsInstalled++;
  }

  // ---- FaultHost -----------------------------------------------------------------------

  /** node returns the node with the given id, if it was ever started. */
  node(id: number): SimNode | undefined {
    return this.nodes.find((n) => n.id === id);
  }

  /** addNode creates and starts a node; the initial voters pass the bootstrap peers. */
  addNode(id: number, peers?: number[]): SimNode | undefined {
    if (this.node(id) !== undefined || this.nodes.length >= MAX_NODES) return undefined;
    const n = new SimNode(this, id, peers);
    this.nodes.push(n);
    n.start();
    return n;
  }

  /** nextNodeId is the id a new member would get. */
  nextNodeId(): number {
    return this.nodes.reduce((m, n) => Math.max(m, n.id), 0) + 1;
  }

  /** leader returns the alive leader with the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      const r = n.raft;
      if (r === undefined || r.state !== StateType.StateLeader) continue;
      if (best === undefined || r.term > (best.raft?.term ?? 0)) best = n;
    }
    return best;
  }

  /** ref resolves a node argument: remembered, leader, or by position (see schedule.ts). */
  ref(a: number): SimNode | undefined {
    if (a >= REMEMBERED_REF && this.remembered !== undefined) return this.remembered;
    if (a >= LEADER_REF) {
      const l = this.leader();
      if (l !== undefined) return l;
    }
    const live = this.nodes.filter((n) => !n.decommissioned);
    return live.length === 0 ? undefined : live[a % live.length];
  }

  /** coreError records an exception from the core (or the harness) as a crash violation. */
  coreError(err: unknown, what: string): void {
    const text =
      err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
    this.checker.fail(Invariant.Crash, `${what}: ${text}`);
  }

  // ---- the end of a run ----------------------------------------------------------------

  /** heal ends the fault phase: everything is repaired and the cluster must converge. */
  private heal(): void {
    this.settling = true;
    this.network.heal();
    this.network.conditions = { ...calm };
    for (const n of this.nodes) {
      n.armed = undefined;
      n.pausedUntil = 0;
      if (!n.alive && !n.decommissioned) {
        n.start();
        this.stats.restarts++;
      }
    }
  }

  private probe(): void {
    this.retireRemoved();
    if (this.settling && this.isConverged()) this.converged = true;
    else this.push(this.now + PROBE_MS, 'probe', undefined);
  }

  /**
   * retireRemoved shuts down the nodes that applied their own removal at least RETIRE_MS
   * ago, once every member of their last configuration has applied the removal too. (etcd
   * stops such a member after a fixed delay; waiting for the others as well keeps a removal
   * that was not yet known everywhere from leaving the cluster without a quorum for good.)
   */
  private retireRemoved(): void {
    for (const n of this.nodes) {
      const at = n.removedAt;
      if (at === undefined) continue;
      if (n.removedSince === undefined) n.removedSince = this.now;
      if (this.now - n.removedSince < RETIRE_MS) continue;
      const cs = n.sm.confState;
      const done = this.nodes.every((m) => !isMember(cs, m.id) || (m.alive && m.sm.index >= at));
      if (done) n.retire();
    }
  }

  /**
   * isConverged: there is a leader with an entry of its term committed, nothing uncommitted,
   * and every member of its configuration is up and has applied everything.
   */
  private isConverged(): boolean {
    const l = this.leader();
    const r = l?.raft;
    if (l === undefined || r === undefined) return false;
    const log = r.raftLog;
    if (log.lastIndex() !== log.committed || log.zeroTermOnOutOfBounds(log.committed) !== r.term) {
      return false;
    }
    const cs = r.trk.confState();
    if (!isMember(cs, l.id)) return false;
    for (const n of this.nodes) {
      if (!isMember(cs, n.id)) continue;
      if (!n.alive || n.sm.index !== log.committed) return false;
    }
    return true;
  }

  private finish(): void {
    if (!this.converged) {
      this.checker.now = this.now;
      this.checker.fail(Invariant.Convergence, this.describeLag());
      return;
    }
    const l = this.leader();
    if (l !== undefined) this.clients.finish(l);
  }

  private describeLag(): string {
    const parts = this.nodes.map((n) => {
      const r = n.raft;
      if (r === undefined) return `${n.id}:${n.decommissioned ? 'removed' : 'down'}`;
      const st = ['F', 'C', 'L', 'P'][r.state] ?? '?';
      return `${n.id}:${st} t${r.term} c${r.raftLog.committed} a${n.sm.index} last${r.raftLog.lastIndex()}`;
    });
    return `members did not converge within ${this.schedule.settle}ms after healing: ${parts.join(', ')}`;
  }

  private result(): SimResult {
    let lin: CheckReport<KvInput, KvOutput> | undefined;
    if (this.checker.ok()) {
      lin = checkOperations(kvModel, this.clients.history, {
        timeoutMs: this.runOptions.linearizabilityTimeoutMs ?? 10_000,
      });
      if (lin.result !== CheckResult.Ok) {
        this.checker.fail(Invariant.Linearizability, describeReport(kvModel, lin));
      }
    }
    this.stats.elections = this.checker.leaderTerms();
    this.trace.add(this.checker.violations.length);
    return {
      schedule: this.schedule,
      violations: this.checker.violations,
      trace: this.trace.hex(),
      stats: this.stats,
      converged: this.converged,
      endTime: this.now,
      linearizability: lin,
    };
  }
}

/** runSchedule runs one schedule and returns what happened. */
export function runSchedule(schedule: Schedule, options?: SimRunOptions): SimResult {
  return new Simulator(schedule, options).run();
}
