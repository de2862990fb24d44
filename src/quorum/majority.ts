import type { AckedIndexer, Index } from './quorum.ts';
import { VoteResult } from './quorum.ts';

/** Above this many voters committedIndex sorts with the built-in sort instead of insertion. */
const insertionSortMax = 16;

/**
 * MajorityConfig is a set of voter ids whose decisions need a simple majority
 * (`floor(n/2) + 1` of the `n` members).
 *
 * It keeps an ascending array of its members and a scratch buffer of the same length, rebuilt
 * lazily after a mutation, so that the hot paths (committedIndex, voteResult) iterate a plain
 * array and allocate nothing.
 */
export class MajorityConfig implements Iterable<number> {
  /** The members. */
  private readonly members: Set<number>;
  /** The members in ascending order; undefined after a mutation until next needed. */
  private sorted: number[] | undefined;
  /** committedIndex's work space; its length always equals `sorted.length`. */
  private scratch: Float64Array = new Float64Array(0);

  /** MajorityConfig creates a config holding the given ids (duplicates collapse). */
  constructor(ids: Iterable<number> = []) {
    this.members = new Set(ids);
  }

  /** size returns the number of voters. */
  size(): number {
    return this.members.size;
  }

  /** has reports whether id is a voter. */
  has(id: number): boolean {
    return this.members.has(id);
  }

  /** add makes id a voter. */
  add(id: number): this {
    if (!this.members.has(id)) {
      this.members.add(id);
      this.sorted = undefined;
    }
    return this;
  }

  /** delete removes id; it returns whether id was a voter. */
  delete(id: number): boolean {
    const had = this.members.delete(id);
    if (had) this.sorted = undefined;
    return had;
  }

  /** clear removes every voter. */
  clear(): void {
    this.members.clear();
    this.sorted = undefined;
  }

  /** Iterates the voter ids in ascending order. */
  [Symbol.iterator](): Iterator<number> {
    return this.ascending()[Symbol.iterator]();
  }

  /** slice returns the voter ids as a new ascending array. */
  slice(): number[] {
    return this.ascending().slice();
  }

  /** clone returns an independent copy. */
  clone(): MajorityConfig {
    return new MajorityConfig(this.members);
  }

  /** toString prints the ids ascending in lowercase hex, e.g. `(1 2 a)`; empty is `()`. */
  toString(): string {
    return formatIdSet(this.ascending());
  }

  /**
   * describe draws one row per voter (ascending id) showing its acknowledged index as a bar
   * whose length is the voter's rank by index, `?` for an unknown index. An empty config
   * prints `<empty majority quorum>` without a trailing newline.
   */
  describe(l: AckedIndexer): string {
    const n = this.size();
    if (n === 0) return '<empty majority quorum>';
    const rows = this.ascending().map((id) => {
      const idx = l.acked(id);
      return { id, idx: idx ?? 0, known: idx !== undefined, bar: 0 };
    });
    const byIndex = [...rows].sort((a, b) => a.idx - b.idx || a.id - b.id);
    for (let i = 1; i < byIndex.length; i++) {
      const prev = byIndex[i - 1]!;
      const cur = byIndex[i]!;
      cur.bar = prev.idx < cur.idx ? i : prev.bar;
    }
    let out = ' '.repeat(n) + '    idx\n';
    for (const r of rows) {
      const gauge = r.known ? 'x'.repeat(r.bar) + '>' + ' '.repeat(n - r.bar) : '?' + ' '.repeat(n);
      out += `${gauge} ${String(r.idx).padStart(5)}    (id=${r.id.toString(16)})\n`;
    }
    return out;
  }

  /**
   * committedIndex returns the largest index acknowledged by a majority of the voters, where
   * a voter with an unknown index counts as having acknowledged 0. The empty config returns
   * `Infinity` (Go's MaxUint64), which makes it neutral in a joint quorum.
   */
  committedIndex(l: AckedIndexer): Index {
    const ids = this.ascending();
    const n = ids.length;
    if (n === 0) return Infinity;
    const srt = this.scratch;
    for (let i = 0; i < n; i++) srt[i] = l.acked(ids[i]!) ?? 0;
    if (n <= insertionSortMax) insertionSort(srt, n);
    else srt.sort();
    // The (floor(n/2)+1)-th largest value is acknowledged by a majority.
    return srt[n - ((n >> 1) + 1)]!;
  }

  /**
   * voteResult counts the yes (true) and no (false) votes of the members. Votes of
   * non-members are ignored. The empty config wins every vote, so that it is neutral in a
   * joint quorum.
   */
  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    const ids = this.ascending();
    if (ids.length === 0) return VoteResult.VoteWon;
    let yes = 0;
    let missing = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = votes.get(ids[i]!);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = (ids.length >> 1) + 1;
    if (yes >= q) return VoteResult.VoteWon;
    if (yes + missing >= q) return VoteResult.VotePending;
    return VoteResult.VoteLost;
  }

  private ascending(): number[] {
    if (this.sorted === undefined) {
      this.sorted = [...this.members].sort((a, b) => a - b);
      if (this.scratch.length !== this.sorted.length) {
        this.scratch = new Float64Array(this.sorted.length);
      }
    }
    return this.sorted;
  }
}

/** formatIdSet prints ids (expected ascending) as `(` + lowercase hex joined by spaces + `)`. */
export function formatIdSet(ascendingIds: readonly number[]): string {
  let out = '(';
  for (let i = 0; i < ascendingIds.length; i++) {
    if (i > 0) out += ' ';
    out += ascendingIds[i]!.toString(16);
  }
  return out + ')';
}

function insertionSort(a: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}
