import type { Entry } from '../raftpb/types.ts';

/**
 * entryID identifies a log entry by the term of the leader that created it and its index.
 * A leader never creates two entries at the same index, so two logs that hold entries with
 * the same entryID agree on that entry and on every entry before it (Raft thesis §3.5,
 * Log Matching).
 */
export interface entryID {
  term: number;
  index: number;
}

/** pbEntryID returns the entryID of an Entry. */
export function pbEntryID(e: Entry): entryID {
  return { term: e.term, index: e.index };
}

/** formatEntryID prints an entryID as Go's `%+v` does: `{term:1 index:2}`. */
export function formatEntryID(id: entryID): string {
  return `{term:${id.term} index:${id.index}}`;
}

/**
 * logSlice is a contiguous run of entries as seen by the leader of `term`, together with
 * the ID of the entry just before it.
 *
 * A well-formed slice satisfies, for entries e[0..n):
 * e[i].index === prev.index + 1 + i; prev.term <= e[0].term; e[i-1].term <= e[i].term;
 * e[n-1].term <= term. Code that builds a slice from untrusted input (a message, storage,
 * a test) checks this with valid(); everything else may assume it.
 *
 * The `entries` array is shared with whoever built the slice and must not be mutated.
 */
export class logSlice {
  /** term is the term of the leader whose log contains these entries. */
  term: number;
  /** prev is the ID of the entry right before entries[0] (or before the empty slice). */
  prev: entryID;
  /** entries are the consecutive entries of the slice. */
  entries: Entry[];

  constructor(term: number, prev: entryID, entries: Entry[]) {
    this.term = term;
    this.prev = prev;
    this.entries = entries;
  }

  /** lastIndex returns the index of the last entry, or prev.index when there is none. */
  lastIndex(): number {
    return this.prev.index + this.entries.length;
  }

  /** lastEntryID returns the ID of the last entry, or prev when there is none. */
  lastEntryID(): entryID {
    const n = this.entries.length;
    const last = n === 0 ? undefined : this.entries[n - 1];
    return last === undefined ? this.prev : pbEntryID(last);
  }

  /**
   * valid returns undefined if the slice is well-formed, otherwise an Error whose message
   * (etcd's text) names the first offending entry.
   */
  valid(): Error | undefined {
    let prev = this.prev;
    for (const e of this.entries) {
      const id = pbEntryID(e);
      if (id.term < prev.term || id.index !== prev.index + 1) {
        return new Error(
          `leader term ${this.term}: entries ${formatEntryID(prev)} and ${formatEntryID(id)} not consistent`,
        );
      }
      prev = id;
    }
    if (this.term < prev.term) {
      return new Error(`leader term ${this.term}: entry ${formatEntryID(prev)} has a newer term`);
    }
    return undefined;
  }
}
