import type { RawNode } from '../raft/rawnode.ts';
import type { Ready, SoftState } from '../raft/ready.ts';
import { LocalAppendThread, LocalApplyThread } from '../raft/util.ts';
import { isEmptyHardState, isEmptySnap } from '../raftpb/types.ts';
import type { HardState, Message, Snapshot } from '../raftpb/types.ts';
import type { Applier } from './apply.ts';
import type { DurableStorage, Transport } from './interfaces.ts';
import type { ProposalTracker } from './proposals.ts';
import type { ReadIndexQueue } from './reads.ts';

/** LoopHost is what the Ready loop needs from its Node. */
export interface LoopHost {
  readonly id: number;
  readonly rawNode: RawNode;
  readonly storage: DurableStorage;
  readonly transport: Transport;
  readonly applier: Applier;
  readonly tracker: ProposalTracker;
  readonly reads: ReadIndexQueue;
  readonly asyncStorageWrites: boolean;
  /** running: new Readys may be taken. */
  running(): boolean;
  /** alive: work already taken may go on (running or closing). */
  alive(): boolean;
  onSoftState(ss: SoftState): void;
  /** step hands a local response to raft (refusals ignored). */
  step(m: Message): void;
  /** afterWork runs after each piece of work (the Node re-checks its waiters). */
  afterWork(): void;
  fail(err: unknown): void;
}

const resolved = Promise.resolve();

/** Append is a MsgStorageAppend being written. */
interface Append {
  readonly m: Message;
  readonly snap: Snapshot | undefined;
  /** durable: the write completed (its responses may still wait for earlier writes). */
  durable: boolean;
  /** done resolves once the write completed and was handled (it never rejects). */
  done: Promise<void>;
}

/**
 * ReadyLoop takes Readys from the RawNode and does their work in the order Raft demands.
 *
 * Without asyncStorageWrites, one Ready at a time: persist (one DurableStorage.save), send,
 * restore a snapshot, apply, advance (etcd-raft's documented order).
 *
 * With asyncStorageWrites, messages to peers go out at once (the leader replicates while it
 * writes its own log, Raft thesis §10.2.1), MsgStorageAppend goes to the append worker and
 * MsgStorageApply to the apply worker; their responses are stepped back (or sent to peers)
 * only when the work is done: after the write is durable, after the entries are applied.
 */
export class ReadyLoop {
  private readonly h: LoopHost;
  private pumping = false;
  private pumpDone: Promise<void> = Promise.resolve();
  /** appends are the writes in progress, oldest first; see persist. */
  private readonly appends: Append[] = [];
  /** restoring: the oldest durable write waits for its snapshot to be restored. */
  private restoring = false;
  private applyChain: Promise<void> = Promise.resolve();

  constructor(host: LoopHost) {
    this.h = host;
  }

  /** kick makes sure the loop runs soon (in a microtask). */
  kick(): void {
    if (this.pumping || !this.h.running()) return;
    this.pumping = true;
    this.pumpDone = Promise.resolve().then(() => this.pump());
  }

  /** idle resolves once the loop, the writes and the applies have no work in progress. */
  async idle(): Promise<void> {
    for (;;) {
      const [p, a, b] = [this.pumpDone, this.appends[0], this.applyChain];
      await Promise.all([p, a?.done, b]);
      if (p === this.pumpDone && this.appends.length === 0 && b === this.applyChain) return;
    }
  }

  private async pump(): Promise<void> {
    const { h } = this;
    try {
      while (h.running() && h.rawNode.hasReady()) {
        const rd = h.rawNode.ready();
        this.observe(rd);
        if (h.asyncStorageWrites) this.dispatch(rd);
        else await this.handleSync(rd);
        h.afterWork();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.pumping = false;
    }
  }

  /** observe takes what a Ready tells before any work: leader, log changes, read states. */
  private observe(rd: Ready): void {
    const { h } = this;
    if (rd.softState !== undefined) h.onSoftState(rd.softState);
    const snap = rd.snapshot;
    if (snap !== undefined && !isEmptySnap(snap)) {
      h.tracker.onSnapshot(snap.metadata.index, snap.metadata.term);
    }
    h.tracker.onAppend(rd.entries, (e) => h.applier.keyOf(e));
    if (rd.readStates.length > 0) h.reads.onReadStates(rd.readStates, h.applier.applied);
  }

  private async handleSync(rd: Ready): Promise<void> {
    const { h } = this;
    const hs = isEmptyHardState(rd.hardState) ? undefined : rd.hardState;
    const snap = isEmptySnap(rd.snapshot) ? undefined : rd.snapshot;
    if (hs !== undefined || rd.entries.length > 0 || snap !== undefined) {
      await h.storage.save(hs, rd.entries, snap);
    }
    if (!h.alive()) return;
    h.transport.send(rd.messages);
    if (snap !== undefined) await h.applier.restore(snap);
    await h.applier.apply(rd.committedEntries);
    if (h.alive()) h.rawNode.advance();
  }

  private dispatch(rd: Ready): void {
    const out: Message[] = [];
    const local: Message[] = [];
    for (const m of rd.messages) {
      if (m.to === LocalAppendThread || m.to === LocalApplyThread) local.push(m);
      else out.push(m);
    }
    if (out.length > 0) this.h.transport.send(out);
    for (const m of local) {
      if (m.to === LocalAppendThread) this.persist(m);
      else void this.enqueueApply(() => this.applyMsg(m));
    }
  }

  /**
   * persist starts the write of a MsgStorageAppend at once (writes are issued in order and
   * may share an fsync) and delivers its responses once it, and every earlier write, is
   * durable. Writes that become durable together (one fsync) all deliver before the loop
   * takes its next Ready, so that one Ready commits them all.
   */
  private persist(m: Message): void {
    const hs: HardState | undefined =
      m.term === 0 && m.vote === 0 && m.commit === 0
        ? undefined
        : { term: m.term, vote: m.vote, commit: m.commit };
    const snap = isEmptySnap(m.snapshot) ? undefined : m.snapshot;
    const saved =
      hs === undefined && m.entries.length === 0 && snap === undefined
        ? Promise.resolve()
        : this.h.storage.save(hs, m.entries, snap);
    const a: Append = { m, snap, durable: false, done: resolved };
    a.done = saved.then(
      () => {
        a.durable = true;
        this.guard(() => this.drain());
      },
      (err: unknown) => this.fail(err),
    );
    this.appends.push(a);
  }

  /** drain delivers the responses of the durable writes at the head of appends. */
  private drain(): void {
    while (!this.restoring && this.appends[0]?.durable === true) {
      const a = this.appends.shift() as Append;
      if (!this.h.alive()) continue;
      if (a.snap === undefined) this.deliver(a.m.responses);
      else this.restoreThenDeliver(a, a.snap);
    }
  }

  /**
   * restoreThenDeliver restores a durable snapshot into the state machine (in apply order)
   * before its responses tell raft it is applied; later writes wait for it.
   */
  private restoreThenDeliver(a: Append, snap: Snapshot): void {
    this.restoring = true;
    void this.enqueueApply(() => this.h.applier.restore(snap)).then(
      () => {
        this.restoring = false;
        this.guard(() => {
          this.deliver(a.m.responses);
          this.drain();
        });
      },
      () => undefined, // enqueueApply reported the failure
    );
  }

  /** guard runs f; what it throws stops the node. */
  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.fail(err);
    }
  }

  /** fail stops the node; the writes in progress are abandoned, never acknowledged. */
  private fail(err: unknown): void {
    this.appends.length = 0;
    this.restoring = false;
    this.h.fail(err);
  }

  private async applyMsg(m: Message): Promise<void> {
    await this.h.applier.apply(m.entries);
    this.deliver(m.responses);
  }

  /** enqueueApply runs job after every apply job queued before it; its failure is fatal. */
  private enqueueApply(job: () => Promise<void>): Promise<void> {
    const p = this.applyChain.then(() => (this.h.alive() ? job() : undefined));
    this.applyChain = p.catch((err: unknown) => this.fail(err));
    return p;
  }

  /** deliver steps the responses addressed to this node and sends the others. */
  private deliver(responses: readonly Message[]): void {
    const { h } = this;
    if (!h.alive()) return;
    const out: Message[] = [];
    for (const r of responses) {
      if (r.to === h.id) h.step(r);
      else out.push(r);
    }
    if (out.length > 0) h.transport.send(out);
    h.afterWork();
    this.kick();
  }
}
