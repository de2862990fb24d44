import type { Entry, Snapshot } from '../raftpb/types.ts';
import { raftPanic } from './logger.ts';
import type { Logger } from './logger.ts';
import type { entryID } from './types.ts';
import { cloneSnapshot, limitSizeCount } from './util.ts';

/**
 * Unstable holds the log entries and the snapshot that raft has accepted but that are not
 * yet known to be in Storage. It first queues them for a Ready; once handed out it keeps
 * them (as "in progress") so the log reads correctly until the application reports the
 * write durable (stableTo / stableSnapTo).
 *
 * Invariants: entries[i] has index offset + i; offset <= offsetInProgress <=
 * offset + entries.length; with a snapshot, offset === snapshot index + 1 at restore time.
 * offset may be below Storage's last index: the next write must then truncate Storage.
 *
 * Sharing: `entries` is private to Unstable, which mutates it in place (push, truncate);
 * every method that hands entries out returns a new array. Entry objects themselves are
 * shared and never mutated.
 */
export class Unstable {
  /** snapshot is the incoming snapshot, if any, not yet durable. */
  snapshot: Snapshot | undefined = undefined;
  /** entries are the entries not yet durable; entries[i] has index offset + i. */
  entries: Entry[] = [];
  /** offset is the index of entries[0] (or of the next entry when there is none). */
  offset: number;
  /** snapshotInProgress is true once the snapshot has been handed out for writing. */
  snapshotInProgress = false;
  /**
   * offsetInProgress is the index after the last entry handed out for writing:
   * entries[0, offsetInProgress - offset) are being written. offset <= offsetInProgress.
   */
  offsetInProgress: number;
  logger: Logger;

  /** The log starts empty, with its next entry at index offset. */
  constructor(logger: Logger, offset = 0) {
    this.logger = logger;
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** maybeFirstIndex returns the index after the snapshot, or undefined without one. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  /**
   * maybeLastIndex returns the index of the last entry, else the snapshot's index, else
   * undefined.
   */
  maybeLastIndex(): number | undefined {
    const n = this.entries.length;
    if (n !== 0) return this.offset + n - 1;
    return this.snapshot?.metadata.index;
  }

  /** maybeTerm returns the term of entry i if the entries or the snapshot know it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      const s = this.snapshot;
      return s !== undefined && s.metadata.index === i ? s.metadata.term : undefined;
    }
    return this.entries[i - this.offset]?.term;
  }

  /** nextEntries returns (a copy of) the entries not yet handed out for writing. */
  nextEntries(): Entry[] {
    const start = this.offsetInProgress - this.offset;
    return start >= this.entries.length ? [] : this.entries.slice(start);
  }

  /** hasNextEntries reports whether nextEntries() would be non-empty, without copying. */
  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.entries.length;
  }

  /** nextSnapshot returns a copy of the snapshot if it has not been handed out yet. */
  nextSnapshot(): Snapshot | undefined {
    if (this.snapshot === undefined || this.snapshotInProgress) return undefined;
    return cloneSnapshot(this.snapshot);
  }

  /** hasNextSnapshot reports whether nextSnapshot() would return one, without copying. */
  hasNextSnapshot(): boolean {
    return this.snapshot !== undefined && !this.snapshotInProgress;
  }

  /**
   * acceptInProgress marks every current entry and the snapshot as handed out for writing;
   * later additions are returned by nextEntries/nextSnapshot again.
   */
  acceptInProgress(): void {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined) this.offsetInProgress = last.index + 1;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * stableTo drops the entries up to and including id, now durable in Storage. Ignored (and
   * logged) if id is not an unstable entry or its term differs: the entries were replaced
   * while being written. Only call it when no in-progress write can still overwrite them.
   */
  stableTo(id: entryID): void {
    const gt = this.maybeTerm(id.index);
    if (gt === undefined) {
      this.logger.info(`entry at index ${id.index} missing from unstable log; ignoring`);
      return;
    }
    if (id.index < this.offset) {
      this.logger.info(`entry at index ${id.index} matched unstable snapshot; ignoring`);
      return;
    }
    if (gt !== id.term) {
      this.logger.info(
        `entry at (index,term)=(${id.index},${id.term}) mismatched with entry at (${id.index},${gt}) in unstable log; ignoring`,
      );
      return;
    }
    const num = id.index + 1 - this.offset;
    // Go reslices. splice() drops the front in place (V8 moves the array's start), where
    // slice() would copy every entry still in flight, once per completed write.
    if (num < this.entries.length) this.entries.splice(0, num);
    else this.entries.length = 0;
    this.offset = id.index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
    this.shrinkEntriesArray();
  }

  /**
   * shrinkEntriesArray swaps an emptied entries array for a fresh one, so the old backing
   * store (possibly large) can be collected.
   */
  shrinkEntriesArray(): void {
    if (this.entries.length === 0) this.entries = [];
  }

  /** stableSnapTo drops the snapshot once the snapshot at index i is durable. */
  stableSnapTo(i: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === i) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  /** restore replaces everything with (a copy of) snapshot s; the log then follows s. */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = cloneSnapshot(s);
    this.snapshotInProgress = false;
  }

  /**
   * truncateAndAppend appends ents (non-empty, consecutive), first dropping every unstable
   * entry at or after ents[0].index. The caller keeps ownership of the ents array.
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    const fromIndex = (ents[0] as Entry).index;
    if (fromIndex === this.offset + this.entries.length) {
      pushAll(this.entries, ents);
    } else if (fromIndex <= this.offset) {
      this.logger.info(`replace the unstable entries from index ${fromIndex}`);
      this.entries = ents.slice();
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      this.logger.info(`truncate the unstable entries before index ${fromIndex}`);
      this.mustCheckOutOfBounds(this.offset, fromIndex);
      this.entries.length = fromIndex - this.offset;
      pushAll(this.entries, ents);
      this.offsetInProgress = Math.min(this.offsetInProgress, fromIndex);
    }
  }

  /**
   * slice returns a new array with the entries of [lo, hi), which must all be unstable
   * (panics otherwise). Unlike Go's view, it is a copy: the caller may modify it freely.
   */
  slice(lo: number, hi: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  /**
   * sliceLimited is slice(lo, hi) cut to the longest prefix within maxSize bytes (at least
   * one entry when lo < hi), copying only what is returned.
   */
  sliceLimited(lo: number, hi: number, maxSize: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    const start = lo - this.offset;
    const n = limitSizeCount(this.entries, start, hi - this.offset, maxSize);
    return this.entries.slice(start, start + n);
  }

  /** mustCheckOutOfBounds panics unless offset <= lo <= hi <= offset + entries.length. */
  mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) raftPanic(this.logger, `invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    if (lo < this.offset || hi > upper) {
      raftPanic(this.logger, `unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    }
  }
}

function pushAll(dst: Entry[], src: readonly Entry[]): void {
  for (const e of src) dst.push(e);
}
