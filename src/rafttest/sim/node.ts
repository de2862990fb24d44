/**
 * SimNode is one simulated server: a RawNode, its disk and its state machine, driven through
 * the Ready contract exactly as etcd-raft documents it for synchronous storage:
 *
 *   ready() -> persist snapshot, entries and HardState -> send the messages -> apply the
 *   committed entries -> advance()
 *
 * Each arrow can take simulated time, and the node keeps receiving messages and ticks in
 * between (as etcd's node.go does while it waits for Advance). The disk is a MemoryStorage
 * that only the persist step writes, so a crash loses exactly what was not yet durable: the
 * RawNode, the Ready in progress, the state machine, and a HardState written without sync.
 */
import { ReadOnlyOption } from '../../raft/config.ts';
import type { Config } from '../../raft/config.ts';
import { ErrProposalDropped, RaftError } from '../../raft/errors.ts';
import { discardLogger } from '../../raft/logger.ts';
import { RawNode } from '../../raft/rawnode.ts';
import type { Ready, ReadState } from '../../raft/ready.ts';
import { MemoryStorage } from '../../raft/storage.ts';
import { noLimit } from '../../raft/util.ts';
import { decodeConfChange, decodeConfChangeV2 } from '../../raftpb/codec.ts';
import { EntryType, isEmptyHardState, isEmptySnap } from '../../raftpb/types.ts';
import type {
  ConfChange,
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Message,
} from '../../raftpb/types.ts';
import type { SafetyChecker } from './invariants.ts';
import { Invariant } from './invariants.ts';
import type { KvCommand } from './kv.ts';
import { KvStateMachine } from './kv.ts';
import type { SimOptions } from './schedule.ts';

/** CrashPoint is a moment inside the Ready cycle at which an armed crash happens. */
export const CrashPoint = {
  /** After the Ready is durable, before its messages are sent. */
  AfterPersist: 1,
  /** After the messages are sent, before anything is applied. */
  AfterSend: 2,
  /** Halfway through applying the committed entries, before advance(). */
  MidApply: 3,
} as const;
/** CrashPoint is the numeric value of a crash moment. */
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

/** NodeHost is what a SimNode needs from the simulator around it. */
export interface NodeHost {
  readonly checker: SafetyChecker;
  readonly options: SimOptions;
  /** later schedules a node event (persist, apply, tick) after `delay` ms. */
  later(delay: number, kind: 'persist' | 'apply' | 'tick', node: SimNode): void;
  /** diskDelay draws a latency in [0, max] ms. */
  diskDelay(max: number): number;
  /** send puts messages on the network. */
  send(from: SimNode, msgs: readonly Message[]): void;
  /** randomIntnFor is the election randomness of one incarnation of a node. */
  randomIntnFor(id: number, incarnation: number): (n: number) => number;
  /** onCommand is told of every command applied for the first time by a node. */
  onCommand(node: SimNode, cmd: KvCommand, index: number): void;
  /** onReadState is told of every ReadState a node's Ready hands out. */
  onReadState(node: SimNode, rs: ReadState): void;
  /** onApplied is told that a node applied more entries (pending reads may be served). */
  onApplied(node: SimNode): void;
  /** onCrash is told that a node lost its volatile state. */
  onCrash(node: SimNode): void;
  /** traceReady mixes a Ready into the run's trace hash. */
  traceReady(node: SimNode, rd: Ready): void;
}

const Phase = { Idle: 0, Persisting: 1, Applying: 2 } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** isMember reports whether id is in any role of cs. */
export function isMember(cs: ConfState | undefined, id: number): boolean {
  if (cs === undefined) return false;
  return (
    cs.voters.includes(id) ||
    cs.learners.includes(id) ||
    cs.votersOutgoing.includes(id) ||
    cs.learnersNext.includes(id)
  );
}

/** addsMember reports whether `after` has a member that `before` lacks. */
function addsMember(before: ConfState | undefined, after: ConfState): boolean {
  const ids = [...after.voters, ...after.learners];
  return ids.some((id) => !isMember(before, id));
}

/** SimNode is one server of the simulation; see the file comment. */
export class SimNode {
  readonly id: number;
  /** disk is the durable state: only persist() and snapshots write it. */
  readonly disk = new MemoryStorage();
  /** rn is the live RawNode, undefined while the node is down. */
  rn: RawNode | undefined;
  sm = new KvStateMachine();
  incarnation = 0;
  /** decommissioned: the node applied its own removal and shut down for good. */
  decommissioned = false;
  /**
   * removedAt is the index of the applied conf change that removed this node (volatile).
   * The node keeps running, a leader keeps replicating, until the simulator retires it.
   */
  removedAt: number | undefined;
  /** removedSince is when the simulator first saw removedAt set (ms). */
  removedSince: number | undefined;
  /** pausedUntil: while the simulated time is below it, the node is frozen (ms). */
  pausedUntil = 0;
  /** armed is a crash waiting for its moment in the Ready cycle. */
  armed: CrashPoint | undefined;
  private readonly host: NodeHost;
  private readonly bootstrapPeers: number[] | undefined;
  private durableHs: HardState = { term: 0, vote: 0, commit: 0 };
  /** unsyncedHs is a HardState written without sync: lost if the node crashes. */
  private unsyncedHs: HardState | undefined;
  private phase: Phase = Phase.Idle;
  private rd: Ready | undefined;
  /** addedMember: the last batch applied a conf change that added a node. */
  private addedMember = false;
  /** snapIndex is the index of the snapshot on disk. */
  private snapIndex = 0;

  constructor(host: NodeHost, id: number, bootstrapPeers?: number[]) {
    this.host = host;
    this.id = id;
    this.bootstrapPeers = bootstrapPeers;
  }

  /** raft is the live raft state machine, for the invariant checks. */
  get raft(): RawNode['raft'] | undefined {
    return this.rn?.raft;
  }

  /** busy reports whether a Ready is being persisted or applied. */
  get busy(): boolean {
    return this.phase !== Phase.Idle;
  }

  /** alive reports whether the node is running. */
  get alive(): boolean {
    return this.rn !== undefined;
  }

  /**
   * start boots the node from its disk: the state machine from the disk's snapshot, raft
   * from its HardState and log. A node of the initial configuration whose disk is still
   * empty bootstraps (again), as etcd does when it finds no WAL.
   */
  start(): void {
    if (this.rn !== undefined || this.decommissioned) return;
    this.incarnation++;
    const snap = this.disk.snapshot();
    const md = snap.metadata;
    this.sm = new KvStateMachine();
    this.sm.restore(snap.data, md.index, md.term, md.confState);
    this.snapIndex = md.index;
    this.rn = new RawNode(this.config(md.index));
    const empty = this.disk.lastIndex() === 0 && isEmptyHardState(this.durableHs);
    if (empty && this.bootstrapPeers !== undefined) {
      this.rn.bootstrap(this.bootstrapPeers.map((id) => ({ id })));
    }
    this.host.checker.onRestart(this);
    this.host.later(this.host.diskDelay(9), 'tick', this);
    this.pump();
  }

  private config(applied: number): Config {
    const o = this.host.options;
    return {
      id: this.id,
      electionTick: 10,
      heartbeatTick: o.heartbeatTick,
      storage: this.disk,
      applied,
      maxSizePerMsg: o.maxSizePerMsg >= 4096 ? noLimit : o.maxSizePerMsg,
      maxInflightMsgs: o.maxInflightMsgs,
      checkQuorum: o.checkQuorum,
      preVote: o.preVote,
      stepDownOnRemoval: o.stepDownOnRemoval,
      readOnlyOption: ReadOnlyOption.ReadOnlySafe,
      logger: discardLogger,
      randomIntn: this.host.randomIntnFor(this.id, this.incarnation),
    };
  }

  /** crash stops the node and throws away everything that was not durable. */
  crash(): void {
    if (this.rn === undefined) return;
    this.rn = undefined;
    this.rd = undefined;
    this.pausedUntil = 0;
    this.removedAt = undefined;
    this.removedSince = undefined;
    this.phase = Phase.Idle;
    this.unsyncedHs = undefined;
    this.armed = undefined;
    this.sm = new KvStateMachine();
    this.host.onCrash(this);
  }

  /** pump takes the next Ready, if there is one and none is in progress. */
  pump(): void {
    const rn = this.rn;
    if (rn === undefined || this.phase !== Phase.Idle || !rn.hasReady()) return;
    const rd = rn.ready();
    this.rd = rd;
    this.phase = Phase.Persisting;
    this.host.traceReady(this, rd);
    this.host.checker.onReady(this, rn.raft, rd.entries);
    for (const rs of rd.readStates) this.host.onReadState(this, rs);
    this.host.later(this.host.diskDelay(this.host.options.persistMs), 'persist', this);
  }

  /** persist makes the Ready in progress durable, then sends its messages. */
  persist(): void {
    const rd = this.rd;
    if (rd === undefined || this.phase !== Phase.Persisting) return;
    let sync = rd.mustSync || !this.host.options.lazyCommit;
    if (!isEmptySnap(rd.snapshot) && rd.snapshot !== undefined) {
      this.disk.applySnapshot(rd.snapshot);
      this.snapIndex = rd.snapshot.metadata.index;
      sync = true;
    }
    if (rd.entries.length > 0) this.disk.append(rd.entries);
    const hs = isEmptyHardState(rd.hardState) ? undefined : rd.hardState;
    if (sync) this.sync(hs);
    else if (hs !== undefined) this.unsyncedHs = { ...hs };
    if (this.crashIfArmed(CrashPoint.AfterPersist)) return;
    this.host.send(this, rd.messages);
    if (this.crashIfArmed(CrashPoint.AfterSend)) return;
    this.phase = Phase.Applying;
    this.host.later(this.host.diskDelay(this.host.options.applyMs), 'apply', this);
  }

  /** sync makes the unsynced HardState, then hs, durable. */
  private sync(hs?: HardState): void {
    const write = hs ?? this.unsyncedHs;
    this.unsyncedHs = undefined;
    if (write === undefined) return;
    this.durableHs = { term: write.term, vote: write.vote, commit: write.commit };
    this.disk.setHardState(this.durableHs);
    // Check what the disk holds, not what was asked of it.
    this.host.checker.onPersist(this.id, this.disk.initialState().hardState);
  }

  private crashIfArmed(at: CrashPoint): boolean {
    if (this.armed !== at) return false;
    this.crash();
    return true;
  }

  /** apply applies the Ready's snapshot and committed entries, then calls advance(). */
  apply(): void {
    const rd = this.rd;
    const rn = this.rn;
    if (rd === undefined || rn === undefined || this.phase !== Phase.Applying) return;
    const snap = rd.snapshot;
    if (snap !== undefined && !isEmptySnap(snap)) {
      const md = snap.metadata;
      this.sm.restore(snap.data, md.index, md.term, md.confState);
      this.host.checker.onApplied(this.id, md.index, this.sm.chain);
    }
    const ents = rd.committedEntries;
    const half = this.armed === CrashPoint.MidApply ? Math.floor(ents.length / 2) : -1;
    for (let i = 0; i < ents.length; i++) {
      if (i === half && this.crashIfArmed(CrashPoint.MidApply)) return;
      if (!this.applyEntry(rn, ents[i] as Entry)) return;
    }
    rn.advance();
    this.rd = undefined;
    this.phase = Phase.Idle;
    // A snapshot older than a member's addition cannot bring that member up to date (it
    // refuses a snapshot whose ConfState lacks it), so take one right after an addition.
    if (this.addedMember || this.sm.index - this.snapIndex >= this.host.options.snapEvery) {
      this.addedMember = false;
      this.snapshotNow();
    }
    this.host.onApplied(this);
    this.pump();
  }

  private applyEntry(rn: RawNode, e: Entry): boolean {
    const checker = this.host.checker;
    if (e.index !== this.sm.index + 1) {
      checker.fail(
        Invariant.AppliedPrefix,
        `node ${this.id} was given entry ${e.index} to apply after ${this.sm.index}`,
        this.id,
      );
      return false;
    }
    if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) {
      const data = e.data ?? new Uint8Array();
      const cc: ConfChange | ConfChangeV2 =
        e.type === EntryType.EntryConfChange ? decodeConfChange(data) : decodeConfChangeV2(data);
      const cs = rn.applyConfChange(cc);
      if (isMember(this.sm.confState, this.id) && !isMember(cs, this.id)) this.removedAt = e.index;
      if (addsMember(this.sm.confState, cs)) this.addedMember = true;
      this.sm.confState = cs;
    }
    const cmd = this.sm.applyEntry(e);
    checker.onApplied(this.id, e.index, this.sm.chain);
    if (cmd !== undefined) this.host.onCommand(this, cmd, e.index);
    return true;
  }

  /** retire shuts down a node that applied its own removal, for good. */
  retire(): void {
    this.crash();
    this.decommissioned = true;
  }

  /**
   * snapshotNow records a snapshot of the state machine on disk and compacts the log up to
   * snapKeep entries before it. Like any sync, it also makes an unsynced HardState durable.
   */
  snapshotNow(): void {
    const cs = this.sm.confState;
    if (this.rn === undefined || cs === undefined) return;
    const idx = this.sm.index;
    if (idx <= this.snapIndex || idx > this.disk.lastIndex()) return;
    this.sync();
    this.disk.createSnapshot(idx, cs, this.sm.snapshot());
    this.snapIndex = idx;
    const to = idx - this.host.options.snapKeep;
    if (to > this.disk.firstIndex() - 1) this.disk.compact(to);
  }

  /** tick advances the node's logical clock by one tick. */
  tick(): void {
    this.rn?.tick();
    this.pump();
  }

  /**
   * step hands a message to raft. It returns the error when raft threw something other
   * than its documented RaftErrors (those are what a real server would log and ignore).
   */
  step(m: Message): unknown {
    const rn = this.rn;
    if (rn === undefined) return undefined;
    try {
      rn.step(m);
    } catch (err) {
      if (!(err instanceof RaftError)) return err;
    }
    this.pump();
    return undefined;
  }

  /**
   * call runs a client-facing RawNode method: true if raft accepted it, false if it threw
   * ErrProposalDropped. Anything else it throws is returned as the error.
   */
  call(f: (rn: RawNode) => void): { ok: boolean; err?: unknown } {
    const rn = this.rn;
    if (rn === undefined) return { ok: false };
    try {
      f(rn);
    } catch (err) {
      if (err instanceof ErrProposalDropped) return { ok: false };
      return { ok: false, err };
    }
    this.pump();
    return { ok: true };
  }
}
