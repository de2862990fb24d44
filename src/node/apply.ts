import type { RawNode } from '../raft/rawnode.ts';
import { cloneConfState, concatBytes } from '../raft/util.ts';
import { decodeConfChange, decodeConfChangeV2 } from '../raftpb/codec.ts';
import { EntryType } from '../raftpb/types.ts';
import type { ConfState, Entry, Snapshot, SnapshotMetadata } from '../raftpb/types.ts';
import { ErrCompacted, ErrSnapOutOfDate } from '../raft/errors.ts';
import {
  decodeAddressContext,
  envelopePayload,
  envelopeSeq,
  snapshotHead,
  unwrapSnapshot,
} from './envelope.ts';
import type { DurableStorage, StateMachine } from './interfaces.ts';
import type { PeerBook } from './peers.ts';
import type { ProposalTracker } from './proposals.ts';

/** SnapshotEvent describes a snapshot the Node took (restored false) or restored. */
export interface SnapshotEvent {
  index: number;
  term: number;
  restored: boolean;
}

/** ApplierHost is what the Applier needs from its Node. */
export interface ApplierHost {
  readonly id: number;
  readonly session: number;
  readonly rawNode: RawNode;
  readonly storage: DurableStorage;
  readonly stateMachine: StateMachine;
  readonly tracker: ProposalTracker;
  readonly peers: PeerBook;
  /** Take a snapshot every this many applied entries; 0 never. */
  readonly snapshotInterval: number;
  /** Entries kept in the log behind a snapshot, for slow followers. */
  readonly compactionMargin: number;
  /** onApplied runs after the applied index moved. */
  onApplied(): void;
  onConfChange(cs: ConfState): void;
  onSnapshot(ev: SnapshotEvent): void;
  /** fail stops the Node: a snapshot taken in the background failed. */
  fail(err: unknown): void;
}

const empty = new Uint8Array();

/**
 * Applier applies committed entries and snapshots to the state machine, in log order:
 * normal entries in batches (one StateMachine.apply call per run of normal entries), conf
 * changes one by one through RawNode.applyConfChange, and every `snapshotInterval`
 * entries it snapshots the state machine and compacts the log behind the snapshot.
 * Snapshots are taken in the background, one at a time: the state machine captures its
 * state when asked, and entries go on being applied while the snapshot is encoded and
 * written. Errors from the state machine or storage propagate: the Node stops on them.
 */
export class Applier {
  /** applied is the index of the last entry the state machine has. */
  applied = 0;
  /** appliedTerm is the term of that entry. */
  appliedTerm = 0;
  /** snapshotIndex is the index of the last snapshot taken or restored. */
  snapshotIndex = 0;
  /** confState is the configuration as of `applied`. */
  confState: ConfState;
  private readonly host: ApplierHost;
  /** snapshotting settles when the snapshot being taken in the background is done. */
  private snapshotting: Promise<void> | undefined;

  constructor(host: ApplierHost, confState: ConfState) {
    this.host = host;
    this.confState = cloneConfState(confState);
  }

  /** keyOf returns the proposal key an entry carries if this Node instance proposed it. */
  keyOf(e: Entry): number | undefined {
    if (e.type !== EntryType.EntryNormal) return undefined;
    return envelopeSeq(e.data, this.host.id, this.host.session);
  }

  /** restore replaces the state machine's state with a snapshot's. */
  async restore(snap: Snapshot): Promise<void> {
    const h = this.host;
    const { addresses, app } = unwrapSnapshot(snap.data);
    await h.stateMachine.restore(app);
    const md = snap.metadata;
    this.applied = md.index;
    this.appliedTerm = md.term;
    this.snapshotIndex = md.index;
    this.confState = cloneConfState(md.confState);
    h.peers.learn(addresses);
    h.peers.sync(this.confState);
    h.onSnapshot({ index: md.index, term: md.term, restored: true });
    h.onApplied();
  }

  /** apply applies committed entries (those at or below `applied` are skipped). */
  async apply(entries: readonly Entry[]): Promise<void> {
    let start = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (e.type === EntryType.EntryNormal) continue;
      await this.applyNormal(entries, start, i);
      start = i + 1;
      if (e.index > this.applied) this.applyConfChange(e);
    }
    await this.applyNormal(entries, start, entries.length);
    this.maybeSnapshot();
  }

  /** idle resolves once no snapshot is being taken in the background. */
  async idle(): Promise<void> {
    while (this.snapshotting !== undefined) await this.snapshotting;
  }

  /** applyNormal applies entries[lo, hi), normal entries in log order, in one batch. */
  private async applyNormal(entries: readonly Entry[], lo: number, hi: number): Promise<void> {
    while (lo < hi && (entries[lo] as Entry).index <= this.applied) lo++;
    if (lo >= hi) return;
    const h = this.host;
    const input = stateMachineInput(entries, lo, hi);
    const results = input.length === 0 ? [] : await h.stateMachine.apply(input);
    if (!Array.isArray(results) || results.length !== input.length) {
      const n = Array.isArray(results) ? results.length : typeof results;
      throw new TypeError(`StateMachine.apply returned ${n} results for ${input.length} entries`);
    }
    let k = 0;
    for (let i = lo; i < hi; i++) {
      const e = entries[i] as Entry;
      h.tracker.onApplied(e.index, e.term, this.keyOf(e), hasData(e) ? results[k++] : undefined);
    }
    this.advance(entries[hi - 1] as Entry);
  }

  private applyConfChange(e: Entry): void {
    const h = this.host;
    const data = e.data ?? empty;
    const cc =
      e.type === EntryType.EntryConfChange ? decodeConfChange(data) : decodeConfChangeV2(data);
    const cs = h.rawNode.applyConfChange(cc);
    this.confState = cloneConfState(cs);
    h.peers.learn(decodeAddressContext(cc.context));
    h.peers.sync(this.confState);
    h.tracker.onApplied(e.index, e.term, undefined, cloneConfState(cs));
    this.advance(e);
    h.onConfChange(cloneConfState(cs));
  }

  private advance(e: Entry): void {
    this.applied = e.index;
    this.appliedTerm = e.term;
    this.host.onApplied();
  }

  /**
   * maybeSnapshot starts a snapshot every snapshotInterval applied entries, unless one is
   * being taken. The state machine captures its state now; the rest runs in the background.
   */
  private maybeSnapshot(): void {
    const h = this.host;
    const n = h.snapshotInterval;
    if (n <= 0 || this.snapshotting !== undefined || this.applied - this.snapshotIndex < n) return;
    const confState = cloneConfState(this.confState);
    const metadata: SnapshotMetadata = { index: this.applied, term: this.appliedTerm, confState };
    const head = snapshotHead(h.peers.snapshotBook(confState));
    const sm = h.stateMachine;
    const app = sm.snapshotChunks !== undefined ? sm.snapshotChunks() : sm.snapshot();
    const done = this.takeSnapshot(metadata, head, app).catch((err: unknown) => h.fail(err));
    this.snapshotting = done.finally(() => (this.snapshotting = undefined));
  }

  /** takeSnapshot stores the snapshot, compacts the log behind it and reports it. */
  private async takeSnapshot(
    metadata: SnapshotMetadata,
    head: Uint8Array,
    app: Uint8Array | Promise<Uint8Array> | AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const h = this.host;
    const { index, term } = metadata;
    try {
      if (app instanceof Uint8Array || app instanceof Promise) {
        const data = concatBytes([head, await app]);
        await h.storage.createSnapshot({ metadata, data });
      } else {
        await h.storage.createSnapshot({ metadata }, prepend(head, app));
      }
    } catch (err) {
      // A snapshot from the leader overtook this one: this one is moot. The storage holds
      // the leader's snapshot as soon as it is saved, before the state machine has
      // restored it (which moves snapshotIndex), so look at the storage's log too.
      const moot = err instanceof ErrSnapOutOfDate || err instanceof ErrCompacted;
      if (moot && (this.snapshotIndex >= index || h.storage.firstIndex() > index)) return;
      throw err;
    }
    if (this.snapshotIndex >= index) return;
    this.snapshotIndex = index;
    const compact = index - h.compactionMargin;
    if (compact >= h.storage.firstIndex()) await h.storage.compactTo(compact);
    h.onSnapshot({ index, term, restored: false });
  }
}

/** prepend yields head, then the chunks of rest. */
async function* prepend(
  head: Uint8Array,
  rest: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield head;
  yield* rest;
}

/** stateMachineInput returns the entries of [lo, hi) with data, without their envelopes. */
function stateMachineInput(entries: readonly Entry[], lo: number, hi: number): Entry[] {
  const input: Entry[] = [];
  for (let i = lo; i < hi; i++) {
    const e = entries[i] as Entry;
    if (hasData(e))
      input.push({ term: e.term, index: e.index, type: e.type, data: payload(e.data) });
  }
  return input;
}

/** hasData reports whether an entry carries bytes for the state machine. */
function hasData(e: Entry): boolean {
  return e.data !== undefined && e.data.length > 0;
}

/** payload strips the envelope from an entry's data. */
function payload(data: Uint8Array | undefined): Uint8Array {
  return data === undefined ? empty : envelopePayload(data);
}
