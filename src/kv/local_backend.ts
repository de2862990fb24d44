/**
 * LocalBackend: a RaftBackend of one in-memory raft member, driven directly on RawNode and
 * MemoryStorage with a small Ready loop (etcd-raft's rawnode.go usage). It needs no
 * transport and no timers: a single voter campaigns and wins at once. For tests and for
 * trying raftkv without a cluster; nothing is durable.
 */
import { createHash } from 'node:crypto';
import type { StateMachine } from '../node/interfaces.ts';
import type { AbortLike } from '../node/waiter.ts';
import { ErrLeaderChanged, ErrNodeClosed, ErrNodeStopped } from '../node/errors.ts';
import { RawNode } from '../raft/rawnode.ts';
import type { Ready, SoftState } from '../raft/ready.ts';
import { MemoryStorage } from '../raft/storage.ts';
import { decodeConfChange, decodeConfChangeV2 } from '../raftpb/codec.ts';
import { ConfChangeType, EntryType, isEmptyHardState, newConfState } from '../raftpb/types.ts';
import type { ConfState, Entry } from '../raftpb/types.ts';
import { BackendError, BackendErrorCode } from './backend.ts';
import type { BackendMember, BackendStatus, BackendWaitOptions, RaftBackend } from './backend.ts';
import { Deferred } from './wait.ts';

/** LocalBackendOptions configures LocalBackend.start(). */
export interface LocalBackendOptions {
  /** stateMachine receives the committed commands. */
  stateMachine: StateMachine;
  /** id is the member's id. Default 1. */
  id?: number;
  /** clusterId; default clusterIdOf([id]). */
  clusterId?: number;
  /** peerURLs are reported as this member's peer URLs. Default none. */
  peerURLs?: readonly string[];
  /** snapshotInterval: snapshot after this many applied entries; 0 never. Default 10000. */
  snapshotInterval?: number;
  /** compactionMargin: log entries kept behind a snapshot. Default 1000. */
  compactionMargin?: number;
}

/** clusterIdOf derives a cluster id (48 bits) from the ids of the initial members. */
export function clusterIdOf(ids: readonly number[]): number {
  const h = createHash('sha256')
    .update([...ids].sort((a, b) => a - b).join(','))
    .digest();
  return h.readUIntBE(0, 6);
}

interface Pending {
  term: number;
  d: Deferred<unknown>;
}

/**
 * LocalBackend implements RaftBackend for a cluster of one. Proposals resolve with the
 * state machine's result once applied; reads go through raft's ReadIndex. Members can be
 * added, but they never answer: adding a voter costs the cluster its quorum (requests then
 * time out), and a learner never catches up (promotion is refused).
 */
export class LocalBackend implements RaftBackend {
  readonly id: number;
  readonly clusterId: number;
  private readonly rn: RawNode;
  private readonly storage: MemoryStorage;
  private readonly sm: StateMachine;
  private readonly snapshotInterval: number;
  private readonly compactionMargin: number;
  private readonly proposals = new Map<number, Pending>();
  private readonly reads = new Map<string, { d: Deferred<void>; index: number }>();
  private readonly listeners = new Set<(leader: number) => void>();
  private readonly urls = new Map<number, string[]>();
  private confState: ConfState;
  private applied = 0;
  private snapshotIndex = 0;
  private readSeq = 0;
  private lead = 0;
  private pumping = false;
  private again = false;
  private idle: Deferred<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(o: LocalBackendOptions) {
    this.id = o.id ?? 1;
    this.clusterId = o.clusterId ?? clusterIdOf([this.id]);
    this.sm = o.stateMachine;
    this.snapshotInterval = o.snapshotInterval ?? 10_000;
    this.compactionMargin = o.compactionMargin ?? 1000;
    this.urls.set(this.id, [...(o.peerURLs ?? [])]);
    this.confState = { ...newConfState(), voters: [this.id] };
    this.storage = MemoryStorage.withConfState(this.confState);
    this.rn = new RawNode({
      id: this.id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: this.storage,
      maxInflightMsgs: 256,
      maxSizePerMsg: 1024 * 1024,
      checkQuorum: false,
    });
  }

  /** start creates the member and resolves once it leads. */
  static async start(options: LocalBackendOptions): Promise<LocalBackend> {
    const b = new LocalBackend(options);
    b.rn.campaign();
    await b.kick();
    if (b.lead !== b.id) throw new Error(`LocalBackend: member ${b.id} did not become leader`);
    return b;
  }

  /** propose implements RaftBackend. */
  async propose(cmd: Uint8Array, options: BackendWaitOptions = {}): Promise<unknown> {
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
    // A wait rejects with signal.reason as it is, whatever its type (see STYLE.md).
    if (options.signal?.aborted === true) throw options.signal.reason;
    this.rn.propose(cmd); // throws ErrProposalDropped
    return await this.track(options.signal);
  }

  private track(signal: AbortLike | undefined): Promise<unknown> {
    const index = this.rn.raft.raftLog.lastIndex();
    const d = new Deferred<unknown>(signal, () => this.proposals.delete(index));
    if (!d.settled) this.proposals.set(index, { term: this.rn.raft.term, d });
    void this.kick();
    return d.promise;
  }

  /** readIndex implements RaftBackend. */
  readIndex(options: BackendWaitOptions = {}): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    const ctx = String(++this.readSeq);
    const d = new Deferred<void>(options.signal, () => this.reads.delete(ctx));
    if (d.settled) return d.promise;
    this.reads.set(ctx, { d, index: -1 });
    this.rn.readIndex(new TextEncoder().encode(ctx));
    void this.kick();
    return d.promise;
  }

  /** status implements RaftBackend. */
  status(): BackendStatus {
    const hs = this.rn.raft.hardState();
    return {
      leader: this.lead,
      term: hs.term,
      commitIndex: hs.commit,
      appliedIndex: this.applied,
      isLearner: this.confState.learners.includes(this.id),
    };
  }

  /** members implements RaftBackend. */
  members(): BackendMember[] {
    const cs = this.confState;
    const of = (id: number, isLearner: boolean): BackendMember => ({
      id,
      peerURLs: [...(this.urls.get(id) ?? [])],
      isLearner,
    });
    return [...cs.voters.map((id) => of(id, false)), ...cs.learners.map((id) => of(id, true))];
  }

  /** addMember implements RaftBackend. */
  addMember(
    id: number,
    peerURLs: readonly string[],
    options: BackendWaitOptions & { learner: boolean },
  ): Promise<void> {
    this.urls.set(id, [...peerURLs]);
    const type = options.learner
      ? ConfChangeType.ConfChangeAddLearnerNode
      : ConfChangeType.ConfChangeAddNode;
    return this.confChange(type, id, options.signal);
  }

  /** promoteMember implements RaftBackend: refused unless the learner is caught up. */
  promoteMember(id: number, options: BackendWaitOptions = {}): Promise<void> {
    const pr = this.rn.raft.trk.progress.get(id);
    const mine = this.rn.raft.trk.progress.get(this.id);
    if (pr === undefined || mine === undefined || pr.match < mine.match * 0.9) {
      const err = new BackendError(
        BackendErrorCode.LearnerNotReady,
        `learner ${id} is not caught up`,
      );
      return Promise.reject(err);
    }
    return this.confChange(ConfChangeType.ConfChangeAddNode, id, options.signal);
  }

  /** removeMember implements RaftBackend; this member cannot remove itself. */
  removeMember(id: number, options: BackendWaitOptions = {}): Promise<void> {
    if (id === this.id) {
      return Promise.reject(new RangeError(`LocalBackend: cannot remove the only member ${id}`));
    }
    return this.confChange(ConfChangeType.ConfChangeRemoveNode, id, options.signal);
  }

  /** transferLeadership implements RaftBackend: only to itself. */
  transferLeadership(to: number, _options: BackendWaitOptions = {}): Promise<void> {
    if (to === this.id && this.lead === this.id) return Promise.resolve();
    const err = new BackendError(BackendErrorCode.TransferFailed, `cannot transfer to ${to}`);
    return Promise.reject(err);
  }

  /** onLeaderChange implements RaftBackend. */
  onLeaderChange(listener: (leader: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** close stops the member; pending calls reject with ErrNodeClosed. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle?.promise;
    this.rejectAll(new ErrNodeClosed());
  }

  private async confChange(type: ConfChangeType, id: number, signal?: AbortLike): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
    this.rn.proposeConfChange({ type, nodeId: id, id: 0 }); // throws ErrProposalDropped
    await this.track(signal);
  }

  private refusal(): Error | undefined {
    if (this.failure !== undefined) return new ErrNodeStopped({ cause: this.failure });
    if (this.closed) return new ErrNodeClosed();
    return undefined;
  }

  /** kick runs the Ready loop until raft has nothing more to do. */
  private kick(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return (this.idle as Deferred<void>).promise;
    }
    this.pumping = true;
    this.idle = new Deferred<void>();
    void this.pump();
    return this.idle.promise;
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false;
        while (this.rn.hasReady()) await this.handleReady(this.rn.ready());
      } while (this.again);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.rejectAll(new ErrNodeStopped({ cause: this.failure }));
    } finally {
      this.pumping = false;
      this.idle?.resolve();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (!isEmptyHardState(rd.hardState)) this.storage.setHardState(rd.hardState);
    await this.applyEntries(rd.committedEntries);
    for (const rs of rd.readStates) {
      const r = this.reads.get(new TextDecoder().decode(rs.requestCtx));
      if (r !== undefined) r.index = rs.index;
    }
    this.rn.advance();
    this.resolveReads();
    await this.maybeSnapshot();
  }

  private onSoftState(ss: SoftState): void {
    if (ss.lead === this.lead) return;
    this.lead = ss.lead;
    for (const l of [...this.listeners]) l(ss.lead);
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    let run: Entry[] = [];
    for (const e of entries) {
      if (e.type === EntryType.EntryNormal) {
        run.push(e);
        continue;
      }
      await this.applyNormal(run);
      run = [];
      this.applyConfChange(e);
    }
    await this.applyNormal(run);
  }

  private async applyNormal(run: readonly Entry[]): Promise<void> {
    if (run.length === 0) return;
    const withData = run.filter((e) => e.data !== undefined && e.data.length > 0);
    const results = withData.length === 0 ? [] : await this.sm.apply(withData);
    let k = 0;
    for (const e of run) {
      const has = e.data !== undefined && e.data.length > 0;
      this.settle(e, has ? results[k++] : undefined);
    }
  }

  private applyConfChange(e: Entry): void {
    const data = e.data ?? new Uint8Array();
    const cc =
      e.type === EntryType.EntryConfChange ? decodeConfChange(data) : decodeConfChangeV2(data);
    this.confState = this.rn.applyConfChange(cc);
    this.settle(e, undefined);
  }

  private settle(e: Entry, result: unknown): void {
    this.applied = e.index;
    const p = this.proposals.get(e.index);
    if (p === undefined) return;
    this.proposals.delete(e.index);
    if (p.term === e.term) p.d.resolve(result);
    else p.d.reject(new ErrLeaderChanged());
  }

  private resolveReads(): void {
    for (const [ctx, r] of this.reads) {
      if (r.index < 0 || r.index > this.applied) continue;
      this.reads.delete(ctx);
      r.d.resolve();
    }
  }

  private async maybeSnapshot(): Promise<void> {
    const n = this.snapshotInterval;
    if (n <= 0 || this.applied - this.snapshotIndex < n) return;
    const index = this.applied;
    const data = await this.sm.snapshot();
    this.storage.createSnapshot(index, this.confState, data);
    this.snapshotIndex = index;
    const compact = index - this.compactionMargin;
    if (compact >= this.storage.firstIndex()) this.storage.compact(compact);
  }

  private rejectAll(err: Error): void {
    for (const p of this.proposals.values()) p.d.reject(err);
    for (const r of this.reads.values()) r.d.reject(err);
    this.proposals.clear();
    this.reads.clear();
  }
}
