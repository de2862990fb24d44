import type { ConfState, Entry, HardState, Snapshot } from '../raftpb/types.ts';
import { emptySnapshot } from '../raftpb/types.ts';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from './errors.ts';
import { discardLogger, raftPanic } from './logger.ts';
import type { Logger } from './logger.ts';
import { cloneConfState, cloneSnapshot, limitSizeCount } from './util.ts';

/** InitialState is what Storage.initialState returns: the persisted raft state. */
export interface InitialState {
  /** The last HardState saved; all zero if none was saved yet. */
  hardState: HardState;
  /** The membership of the latest snapshot; empty lists if none. */
  confState: ConfState;
}

/**
 * Storage is the application's log storage as raft reads it. raft only reads through this
 * interface; the application writes (appends entries, applies snapshots) on its own after
 * handling a Ready.
 *
 * Error contract: methods throw only the errors listed on them, as instances of the classes
 * in errors.ts. Any other exception is treated as fatal: raft does not catch it, and the
 * node must be discarded (etcd panics there).
 */
export interface Storage {
  /**
   * initialState returns the saved HardState and ConfState. Throws nothing in
   * MemoryStorage; other implementations may throw an I/O error (fatal).
   */
  initialState(): InitialState;

  /**
   * entries returns the consecutive entries with indexes in [lo, hi), stopping once their
   * total encoding size would exceed maxSize, but always at least one entry when lo < hi.
   * The returned array belongs to the caller, who may append to it; the Entry objects in it
   * are shared and must not be mutated by anyone.
   *
   * Throws ErrCompacted if entry lo was compacted away, ErrUnavailable if some entry of
   * [lo, hi) is missing.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[];

  /**
   * term returns the term of entry i, for i in [firstIndex()-1, lastIndex()]. The term of
   * entry firstIndex()-1 is kept after compaction so appends can still be matched against it.
   *
   * Throws ErrCompacted if i < firstIndex()-1, ErrUnavailable if i > lastIndex().
   */
  term(i: number): number;

  /** lastIndex returns the index of the last entry in the log. */
  lastIndex(): number;

  /**
   * firstIndex returns the index of the first entry that may be available through entries();
   * earlier entries are only part of the latest snapshot. An empty log returns
   * lastIndex() + 1.
   */
  firstIndex(): number;

  /**
   * snapshot returns the most recent snapshot; the caller may keep it.
   *
   * Throws ErrSnapshotTemporarilyUnavailable if a snapshot is being prepared: raft then
   * retries later.
   */
  snapshot(): Snapshot;
}

/**
 * MemoryStorage is a Storage kept in memory: a snapshot, a HardState and an array of entries
 * whose element 0 is a "dummy" that only records the index and term of the entry before
 * the first available one (the snapshot's position). A fresh storage holds the dummy
 * (index 0, term 0), so firstIndex() === 1 and lastIndex() === 0.
 *
 * Entry objects are shared, never copied: callers must not mutate entries they append or
 * receive. Arrays are never shared: entries() returns a new array, append() copies.
 */
export class MemoryStorage implements Storage {
  /**
   * ents[i] has log index ents[0].index + i; ents[0] is the dummy entry. Never empty.
   * Exposed for tests and tools; do not modify from outside.
   */
  ents: Entry[] = [{ term: 0, index: 0, type: 0 }];
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = emptySnapshot();
  private readonly logger: Logger;

  /** The logger receives the panic text when a caller breaks an invariant. */
  constructor(logger: Logger = discardLogger) {
    this.logger = logger;
  }

  /**
   * withConfState returns an empty MemoryStorage whose (index 0) snapshot carries cs, the way
   * an application bootstraps the initial membership.
   */
  static withConfState(cs: ConfState, logger?: Logger): MemoryStorage {
    const s = new MemoryStorage(logger);
    s.applySnapshot({ metadata: { confState: cs, index: 0, term: 0 } });
    return s;
  }

  /** initialState returns copies of the saved HardState and the snapshot's ConfState. */
  initialState(): InitialState {
    return {
      hardState: { ...this.hardState },
      confState: cloneConfState(this.snap.metadata.confState),
    };
  }

  /** setHardState saves the current HardState. */
  setHardState(st: HardState): void {
    this.hardState = { term: st.term, vote: st.vote, commit: st.commit };
  }

  /** entries implements Storage; panics if hi > lastIndex() + 1. */
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new ErrCompacted();
    if (hi > this.lastIndex() + 1) {
      raftPanic(this.logger, `entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    }
    if (this.ents.length === 1) throw new ErrUnavailable();
    const n = limitSizeCount(this.ents, lo - offset, hi - offset, maxSize);
    return this.ents.slice(lo - offset, lo - offset + n);
  }

  /** term implements Storage. */
  term(i: number): number {
    const offset = this.offset();
    if (i < offset) throw new ErrCompacted();
    const e = this.ents[i - offset];
    if (e === undefined) throw new ErrUnavailable();
    return e.term;
  }

  /** lastIndex implements Storage. */
  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  /** firstIndex implements Storage. */
  firstIndex(): number {
    return this.offset() + 1;
  }

  /** snapshot implements Storage; returns a copy of the current snapshot. */
  snapshot(): Snapshot {
    return cloneSnapshot(this.snap);
  }

  /**
   * applySnapshot replaces the whole content of the storage with the snapshot: the log
   * becomes empty, positioned right after the snapshot. Throws ErrSnapOutOfDate if the
   * current snapshot is not at index 0 and is at least as new. A snapshot at index 0 is
   * accepted so that bootstrapping can set just a ConfState.
   */
  applySnapshot(snap: Snapshot): void {
    const cur = this.snap.metadata.index;
    const { index, term } = snap.metadata;
    if (cur !== 0 && cur >= index) throw new ErrSnapOutOfDate();
    this.snap = cloneSnapshot(snap);
    this.ents = [{ term, index, type: 0 }];
  }

  /**
   * createSnapshot records a snapshot at index i (with the given ConfState, if any, and
   * data), retrievable with snapshot(), and returns a copy of it. It does not compact the
   * log; call compact() for that. Throws ErrSnapOutOfDate if i is not past the current
   * snapshot; panics if i > lastIndex().
   */
  createSnapshot(i: number, cs?: ConfState, data?: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new ErrSnapOutOfDate();
    if (i > this.lastIndex()) {
      raftPanic(this.logger, `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    }
    const m = this.snap.metadata;
    m.index = i;
    m.term = (this.ents[i - this.offset()] as Entry).term;
    if (cs !== undefined) m.confState = cloneConfState(cs);
    this.snap.data = data;
    return cloneSnapshot(this.snap);
  }

  /**
   * compact discards the entries before compactIndex; entry compactIndex becomes the new
   * dummy, keeping its index and term. The application must not compact past what it has
   * applied. Throws ErrCompacted if compactIndex <= the current dummy index; panics if
   * compactIndex > lastIndex().
   */
  compact(compactIndex: number): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw new ErrCompacted();
    if (compactIndex > this.lastIndex()) {
      raftPanic(
        this.logger,
        `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`,
      );
    }
    const i = compactIndex - offset;
    const dummy = this.ents[i] as Entry;
    const ents = this.ents.slice(i);
    ents[0] = { term: dummy.term, index: dummy.index, type: 0 };
    this.ents = ents;
  }

  /**
   * append adds entries (consecutive indexes) to the log. Entries at or before the dummy are
   * skipped; existing entries from entries[0].index on are replaced. Panics if the first new
   * entry would leave a gap after lastIndex().
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const firstNew = (entries[0] as Entry).index;
    const last = firstNew + entries.length - 1;
    if (last < first) return;
    const skip = first > firstNew ? first - firstNew : 0;
    const at = firstNew + skip - this.offset();
    if (at > this.ents.length) {
      raftPanic(
        this.logger,
        `missing log entry [last: ${this.lastIndex()}, append at: ${firstNew + skip}]`,
      );
    }
    // Nothing outside holds this.ents (entries() copies), so truncating in place is safe.
    if (this.ents.length !== at) this.ents.length = at;
    for (let k = skip; k < entries.length; k++) this.ents.push(entries[k] as Entry);
  }

  private offset(): number {
    return (this.ents[0] as Entry).index;
  }
}

/** newMemoryStorage returns an empty MemoryStorage. */
export function newMemoryStorage(logger?: Logger): MemoryStorage {
  return new MemoryStorage(logger);
}
