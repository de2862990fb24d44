import type { RawNode } from '../raft/rawnode.ts';
import { cloneConfState } from '../raft/util.ts';
import { decodeConfChange, decodeConfChangeV2 } from '../raftpb/codec.ts';
import { EntryType } from '../raftpb/types.ts';
import type { ConfState, Entry, Snapshot } from '../raftpb/types.ts';
import {
  decodeAddressContext,
  envelopePayload,
  envelopeSeq,
  unwrapSnapshot,
  wrapSnapshot,
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
}

const empty = new Uint8Array();

/**
 * Applier applies committed entries and snapshots to the state machine, in log order:
 * normal entries in batches (one StateMachine.apply call per run of normal entries), conf
 * changes one by one through RawNode.applyConfChange, and every `snapshotInterval`
 * entries it snapshots the state machine and compacts the log behind the snapshot.
 * Errors from the state machine or storage propagate: the Node stops on them.
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
    await this.maybeSnapshot();
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

  private async maybeSnapshot(): Promise<void> {
    const h = this.host;
    const n = h.snapshotInterval;
    if (n <= 0 || this.applied - this.snapshotIndex < n) return;
    const index = this.applied;
    const term = this.appliedTerm;
    const confState = cloneConfState(this.confState);
    const app = await h.stateMachine.snapshot();
    const data = wrapSnapshot(h.peers.snapshotBook(confState), app);
    await h.storage.createSnapshot({ metadata: { index, term, confState }, data });
    this.snapshotIndex = index;
    const compact = index - h.compactionMargin;
    if (compact >= h.storage.firstIndex()) await h.storage.compactTo(compact);
    h.onSnapshot({ index, term, restored: false });
  }
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
