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
import type { Waiter } from './waiter.ts';

/** Tracked is one proposal waiting for its entry. index 0 means "not in the log yet". */
interface Tracked {
  key: number | undefined;
  /** The term the proposal was made in; once placed, the term of its entry. */
  term: number;
  index: number;
  waiter: Waiter<unknown>;
}

/** ProposalTracker holds the proposals of one Node; see the file comment. */
export class ProposalTracker {
  /** Proposals whose entry is not in the log yet, by key. */
  private readonly unplaced = new Map<number, Tracked>();
  /** Proposals whose entry is in the log, by index; invariant: t.index > 0. */
  private readonly placed = new Map<number, Tracked>();
  /** highWater >= every index in placed (0 when empty): appends past it need no scan. */
  private highWater = 0;

  /** size is the number of proposals not settled yet. */
  get size(): number {
    return this.unplaced.size + this.placed.size;
  }

  /** add tracks a proposal made in term, whose entry will carry key. */
  add(key: number, term: number, waiter: Waiter<unknown>): void {
    this.unplaced.set(key, { key, term, index: 0, waiter });
  }

  /** addPlaced tracks a proposal whose entry is already at (index, term), e.g. a conf change. */
  addPlaced(index: number, term: number, waiter: Waiter<unknown>): void {
    this.place({ key: undefined, term, index, waiter });
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
    if (first.index <= this.highWater) this.dropReplaced(entries, first.index);
    if (this.unplaced.size === 0) return;
    for (const e of entries) {
      const key = keyOf(e);
      const t = key === undefined ? undefined : this.unplaced.get(key);
      if (t === undefined) continue;
      this.unplaced.delete(t.key as number);
      this.place({ ...t, index: e.index, term: e.term });
    }
    for (const t of [...this.unplaced.values()]) {
      if (t.term < last.term) this.settle(t, new ErrLeaderChanged());
    }
  }

  /** dropReplaced settles the placed proposals that entries written from `from` replace. */
  private dropReplaced(entries: readonly Entry[], from: number): void {
    for (const t of [...this.placed.values()]) {
      if (t.index < from) continue;
      const e = entries[t.index - from];
      if (e === undefined || e.term !== t.term) this.settle(t, new ErrLeaderChanged());
    }
  }

  /** onSnapshot takes a snapshot at (index, term) that replaced this node's log. */
  onSnapshot(index: number, term: number): void {
    for (const t of [...this.placed.values()]) {
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
    this.placed.set(t.index, t);
    if (t.index > this.highWater) this.highWater = t.index;
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
    if (this.placed.size === 0) this.highWater = 0;
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
