import type { Entry, Snapshot } from '../raftpb/types.ts';
import { entrySize } from '../raftpb/size.ts';
import { ErrCompacted, ErrUnavailable } from './errors.ts';
import { raftPanic } from './logger.ts';
import type { Logger } from './logger.ts';
import { Unstable } from './log_unstable.ts';
import type { Storage } from './storage.ts';
import type { entryID, logSlice } from './types.ts';
import { cloneSnapshot, entsSize, limitSizeCount, noLimit } from './util.ts';

// Internal results of termOrErr for the two expected failures; real terms are >= 0.
const termCompacted = -1;
const termUnavailable = -2;

/** LogSliceLike is the part of a logSlice that RaftLog reads (a logSlice fits). */
export type LogSliceLike = Readonly<Pick<logSlice, 'term' | 'prev' | 'entries'>>;

/**
 * RaftLog is raft's view of the log: the durable part in Storage followed by the Unstable
 * part that is not yet written, plus the commit and apply positions.
 *
 * Invariants: applied <= applying <= committed <= lastIndex().
 *
 * Error contract: term, slice, entries and mustCheckOutOfBounds throw ErrCompacted (and
 * term ErrUnavailable) as Storage does; snapshot throws what Storage.snapshot throws. A
 * broken invariant throws RaftPanic through the logger. Other Storage errors propagate.
 *
 * Arrays returned by nextUnstableEnts, nextCommittedEnts, slice, entries and allEntries
 * belong to the caller; the Entry objects in them are shared and must not be mutated.
 */
export class RaftLog {
  /** storage holds the durable entries since the last snapshot. */
  storage: Storage;
  /** unstable holds the entries and snapshot not yet durable. */
  unstable: Unstable;
  /** committed is the highest index known to be durable on a quorum. */
  committed: number;
  /**
   * applying is the highest index handed to the application for applying (via Ready).
   * applied <= applying <= committed.
   */
  applying: number;
  /** applied is the highest index the application reported as applied. applied <= committed. */
  applied: number;
  logger: Logger;
  /** maxApplyingEntsSize caps the bytes of entries handed out for applying but not yet applied. */
  maxApplyingEntsSize: number;
  /** applyingEntsSize is the bytes of entries handed out for applying but not yet applied. */
  applyingEntsSize = 0;
  /** applyingEntsPaused is set while no more entries may be handed out for applying. */
  applyingEntsPaused = false;

  /**
   * The log starts where Storage ends: entries after storage.lastIndex() are unstable, and
   * everything up to the last snapshot counts as committed and applied.
   */
  constructor(storage: Storage, logger: Logger, maxApplyingEntsSize: number = noLimit) {
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.storage = storage;
    this.unstable = new Unstable(logger, lastIndex + 1);
    this.maxApplyingEntsSize = maxApplyingEntsSize;
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
    this.logger = logger;
  }

  /** toString describes the positions, as printed in the "starts to restore" log line. */
  toString(): string {
    const u = this.unstable;
    return `committed=${this.committed}, applied=${this.applied}, applying=${this.applying}, unstable.offset=${u.offset}, unstable.offsetInProgress=${u.offsetInProgress}, len(unstable.Entries)=${u.entries.length}`;
  }

  /**
   * maybeAppend appends the slice a if its prev entry matches the log, truncating any
   * conflicting suffix, and commits up to min(committed, a.lastIndex()). Returns the index
   * of the last entry of a (possibly 0), or undefined if prev does not match.
   */
  maybeAppend(a: LogSliceLike, committed: number): number | undefined {
    if (!this.matchTerm(a.prev)) return undefined;
    const lastnewi = a.prev.index + a.entries.length;
    const ci = this.findConflict(a.entries);
    if (ci === 0) {
      // Everything is already in the log.
    } else if (ci <= this.committed) {
      raftPanic(
        this.logger,
        `entry ${ci} conflict with committed entry [committed(${this.committed})]`,
      );
    } else {
      const start = ci - (a.prev.index + 1);
      if (start > a.entries.length) {
        raftPanic(this.logger, `index, ${start}, is out of range [${a.entries.length}]`);
      }
      this.appendEntries(start === 0 ? a.entries : a.entries.slice(start));
    }
    this.commitTo(Math.min(committed, lastnewi));
    return lastnewi;
  }

  /**
   * append adds entries (consecutive indexes) after truncating the log at the first one's
   * index, and returns lastIndex(). It takes either the entries as arguments, like Go's
   * `append(ents...)`, or one array (preferred for long runs: no spread). The caller keeps
   * ownership of the array.
   */
  append(ents: readonly Entry[]): number;
  append(...ents: Entry[]): number;
  append(...args: (Entry | readonly Entry[])[]): number {
    const first = args[0];
    if (args.length === 1 && Array.isArray(first)) return this.appendEntries(first);
    return this.appendEntries(args as Entry[]);
  }

  /**
   * appendEntries is append taking an array (no spread, so safe for long arrays). The
   * caller keeps ownership of ents.
   */
  appendEntries(ents: readonly Entry[]): number {
    const first = ents[0];
    if (first === undefined) return this.lastIndex();
    const after = first.index - 1;
    if (after < this.committed) {
      raftPanic(this.logger, `after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * findConflict returns the index of the first entry of ents (consecutive indexes) whose
   * term differs from the log's entry at that index, or that is past the end of the log;
   * 0 if the log already contains all of ents.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (this.matchTerm(e)) continue;
      if (e.index <= this.lastIndex()) {
        this.logger.info(
          `found conflict at index ${e.index} [existing term: ${this.zeroTermOnOutOfBounds(e.index)}, conflicting term: ${e.term}]`,
        );
      }
      return e.index;
    }
    return 0;
  }

  /**
   * findConflictByTerm guesses where this log stops matching another log of which only the
   * entry (index, term) is known: it returns the largest i <= index whose term is <= term
   * or unknown (compacted or missing), and that term (0 if unknown).
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const ourTerm = this.termOrErr(index);
      if (ourTerm < 0) return [index, 0];
      if (ourTerm <= term) return [index, ourTerm];
    }
    return [0, 0];
  }

  /** nextUnstableEnts returns the unstable entries not yet handed out for writing. */
  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  /** hasNextUnstableEnts reports whether nextUnstableEnts() is non-empty. */
  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  /** hasNextOrInProgressUnstableEnts reports whether any entry is not yet durable. */
  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  /**
   * nextCommittedEnts returns the committed entries to apply next, within the applying
   * byte budget. With allowUnstable, entries not yet durable locally may be included.
   * Returns none while a snapshot is pending or application is paused.
   */
  nextCommittedEnts(allowUnstable: boolean): Entry[] {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1;
    if (lo >= hi) return [];
    const maxSize = this.maxApplyingEntsSize - this.applyingEntsSize;
    if (maxSize <= 0) {
      raftPanic(
        this.logger,
        `applying entry size (${this.maxApplyingEntsSize}-${this.applyingEntsSize})=${maxSize} not positive`,
      );
    }
    try {
      return this.slice(lo, hi, maxSize);
    } catch (err) {
      return raftPanic(
        this.logger,
        `unexpected error when getting unapplied entries (${errText(err)})`,
      );
    }
  }

  /** hasNextCommittedEnts reports, cheaply, whether nextCommittedEnts would return entries. */
  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return false;
    return this.applying + 1 < this.maxAppliableIndex(allowUnstable) + 1;
  }

  /**
   * maxAppliableIndex is the highest index that may be applied: committed, and also durable
   * locally unless allowUnstable.
   */
  maxAppliableIndex(allowUnstable: boolean): number {
    return allowUnstable ? this.committed : Math.min(this.committed, this.unstable.offset - 1);
  }

  /** nextUnstableSnapshot returns the pending snapshot if not yet handed out for writing. */
  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  /** hasNextUnstableSnapshot reports whether nextUnstableSnapshot() returns a snapshot. */
  hasNextUnstableSnapshot(): boolean {
    return this.unstable.hasNextSnapshot();
  }

  /** hasNextOrInProgressSnapshot reports whether a snapshot is pending or being written. */
  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  /** snapshot returns a copy of the pending snapshot, else Storage's (which may throw). */
  snapshot(): Snapshot {
    const s = this.unstable.snapshot;
    return s !== undefined ? cloneSnapshot(s) : this.storage.snapshot();
  }

  /** firstIndex returns the index of the first entry of the log. */
  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  /** lastIndex returns the index of the last entry of the log. */
  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** commitTo raises committed to tocommit (never lowers it); panics past lastIndex(). */
  commitTo(tocommit: number): void {
    if (this.committed >= tocommit) return;
    if (this.lastIndex() < tocommit) {
      raftPanic(
        this.logger,
        `tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
      );
    }
    this.committed = tocommit;
  }

  /**
   * appliedTo records that entries up to i, of total size bytes, have been applied, and
   * resumes handing out entries if the budget allows.
   */
  appliedTo(i: number, size: number): void {
    if (this.committed < i || i < this.applied) {
      raftPanic(
        this.logger,
        `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
      );
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
    this.applyingEntsSize = this.applyingEntsSize > size ? this.applyingEntsSize - size : 0;
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize;
  }

  /**
   * acceptApplying records that entries up to i, of total size bytes, were handed out for
   * applying. It pauses further hand-outs when the budget is used up, or when the last
   * hand-out was cut short by it (i below maxAppliableIndex).
   */
  acceptApplying(i: number, size: number, allowUnstable: boolean): void {
    if (this.committed < i) {
      raftPanic(
        this.logger,
        `applying(${i}) is out of range [prevApplying(${this.applying}), committed(${this.committed})]`,
      );
    }
    this.applying = i;
    this.applyingEntsSize += size;
    this.applyingEntsPaused =
      this.applyingEntsSize >= this.maxApplyingEntsSize ||
      i < this.maxAppliableIndex(allowUnstable);
  }

  /** stableTo reports the entries up to id durable (see Unstable.stableTo). */
  stableTo(id: entryID): void {
    this.unstable.stableTo(id);
  }

  /** stableSnapTo reports the snapshot at index i durable. */
  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** acceptUnstable marks the current unstable entries and snapshot as being written. */
  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  /** lastEntryID returns the ID of the last entry of the log. */
  lastEntryID(): entryID {
    const index = this.lastIndex();
    const t = this.termOrErr(index);
    if (t < 0) {
      const msg = (t === termCompacted ? new ErrCompacted() : new ErrUnavailable()).message;
      raftPanic(this.logger, `unexpected error when getting the last term at ${index}: ${msg}`);
    }
    return { term: t, index };
  }

  /**
   * term returns the term of entry i, for i in [firstIndex()-1, lastIndex()]. Throws
   * ErrCompacted below that range, ErrUnavailable above it.
   */
  term(i: number): number {
    const t = this.termOrErr(i);
    if (t === termCompacted) throw new ErrCompacted();
    if (t === termUnavailable) throw new ErrUnavailable();
    return t;
  }

  /**
   * entries returns the entries from i to the end of the log, within maxSize bytes (at least
   * one). Empty if i > lastIndex(). Throws ErrCompacted if i < firstIndex().
   */
  entries(i: number, maxSize: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxSize);
  }

  /**
   * allEntries returns every entry of the log. A compaction racing with the read is retried
   * once (only possible with a Storage shared with another thread).
   */
  allEntries(): Entry[] {
    try {
      return this.entries(this.firstIndex(), noLimit);
    } catch (err) {
      if (!(err instanceof ErrCompacted)) throw err;
      return this.entries(this.firstIndex(), noLimit);
    }
  }

  /**
   * isUpToDate reports whether a log ending at their is at least as up-to-date as this one:
   * a higher last term wins, and with equal terms the longer log (Raft thesis §3.6.1).
   */
  isUpToDate(their: entryID): boolean {
    const our = this.lastEntryID();
    return their.term > our.term || (their.term === our.term && their.index >= our.index);
  }

  /** matchTerm reports whether the log has an entry with id's index and term. */
  matchTerm(id: entryID): boolean {
    return this.termOrErr(id.index) === id.term;
  }

  /**
   * maybeCommit commits up to at.index if that is an advance and the log has the entry at
   * (a non-zero term: a commit always comes from a leader of term >= 1).
   */
  maybeCommit(at: entryID): boolean {
    if (at.term !== 0 && at.index > this.committed && this.matchTerm(at)) {
      this.commitTo(at.index);
      return true;
    }
    return false;
  }

  /** restore resets the log to follow snapshot s, which becomes the committed state. */
  restore(s: Snapshot): void {
    const { index, term } = s.metadata;
    this.logger.info(
      `log [${this.toString()}] starts to restore snapshot [index: ${index}, term: ${term}]`,
    );
    this.committed = index;
    this.unstable.restore(s);
  }

  /**
   * scan passes the entries of [lo, hi) to v in consecutive pages of at most pageSize bytes
   * (a page holds at least one entry). Stops early when v returns false. Throws
   * ErrCompacted if lo was compacted; whatever v throws propagates.
   */
  scan(lo: number, hi: number, pageSize: number, v: (ents: Entry[]) => boolean | void): void {
    while (lo < hi) {
      const ents = this.slice(lo, hi, pageSize);
      if (ents.length === 0) throw new Error(`got 0 entries in [${lo}, ${hi})`);
      if (v(ents) === false) return;
      lo += ents.length;
    }
  }

  /**
   * slice returns the entries of [lo, hi) cut to maxSize bytes (at least one entry when
   * lo < hi). Throws ErrCompacted if lo < firstIndex(); panics if hi > lastIndex() + 1.
   */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    const u = this.unstable;
    if (lo >= u.offset) return u.sliceLimited(lo, hi, maxSize);

    const cut = Math.min(hi, u.offset);
    const ents = this.storageEntries(lo, cut, maxSize);
    if (hi <= u.offset || ents.length < cut - lo) return ents;

    // ents holds all of [lo, cut): top it up with unstable entries within what is left.
    const size = maxSize === noLimit ? 0 : entsSize(ents);
    if (size >= maxSize) return ents;
    const n = limitSizeCount(u.entries, 0, hi - u.offset, maxSize - size);
    if (n === 1 && size + entrySize(u.entries[0] as Entry) > maxSize) return ents;
    // The Storage contract gives the caller ownership of ents, so it can be grown in place.
    for (let k = 0; k < n; k++) ents.push(u.entries[k] as Entry);
    return ents;
  }

  /**
   * mustCheckOutOfBounds throws ErrCompacted if lo < firstIndex(), and panics unless
   * lo <= hi <= lastIndex() + 1.
   */
  mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) raftPanic(this.logger, `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new ErrCompacted();
    const li = this.lastIndex();
    if (hi > li + 1) raftPanic(this.logger, `slice[${lo},${hi}) out of bound [${fi},${li}]`);
  }

  /**
   * zeroTermOnOutOfBounds returns the term of an entry, or 0 if the entry is compacted or
   * past the end of the log; any other error panics. Go passes it term()'s (term, err)
   * pair; here it takes either the index or a thunk calling term(), e.g.
   * `log.zeroTermOnOutOfBounds(() => log.term(i))`.
   */
  zeroTermOnOutOfBounds(i: number | (() => number)): number {
    try {
      if (typeof i === 'function') return i();
      const t = this.termOrErr(i);
      return t < 0 ? 0 : t;
    } catch (err) {
      if (err instanceof ErrCompacted || err instanceof ErrUnavailable) return 0;
      return raftPanic(this.logger, `unexpected error (${errText(err)})`);
    }
  }

  /** storageEntries reads [lo, hi) from Storage, panicking if some entry is missing there. */
  private storageEntries(lo: number, hi: number, maxSize: number): Entry[] {
    try {
      return this.storage.entries(lo, hi, maxSize);
    } catch (err) {
      if (err instanceof ErrUnavailable) {
        raftPanic(this.logger, `entries[${lo}:${hi}) is unavailable from storage`);
      }
      throw err;
    }
  }

  /**
   * termOrErr is term() without exceptions for the expected cases: it returns the term, or
   * termCompacted / termUnavailable. Unexpected Storage errors propagate.
   */
  private termOrErr(i: number): number {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    // Valid range is [firstIndex-1, lastIndex]: the entry before firstIndex keeps its term.
    if (i + 1 < this.firstIndex()) return termCompacted;
    if (i > this.lastIndex()) return termUnavailable;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof ErrCompacted) return termCompacted;
      if (err instanceof ErrUnavailable) return termUnavailable;
      throw err;
    }
  }
}

/** newLog returns a RaftLog over storage with no limit on the bytes being applied. */
export function newLog(storage: Storage, logger: Logger): RaftLog {
  return new RaftLog(storage, logger, noLimit);
}

/** newLogWithSize returns a RaftLog over storage applying at most maxApplyingEntsSize bytes at a time. */
export function newLogWithSize(
  storage: Storage,
  logger: Logger,
  maxApplyingEntsSize: number,
): RaftLog {
  return new RaftLog(storage, logger, maxApplyingEntsSize);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
