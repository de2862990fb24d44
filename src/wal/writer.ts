/**
 * WalWriter: the single writer of a WAL directory. Writes are queued as operations; one
 * flush takes every queued operation, encodes their records into one buffer and makes it
 * durable with one write and one fdatasync (group commit). Operations queued while a flush
 * is in flight go out together in the next one.
 */
import { join } from 'node:path';
import type { Logger } from '../raft/logger.ts';
import type { Entry, HardState, Snapshot } from '../raftpb/types.ts';
import { isEmptyHardState, isHardStateEqual } from '../raftpb/types.ts';
import { encodeSnapshotApplied, encodeSnapshotTaken } from './bodies.ts';
import type { SnapshotMark } from './bodies.ts';
import { WalClosedError, WalFailedError } from './errors.ts';
import type { WalError } from './errors.ts';
import type { WalFile, WalFS } from './fs.ts';
import { TMP_SUFFIX, snapName } from './names.ts';
import type { SnapName } from './names.ts';
import { FrameWriter, RecordType } from './record.ts';
import { installSegment, prepareSegmentFile } from './segment.ts';
import type { Preallocate } from './segment.ts';
import { writeSnapFileChunks } from './snapfile.ts';

/** SPARE_NAME is the temporary name of the preallocated next segment. */
export const SPARE_NAME = 'segment' + TMP_SUFFIX;

/** WriterOptions configure a WalWriter. */
export interface WriterOptions {
  fs: WalFS;
  dir: string;
  /** segmentSize is the size segments are preallocated to and rotated at. */
  segmentSize: number;
  preallocate: Preallocate;
  /** keepSnapshots is how many snapshot files to keep (the newest ones). */
  keepSnapshots: number;
  logger: Logger;
}

/** SegmentRef names a segment the writer holds. */
export interface SegmentRef {
  seq: number;
  firstIndex: number;
  name: string;
}

/** WriterState is the durable state the writer continues from. */
export interface WriterState {
  /** segments are the segment files on disk, oldest first; the last one is written to. */
  segments: SegmentRef[];
  file: WalFile;
  /** pos is where the next record goes in the last segment. */
  pos: number;
  /** headerEnd is the end of the last segment's header frame. */
  headerEnd: number;
  /** lastCrc is the CRC of the last record written. */
  lastCrc: number;
  /** hardState is the last HardState written (all zero if none). */
  hardState: HardState;
  /** snapshot is the newest snapshot whose file and marker are durable ({0,0} if none). */
  snapshot: SnapshotMark;
  /** lastIndex is the index of the last entry, as a replay of the WAL would find it. */
  lastIndex: number;
  /** dummyIndex is where a replay's log starts: entries at or before it are skipped. */
  dummyIndex: number;
  /** snapFiles are the snapshot files in the directory. */
  snapFiles: SnapName[];
}

/** WalStats counts what the WAL has done since it was opened. */
export interface WalStats {
  /** saves is the number of save() calls made durable. */
  saves: number;
  /**
   * batches is the number of group-commit writes: each one write, plus one fdatasync unless
   * it only moved the commit index (see batchSyncs).
   */
  batches: number;
  /** records and entries count the records (of all types) and entry records written. */
  records: number;
  entries: number;
  /** bytesWritten counts WAL bytes written by batches and segment headers. */
  bytesWritten: number;
  /** batchSyncs counts the fdatasyncs that made batches durable. */
  batchSyncs: number;
  /** fsyncs counts every fsync and fdatasync: batches, segments, snapshots, directories. */
  fsyncs: number;
  /** segments counts the segments created; snapshots the snapshot files written. */
  segments: number;
  snapshots: number;
}

/** SnapWrite is a snapshot file to write before the records that name it. */
export interface SnapWrite {
  index: number;
  term: number;
  /**
   * snap is the snapshot to write (its data is written as is, not copied: it must not
   * change), or undefined when its file is already durable (written by writeSnapFileChunks
   * before the op was queued).
   */
  snap: Snapshot | undefined;
}

/** WalOp is one queued operation. */
export type WalOp =
  | {
      kind: 'save';
      hardState: HardState | undefined;
      entries: readonly Entry[];
      snap: SnapWrite | undefined;
    }
  | { kind: 'snapshot'; snap: SnapWrite }
  | { kind: 'release'; index: number };

interface Queued {
  op: WalOp;
  resolve: () => void;
  reject: (err: unknown) => void;
}

type Shadow = Pick<WriterState, 'hardState' | 'snapshot' | 'lastIndex' | 'dummyIndex'>;

/**
 * WalWriter owns the open segment and the queue of writes.
 *
 * Error contract: enqueue() rejects with WalFailedError once any I/O operation has failed
 * (the failing flush's operations and everything queued behind it are rejected too, and
 * nothing is ever retried), and with WalClosedError after close().
 */
export class WalWriter {
  /** stats are updated as flushes complete. */
  readonly stats: WalStats = {
    saves: 0,
    batches: 0,
    records: 0,
    entries: 0,
    bytesWritten: 0,
    batchSyncs: 0,
    fsyncs: 0,
    segments: 0,
    snapshots: 0,
  };
  private queue: Queued[] = [];
  private running = false;
  private scheduled = false;
  private failure: WalFailedError | undefined;
  private closing = false;
  private idle: (() => void)[] = [];
  private spare: Promise<WalFile> | undefined;
  private readonly enc = new FrameWriter();
  /** unsynced: the last batch written to the open segment was not fdatasynced. */
  private unsynced = false;
  private readonly sparePath: string;

  /** Creates the writer on recovered state. */
  constructor(
    private readonly o: WriterOptions,
    private readonly s: WriterState,
  ) {
    this.sparePath = join(o.dir, SPARE_NAME);
    this.maybePrepareSpare();
  }

  /** error returns the error every new operation is rejected with, if any. */
  error(): WalError | undefined {
    if (this.failure !== undefined) return this.failure;
    return this.closing ? new WalClosedError() : undefined;
  }

  /**
   * failWith stops the writer for good after an I/O error outside it (a snapshot file
   * written beside the queue), as if a flush had failed; returns the WalFailedError.
   */
  failWith(err: unknown): WalFailedError {
    if (this.failure === undefined) this.fail(err, []);
    return this.failure as WalFailedError;
  }

  /** enqueue queues op for the next flush and resolves once it is durable. */
  enqueue(op: WalOp): Promise<void> {
    const err = this.error();
    if (err !== undefined) return Promise.reject(err);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      this.schedule();
    });
  }

  /** close flushes what is queued, then releases the files. Later enqueues reject. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.running || this.scheduled || this.queue.length > 0) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
    const spare = this.spare;
    this.spare = undefined;
    if (spare !== undefined) await spare.then((f) => f.close()).catch(() => undefined);
    await this.s.file.close().catch(() => undefined);
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every save() issued in this turn of the event loop
    // (all the proposers woken by the previous flush) joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0 && this.failure === undefined) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.flush(batch.map((q) => q.op));
        for (const q of batch) q.resolve();
      } catch (err) {
        this.fail(err, batch);
      }
    }
    this.running = false;
    const idle = this.idle;
    this.idle = [];
    for (const f of idle) f();
  }

  private fail(err: unknown, batch: Queued[]): void {
    this.failure = new WalFailedError({ cause: err });
    this.o.logger.error(`wal: write failed, storage stopped for good: ${String(err)}`);
    for (const q of [...batch, ...this.queue]) q.reject(this.failure);
    this.queue = [];
  }

  private async flush(ops: WalOp[]): Promise<void> {
    for (const op of ops) if (op.kind !== 'release' && op.snap) await this.writeSnap(op.snap);
    const sync = this.mustSync(ops);
    const next = this.encode(ops);
    if (this.enc.length > 0) await this.append(sync);
    this.s.hardState = next.hardState;
    this.s.snapshot = next.snapshot;
    this.s.lastIndex = next.lastIndex;
    this.s.dummyIndex = next.dummyIndex;
    for (const op of ops) {
      if (op.kind !== 'save') continue;
      this.stats.saves++;
      this.stats.entries += op.entries.length;
    }
    await this.release(ops);
  }

  /**
   * mustSync reports whether a batch needs an fdatasync: it does unless it only moves the
   * commit index. The commit index is volatile state (Raft thesis §3.8, Figure 3.1): a
   * restarted member learns it again from the leader, so, as etcd's raft.MustSync, a
   * HardState that changes neither term nor vote is written but not synced (the next synced
   * batch makes it durable with everything before it; a torn one is repaired on open).
   */
  private mustSync(ops: WalOp[]): boolean {
    const { term, vote } = this.s.hardState;
    for (const op of ops) {
      if (op.kind !== 'save' || op.snap !== undefined || op.entries.length > 0) return true;
      const hs = op.hardState;
      if (hs !== undefined && (hs.term !== term || hs.vote !== vote)) return true;
    }
    return false;
  }

  /** encode puts the records of ops into enc and returns the state after them. */
  private encode(ops: WalOp[]): Shadow {
    const { hardState, snapshot, lastIndex, dummyIndex } = this.s;
    const n: Shadow = { hardState, snapshot, lastIndex, dummyIndex };
    this.enc.reset();
    for (const op of ops) {
      if (op.kind === 'save') this.encodeSave(op, n);
      else if (op.kind === 'snapshot') {
        const m = { index: op.snap.index, term: op.snap.term };
        this.enc.addBody(RecordType.SnapshotTaken, encodeSnapshotTaken(m));
        if (m.index > n.snapshot.index) n.snapshot = m;
      }
    }
    return n;
  }

  /**
   * encodeSave writes a save's records in the order that keeps every prefix consistent (a
   * torn batch keeps a prefix): the snapshot marker (carrying a HardState whose commit is
   * the snapshot index), then the entries, then the HardState.
   */
  private encodeSave(op: Extract<WalOp, { kind: 'save' }>, n: Shadow): void {
    if (op.snap !== undefined) {
      const { index, term } = op.snap;
      const hs = op.hardState ?? n.hardState;
      const hardState = {
        term: hs.term,
        vote: hs.vote,
        commit: Math.max(n.hardState.commit, index),
      };
      this.enc.addBody(
        RecordType.SnapshotApplied,
        encodeSnapshotApplied({ index, term, hardState }),
      );
      n.hardState = hardState;
      n.snapshot = { index, term };
      n.lastIndex = n.dummyIndex = index;
    }
    for (const e of op.entries) this.enc.addEntry(e);
    const last = op.entries[op.entries.length - 1];
    if (last !== undefined && last.index > n.dummyIndex) n.lastIndex = last.index;
    const hs = op.hardState;
    if (hs !== undefined && !isEmptyHardState(hs) && !isHardStateEqual(hs, n.hardState)) {
      this.enc.addHardState(hs);
      n.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
    }
  }

  /** append writes the encoded batch, rotating first if it does not fit. */
  private async append(sync: boolean): Promise<void> {
    const len = this.enc.length;
    if (this.s.pos + len > this.o.segmentSize && this.s.pos > this.s.headerEnd) {
      await this.rotate();
    }
    this.s.lastCrc = this.enc.seal(this.s.lastCrc);
    await this.s.file.write(this.enc.bytes(), this.s.pos);
    if (sync) {
      await this.s.file.datasync();
      this.stats.batchSyncs++;
      this.stats.fsyncs++;
    }
    this.unsynced = !sync;
    this.s.pos += len;
    this.stats.batches++;
    this.stats.records += this.enc.records;
    this.stats.bytesWritten += len;
    this.maybePrepareSpare();
  }

  /** rotate installs the spare as the next segment; its header carries the durable state. */
  private async rotate(): Promise<void> {
    const spare = this.spare ?? this.newSpare();
    this.spare = undefined;
    const file = await spare;
    const cur = this.s.segments[this.s.segments.length - 1] as SegmentRef;
    // The new segment's header chains from the last record of this one: that record must
    // be durable first, or a crash could leave a chain that points at a lost record.
    if (this.unsynced) {
      await this.s.file.datasync();
      this.stats.fsyncs++;
      this.unsynced = false;
    }
    const h = {
      seq: cur.seq + 1,
      firstIndex: this.s.lastIndex + 1,
      prevCrc: this.s.lastCrc,
      hardState: this.s.hardState,
      snapshot: this.s.snapshot,
    };
    const seg = await installSegment(this.o.fs, this.o.dir, this.sparePath, file, h);
    this.stats.fsyncs += 2;
    this.stats.segments++;
    this.stats.bytesWritten += seg.end;
    await this.s.file.close();
    this.s.segments.push({ seq: h.seq, firstIndex: h.firstIndex, name: seg.name });
    this.s.file = file;
    this.s.pos = this.s.headerEnd = seg.end;
    this.s.lastCrc = seg.crc;
  }

  /**
   * maybePrepareSpare starts preallocating the next segment in the background once the
   * current one is half full, so that rotation rarely waits for it.
   */
  private maybePrepareSpare(): void {
    if (this.spare !== undefined || this.failure !== undefined || this.closing) return;
    if (this.s.pos <= this.o.segmentSize / 2) return;
    const p = this.newSpare();
    p.catch(() => undefined); // surfaced by rotate(), which awaits it
    this.spare = p;
  }

  private async newSpare(): Promise<WalFile> {
    const { fs, segmentSize, preallocate } = this.o;
    const f = await prepareSegmentFile(fs, this.sparePath, segmentSize, preallocate);
    this.stats.fsyncs++;
    return f;
  }

  private async writeSnap(snap: SnapWrite): Promise<void> {
    const name =
      snap.snap === undefined
        ? snapName(snap.index, snap.term)
        : await writeSnapFileChunks(this.o.fs, this.o.dir, snap.snap.metadata, [
            snap.snap.data ?? new Uint8Array(),
          ]);
    this.stats.fsyncs += 2;
    this.stats.snapshots++;
    if (!this.s.snapFiles.some((f) => f.name === name)) {
      this.s.snapFiles.push({ name, index: snap.index, term: snap.term });
    }
  }

  /**
   * release deletes the segments that only hold entries covered by the durable snapshot (up
   * to the bound the operations allow), oldest first with a directory sync after each, so a
   * crash leaves a contiguous run of segments; then old snapshot files.
   */
  private async release(ops: WalOp[]): Promise<void> {
    let bound = -1;
    let purge = false;
    for (const op of ops) {
      if (op.kind === 'release') bound = Math.max(bound, op.index);
      else if (op.kind === 'snapshot') bound = Math.max(bound, op.snap.index);
      purge ||= op.kind !== 'release' && op.snap !== undefined;
    }
    bound = Math.min(bound, this.s.snapshot.index);
    const segs = this.s.segments;
    for (let next = segs[1]; next !== undefined && next.firstIndex - 1 <= bound; next = segs[1]) {
      await this.o.fs.unlink(join(this.o.dir, (segs[0] as SegmentRef).name));
      await this.o.fs.syncDir(this.o.dir);
      this.stats.fsyncs++;
      segs.shift();
    }
    if (purge) await this.purgeSnapshots();
  }

  /** purgeSnapshots keeps the keepSnapshots newest snapshot files not newer than the durable one. */
  private async purgeSnapshots(): Promise<void> {
    const cur = this.s.snapshot.index;
    const files = this.s.snapFiles.filter((f) => f.index <= cur).sort((a, b) => b.index - a.index);
    const drop = files.slice(Math.max(1, this.o.keepSnapshots));
    if (drop.length === 0) return;
    for (const f of drop) await this.o.fs.unlink(join(this.o.dir, f.name));
    await this.o.fs.syncDir(this.o.dir);
    this.stats.fsyncs++;
    this.s.snapFiles = this.s.snapFiles.filter((f) => !drop.includes(f));
  }
}
