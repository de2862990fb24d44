/**
 * ProposalTracker matches proposals to the log entries that carry them, and settles each
 * proposal exactly once: with the state machine's result when its entry is applied, or with
 * an error as soon as the log proves it never will be.
 *
 * A proposal is known by its key (the envelope's seq for normal entries; conf changes are
 * tracked by position only). Its position (index, term) is learned when its entry reaches
 * this node's log: at once on a leader, through MsgApp on a follower that forwarded it.
 *
 * What the log proves (Raft's Log Matching property, thesis §3.5: two logs that hold an
 * entry with the same index and term are identical up to it):
 * - new entries written from index j replace the log from j on, because raft only rewrites
 *   from the first conflict; a tracked entry at index >= j that is not rewritten with its
 *   own term is gone from every leader's log → ErrLeaderChanged.
 * - a proposal forwarded in term T is accepted only by the leader of term T (the Node drops
 *   forwarded proposals stamped with another term), so once an entry of a later term
 *   reaches the log, an unplaced proposal of term T will never be placed → ErrLeaderChanged.
 * - a snapshot that replaces the log either drops the entry (it was after the snapshot, or
 *   its term is newer than the snapshot's) → ErrLeaderChanged, or may contain it
 *   → ErrOutcomeUnknown.
 */
import { StateType } from '../raft/ready.ts';
import { EntryType } from '../raftpb/types.ts';
import type { Entry, Message } from '../raftpb/types.ts';
import { decodeEnvelope } from './envelope.ts';
import { ErrLeaderChanged, ErrOutcomeUnknown } from './errors.ts';
import { IndexQueue } from './index_queue.ts';
import { Waiter } from './waiter.ts';
import type { AbortLike } from './waiter.ts';

/** Tracked is one proposal waiting for its entry. index 0 means "not in the log yet". */
export interface Tracked {
  readonly key: number | undefined;
  /** The term the proposal was made in; once placed, the term of its entry. */
  term: number;
  index: number;
  readonly waiter: Waiter<unknown>;
}

/**
 * Proposal is one Node.propose() call, from the batch it waits in until it settles: the
 * waiter of its promise, the seq and bytes of its envelope, and its Tracked state. One
 * object rather than three, because the Node makes one per proposal.
 */
export class Proposal extends Waiter<unknown> implements Tracked {
  term = 0;
  index = 0;
  readonly seq: number;
  /** data is the application's bytes until they are in an envelope (then empty). */
  data: Uint8Array;

  constructor(seq: number, data: Uint8Array, signal?: AbortLike, onAbort?: () => void) {
    super(signal, onAbort);
    this.seq = seq;
    this.data = data;
  }

  /** key is what the tracker finds the proposal's entry by: its seq. */
  get key(): number {
    return this.seq;
  }

  /** waiter is the proposal itself. */
  get waiter(): Waiter<unknown> {
    return this;
  }
}

/** ProposalTracker holds the proposals of one Node; see the file comment. */
export class ProposalTracker {
  /** Proposals whose entry is not in the log yet, by key. */
  private readonly unplaced = new Map<number, Tracked>();
  /** Proposals whose entry is in the log, by index; invariant: t.index > 0. */
  private readonly placed = new IndexQueue<Tracked>();

  /** size is the number of proposals not settled yet. */
  get size(): number {
    return this.unplaced.size + this.placed.size;
  }

  /** add tracks a proposal made in term, whose entry will carry key. */
  add(key: number, term: number, waiter: Waiter<unknown>): void {
    this.track({ key, term, index: 0, waiter });
  }

  /** addPlaced tracks a proposal (a conf change) whose entry is already at (index, term). */
  addPlaced(index: number, term: number, waiter: Waiter<unknown>): void {
    this.track({ key: undefined, term, index, waiter });
  }

  /**
   * track tracks t: by its key until its entry reaches the log (index 0), or at its index
   * (a leader places its own proposals as soon as raft appends them).
   */
  track(t: Tracked): void {
    if (t.index > 0) this.place(t);
    else if (t.key !== undefined) this.unplaced.set(t.key, t);
  }

  /**
   * forget stops tracking a proposal not yet in the log (its waiter was aborted); one in the
   * log is dropped when its entry is applied or replaced.
   */
  forget(key: number): void {
    this.unplaced.delete(key);
  }

  /** forgetPlaced stops tracking the proposal at index. */
  forgetPlaced(index: number): void {
    this.placed.delete(index);
  }

  /**
   * onAppend takes the entries written to this node's log (Ready.entries), in order; keyOf
   * returns the key an entry carries for this node, if any.
   */
  onAppend(entries: readonly Entry[], keyOf: (e: Entry) => number | undefined): void {
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined) return;
    if (first.index <= (this.placed.last()?.index ?? 0)) this.dropReplaced(entries, last.index);
    if (this.unplaced.size === 0) return;
    for (const e of entries) {
      const key = keyOf(e);
      const t = key === undefined ? undefined : this.unplaced.get(key);
      if (t === undefined) continue;
      this.unplaced.delete(key as number);
      t.index = e.index;
      t.term = e.term;
      this.place(t);
    }
    for (const t of [...this.unplaced.values()]) {
      if (t.term < last.term) this.settle(t, new ErrLeaderChanged());
    }
  }

  /**
   * dropReplaced settles the placed proposals that entries written to the log replace: those
   * whose index they hold with another term, and all after the last of them (the log now
   * ends there, at `last`). It looks up indexes, so that a leader's appends cost O(entries).
   */
  private dropReplaced(entries: readonly Entry[], last: number): void {
    for (const e of entries) {
      const t = this.placed.get(e.index);
      if (t !== undefined && t.term !== e.term) this.settle(t, new ErrLeaderChanged());
    }
    for (let t = this.placed.last(); t !== undefined && t.index > last; t = this.placed.last()) {
      this.settle(t, new ErrLeaderChanged());
    }
  }

  /** onSnapshot takes a snapshot at (index, term) that replaced this node's log. */
  onSnapshot(index: number, term: number): void {
    for (const t of this.placed.values()) {
      const gone = t.index > index || t.term > term;
      this.settle(t, gone ? new ErrLeaderChanged() : new ErrOutcomeUnknown());
    }
    for (const t of [...this.unplaced.values()]) {
      if (t.term <= term) this.settle(t, new ErrOutcomeUnknown());
    }
  }

  /**
   * onApplied settles the proposal placed at index: with result if the applied entry is its
   * own (same term, and same key when it has one), with ErrLeaderChanged otherwise.
   */
  onApplied(index: number, term: number, key: number | undefined, result: unknown): void {
    const t = this.placed.get(index);
    if (t === undefined) return;
    if (t.term !== term || t.key !== key) {
      this.settle(t, new ErrLeaderChanged());
      return;
    }
    this.remove(t);
    t.waiter.resolve(result);
  }

  /** rejectAll settles every tracked proposal with err. */
  rejectAll(err: unknown): void {
    for (const t of [...this.unplaced.values(), ...this.placed.values()]) this.settle(t, err);
  }

  private place(t: Tracked): void {
    this.placed.set(t);
  }

  private settle(t: Tracked, err: unknown): void {
    this.remove(t);
    t.waiter.reject(err);
  }

  private remove(t: Tracked): void {
    if (t.index === 0) {
      if (t.key !== undefined) this.unplaced.delete(t.key);
      return;
    }
    if (this.placed.get(t.index) === t) this.placed.delete(t.index);
  }
}

/**
 * acceptForwarded tells whether a node in `state` at `term` takes a forwarded MsgProp: only
 * the leader of the term its entries were proposed in (the envelope's term) does. A proposal
 * meant for an earlier leader is dropped, which is what lets its proposer settle it once a
 * later term reaches its log (see the file comment). Entries without an envelope pass.
 */
export function acceptForwarded(state: StateType, term: number, m: Message): boolean {
  if (state !== StateType.StateLeader) return false;
  return m.entries.every((e) => {
    if (e.type !== EntryType.EntryNormal) return true;
    const id = decodeEnvelope(e.data);
    return id === undefined || id.term === term;
  });
}
