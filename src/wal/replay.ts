/**
 * ReplayLog rebuilds the raft log, the HardState and the set of snapshot markers from the
 * records of the segments, in order, before any snapshot file is read.
 */
import { decodeEntry, decodeHardState } from '../raftpb/codec.ts';
import type { Entry, HardState } from '../raftpb/types.ts';
import { decodeSnapshotApplied, decodeSnapshotTaken } from './bodies.ts';
import type { SegmentHeader, SnapshotMark } from './bodies.ts';
import { WalCorruptError } from './errors.ts';
import { RecordType } from './record.ts';
import type { ScannedRecord } from './scan.ts';

/**
 * ReplayLog is the log as the WAL describes it: entries after dummyIndex, the last
 * HardState and every snapshot marker seen. Entries at or before dummyIndex are skipped; an
 * entry at or before the last one replaces it and everything after (a conflicting suffix).
 */
export class ReplayLog {
  /** dummyIndex is the index before the first entry: the first segment's start, or the last reset. */
  dummyIndex = 0;
  /** ents[i] has index dummyIndex + 1 + i. */
  private ents: Entry[] = [];
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  /** records counts the records applied, segment headers included. */
  records = 0;
  private readonly marks = new Set<string>();

  /** lastIndex returns the index of the last entry (dummyIndex if none). */
  lastIndex(): number {
    return this.dummyIndex + this.ents.length;
  }

  /** term returns the term of entry i, for dummyIndex < i <= lastIndex(). */
  term(i: number): number {
    return (this.ents[i - this.dummyIndex - 1] as Entry).term;
  }

  /** entriesAfter returns the entries with index > i (i >= dummyIndex). */
  entriesAfter(i: number): Entry[] {
    return this.ents.slice(Math.max(0, i - this.dummyIndex));
  }

  /** hasMark reports whether a marker for the snapshot (index, term) was seen. */
  hasMark(m: SnapshotMark): boolean {
    return this.marks.has(`${m.index}/${m.term}`);
  }

  /**
   * segment applies a segment header. The first segment sets where the log starts; a later
   * one must start right after the log so far, or a piece of the log is missing.
   */
  segment(h: SegmentHeader, file: string, first: boolean): void {
    this.records++;
    if (first) this.dummyIndex = h.firstIndex - 1;
    else if (h.firstIndex !== this.lastIndex() + 1) {
      throw new WalCorruptError(
        file,
        0,
        `segment starts at index ${h.firstIndex} but the log before it ends at ${this.lastIndex()}`,
      );
    }
    this.hardState = h.hardState;
    this.mark(h.snapshot);
  }

  /** apply applies one record found at r.offset in file. */
  apply(r: ScannedRecord, file: string): void {
    this.records++;
    switch (r.type) {
      case RecordType.Entry:
        return this.entry(decode(file, r, decodeEntry), file, r.offset);
      case RecordType.HardState:
        this.hardState = decode(file, r, decodeHardState);
        return;
      case RecordType.SnapshotApplied: {
        const a = decode(file, r, decodeSnapshotApplied);
        this.dummyIndex = a.index;
        this.ents = [];
        this.hardState = a.hardState;
        return this.mark(a);
      }
      case RecordType.SnapshotTaken:
        return this.mark(decode(file, r, decodeSnapshotTaken));
      case RecordType.SegmentHeader:
        throw new WalCorruptError(file, r.offset, 'segment header in the middle of a segment');
    }
  }

  private entry(e: Entry, file: string, offset: number): void {
    if (e.index <= this.dummyIndex) return;
    const at = e.index - this.dummyIndex - 1;
    if (at > this.ents.length) {
      throw new WalCorruptError(
        file,
        offset,
        `entry ${e.index} leaves a gap after entry ${this.lastIndex()}`,
      );
    }
    if (at < this.ents.length) this.ents.length = at;
    this.ents.push(e);
  }

  private mark(m: SnapshotMark): void {
    if (m.index > 0) this.marks.add(`${m.index}/${m.term}`);
  }
}

/** decode runs a body decoder and turns its failure into a WalCorruptError. */
function decode<T>(file: string, r: ScannedRecord, fn: (b: Uint8Array) => T | string): T {
  let v: T | string;
  try {
    v = fn(r.body);
  } catch (err) {
    throw new WalCorruptError(file, r.offset, `cannot decode record: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof v === 'string') throw new WalCorruptError(file, r.offset, v);
  return v;
}
