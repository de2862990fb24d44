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
import type { Entry } from '../raftpb/types.ts';
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
  private readonly byKey = new Map<number, Tracked>();
  /** byIndex holds the placed proposals; invariant: t.index > 0 for every value. */
  private readonly byIndex = new Map<number, Tracked>();

  /** size is the number of proposals not settled yet. */
  get size(): number {
    let n = this.byIndex.size;
    for (const t of this.byKey.values()) if (t.index === 0) n++;
    return n;
  }

  /** add tracks a proposal made in term, whose entry will carry key. */
  add(key: number, term: number, waiter: Waiter<unknown>): void {
    this.byKey.set(key, { key, term, index: 0, waiter });
  }

  /** addPlaced tracks a proposal whose entry is already at (index, term), e.g. a conf change. */
  addPlaced(index: number, term: number, waiter: Waiter<unknown>): void {
    this.byIndex.set(index, { key: undefined, term, index, waiter });
  }

  /** forget stops tracking a proposal (its waiter was aborted). */
  forget(key: number): void {
    const t = this.byKey.get(key);
    if (t === undefined) return;
    this.byKey.delete(key);
    if (t.index !== 0) this.byIndex.delete(t.index);
  }

  /** forgetPlaced stops tracking the proposal at index. */
  forgetPlaced(index: number): void {
    const t = this.byIndex.get(index);
    if (t === undefined) return;
    this.byIndex.delete(index);
    if (t.key !== undefined) this.byKey.delete(t.key);
  }

  /**
   * onAppend takes the entries written to this node's log (Ready.entries), in order; keyOf
   * returns the key an entry carries for this node, if any.
   */
  onAppend(entries: readonly Entry[], keyOf: (e: Entry) => number | undefined): void {
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined) return;
    for (const t of [...this.byIndex.values()]) {
      if (t.index < first.index) continue;
      const e = entries[t.index - first.index];
      if (e === undefined || e.term !== t.term) this.settle(t, new ErrLeaderChanged());
    }
    for (const e of entries) {
      const key = keyOf(e);
      const t = key === undefined ? undefined : this.byKey.get(key);
      if (t === undefined || t.index !== 0) continue;
      t.index = e.index;
      t.term = e.term;
      this.byIndex.set(e.index, t);
    }
    this.dropUnplacedBefore(last.term);
  }

  /** dropUnplacedBefore settles the unplaced proposals of terms before term. */
  private dropUnplacedBefore(term: number): void {
    for (const t of [...this.byKey.values()]) {
      if (t.index === 0 && t.term < term) this.settle(t, new ErrLeaderChanged());
    }
  }

  /** onSnapshot takes a snapshot at (index, term) that replaced this node's log. */
  onSnapshot(index: number, term: number): void {
    for (const t of [...this.byIndex.values()]) {
      const gone = t.index > index || t.term > term;
      this.settle(t, gone ? new ErrLeaderChanged() : new ErrOutcomeUnknown());
    }
    for (const t of [...this.byKey.values()]) {
      if (t.term <= term) this.settle(t, new ErrOutcomeUnknown());
    }
  }

  /**
   * onApplied settles what the applied entry at (index, term) decides: the proposal with
   * key (if this node made it) or the one placed at index resolves with result; a proposal
   * placed at index with another term rejects.
   */
  onApplied(index: number, term: number, key: number | undefined, result: unknown): void {
    const placed = this.byIndex.get(index);
    if (placed !== undefined && placed.term !== term) this.settle(placed, new ErrLeaderChanged());
    const t = key === undefined ? placed : this.byKey.get(key);
    if (t !== undefined && !t.waiter.settled && (t.index === index || t.index === 0)) {
      this.remove(t);
      t.waiter.resolve(result);
    }
  }

  /** rejectAll settles every tracked proposal with err. */
  rejectAll(err: unknown): void {
    for (const t of [...this.byKey.values(), ...this.byIndex.values()]) this.settle(t, err);
  }

  private settle(t: Tracked, err: unknown): void {
    this.remove(t);
    t.waiter.reject(err);
  }

  private remove(t: Tracked): void {
    if (t.key !== undefined) this.byKey.delete(t.key);
    if (t.index !== 0 && this.byIndex.get(t.index) === t) this.byIndex.delete(t.index);
  }
}
