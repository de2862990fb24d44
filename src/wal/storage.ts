/**
 * DiskStorage: raft's Storage served from memory, made durable by the WAL and snapshot
 * files in one directory. openDiskStorage is the way in.
 */
import type { DurableStorage } from '../node/interfaces.ts';
import { join } from 'node:path';
import {
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrSnapshotTemporarilyUnavailable,
} from '../raft/errors.ts';
import { discardLogger } from '../raft/logger.ts';
import type { Logger } from '../raft/logger.ts';
import type { InitialState } from '../raft/storage.ts';
import { MemoryStorage } from '../raft/storage.ts';
import { cloneConfState } from '../raft/util.ts';
import { isEmptyHardState, isEmptySnap } from '../raftpb/types.ts';
import type { ConfState, Entry, HardState, Snapshot, SnapshotMetadata } from '../raftpb/types.ts';
import { nodeFS } from './fs.ts';
import { snapName } from './names.ts';
import type { WalFS } from './fs.ts';
import { recover } from './recover.ts';
import type { RecoveryReport } from './recover.ts';
import { Preallocate } from './segment.ts';
import { decodeSnapFile, writeSnapFileChunks } from './snapfile.ts';
import { WalWriter } from './writer.ts';
import type { SnapWrite, WalStats } from './writer.ts';

/** DEFAULT_SEGMENT_SIZE is the default segment size, 64 MiB (as etcd). */
export const DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024;
/** MIN_SEGMENT_SIZE is the smallest segment size accepted (tests use small segments). */
export const MIN_SEGMENT_SIZE = 512;
/**
 * SNAPSHOT_KEEP_MS is how long the data of a durable snapshot stays in memory after it was
 * last handed out by snapshot() (or read back from its file); then only its file has it.
 */
export const SNAPSHOT_KEEP_MS = 10_000;

/** Held is the current snapshot's data while it is in memory. */
interface Held {
  index: number;
  data: Uint8Array | undefined;
  /** durable: its file is written; the data may be dropped and read back. */
  durable: boolean;
  /**
   * handedOut: snapshot() returned it, or nobody needs to ask (the drop timer runs only
   * then); false for the snapshot open recovered, which the Node restores from first.
   */
  handedOut: boolean;
}

/** DiskStorageOptions tune openDiskStorage; every field is optional. */
export interface DiskStorageOptions {
  /** fs is the file system to use (default: the real one). Tests inject FaultFS. */
  fs?: WalFS;
  /** logger receives torn-tail reports, recovery notes and the error that stops the WAL. */
  logger?: Logger;
  /** segmentSize is the size segments are preallocated to and rotated at (default 64 MiB). */
  segmentSize?: number;
  /** preallocate selects how segment space is reserved (default Preallocate.Zero). */
  preallocate?: Preallocate;
  /** keepSnapshots is how many snapshot files are kept, newest first (default 3, min 1). */
  keepSnapshots?: number;
  /** snapshotKeepMs overrides SNAPSHOT_KEEP_MS (tests). */
  snapshotKeepMs?: number;
  /**
   * confState is the initial membership, recorded as a snapshot at index 0 when `dir` holds
   * no WAL yet (as MemoryStorage.withConfState); ignored when opening an existing WAL.
   */
  confState?: ConfState;
}

/**
 * DiskStorage implements DurableStorage. Reads (the Storage methods) are answered from an
 * in-memory MemoryStorage that each write updates at once; the writes themselves resolve
 * when the WAL has made them durable, with concurrent writes sharing one fdatasync.
 *
 * Error contract: the Storage methods throw exactly what MemoryStorage throws (ErrCompacted,
 * ErrUnavailable) and keep working after a failure, and snapshot() throws
 * ErrSnapshotTemporarilyUnavailable while it reads the snapshot's data back from its file
 * (the data is kept in memory only while the snapshot is being written and for
 * SNAPSHOT_KEEP_MS after use; raft retries). save, createSnapshot and compactTo
 * reject with TypeError/RangeError for bad arguments (the storage is unchanged), with
 * ErrCompacted/ErrSnapOutOfDate as MemoryStorage would throw, with WalFailedError once an
 * I/O error has stopped the WAL (for that call, every call queued with it and every later
 * call; nothing is retried or acknowledged), and with WalClosedError after close().
 */
export class DiskStorage implements DurableStorage {
  /** held is the current snapshot's data while in memory (see Held). */
  private held: Held | undefined;
  /** loading is the index of the snapshot being read back from its file. */
  private loading: number | undefined;
  private dropTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    private readonly mem: MemoryStorage,
    private readonly wal: WalWriter,
    /** recovery says what open found: torn tail, snapshot used, damaged snapshot files. */
    readonly recovery: RecoveryReport,
    /** dir is the directory holding the WAL and snapshot files. */
    readonly dir: string,
    private readonly o: CheckedOptions,
  ) {}

  /** open is openDiskStorage; see there. */
  static async open(dir: string, opts: DiskStorageOptions = {}): Promise<DiskStorage> {
    const o = checkOptions(dir, opts);
    const r = await recover({ ...o, dir, confState: opts.confState });
    const wal = new WalWriter({ ...o, dir }, r.state);
    const s = new DiskStorage(r.mem, wal, r.report, dir, o);
    const index = r.mem.snapshot().metadata.index;
    if (index > 0) s.held = { index, data: r.snapData, durable: true, handedOut: false };
    return s;
  }

  /** stats returns a copy of the WAL's counters (fsyncs, bytes, records...). */
  get stats(): WalStats {
    return { ...this.wal.stats };
  }

  /** failure is the error new writes are rejected with (WalFailedError, WalClosedError), if any. */
  get failure(): Error | undefined {
    return this.wal.error();
  }

  /** initialState implements Storage. */
  initialState(): InitialState {
    return this.mem.initialState();
  }

  /** entries implements Storage. */
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return this.mem.entries(lo, hi, maxSize);
  }

  /** term implements Storage. */
  term(i: number): number {
    return this.mem.term(i);
  }

  /** lastIndex implements Storage. */
  lastIndex(): number {
    return this.mem.lastIndex();
  }

  /** firstIndex implements Storage. */
  firstIndex(): number {
    return this.mem.firstIndex();
  }

  /**
   * snapshot implements Storage. The data is not a copy: do not mutate it. Throws
   * ErrSnapshotTemporarilyUnavailable while the data is read back from its file.
   */
  snapshot(): Snapshot {
    const s = this.mem.snapshot();
    const { index, term } = s.metadata;
    if (index === 0) return s;
    const h = this.held;
    if (h?.index === index) {
      h.handedOut = true;
      if (h.durable) this.scheduleDrop();
      if (h.data !== undefined) s.data = h.data;
      return s;
    }
    this.load(index, term);
    throw new ErrSnapshotTemporarilyUnavailable();
  }

  /**
   * save implements DurableStorage: the snapshot (unless empty) replaces the log, the
   * entries are appended (replacing a conflicting suffix), and the HardState (unless
   * undefined or empty) is set, in memory at once and on disk before the promise resolves.
   * A save that only moves the commit index (no entries, no snapshot, same term and vote) is
   * written but not fdatasynced, as etcd's raft.MustSync: the commit index is volatile state
   * (Raft thesis Figure 3.1) that the next synced write makes durable anyway.
   * Entry objects are kept, not copied: do not mutate them afterwards.
   */
  async save(
    hardState: HardState | undefined,
    entries: readonly Entry[],
    snapshot?: Snapshot,
  ): Promise<void> {
    this.checkWritable();
    const snap = snapshot !== undefined && !isEmptySnap(snapshot) ? snapshot : undefined;
    checkSave(hardState, entries, snap, snap?.metadata.index ?? this.mem.lastIndex());
    let sw: SnapWrite | undefined;
    if (snap !== undefined) {
      sw = snapWrite(snap);
      this.mem.applySnapshot({ metadata: snap.metadata });
      this.hold(snap.metadata.index, snap.data);
    }
    // Entries at or before the start of the log are skipped, as MemoryStorage.append does.
    const first = entries[0];
    const skip = first === undefined ? 0 : Math.max(0, this.mem.firstIndex() - first.index);
    const fresh = skip === 0 ? entries : entries.slice(skip);
    this.mem.append(fresh);
    const hs = hardState !== undefined && !isEmptyHardState(hardState) ? hardState : undefined;
    if (hs !== undefined) this.mem.setHardState(hs);
    await this.wal.enqueue({ kind: 'save', hardState: hs, entries: fresh, snap: sw });
    if (snap !== undefined) this.markDurable(snap.metadata.index);
  }

  /**
   * createSnapshot implements DurableStorage: records the application's snapshot at
   * snapshot.metadata.index (which must be in the log, past the current snapshot, with the
   * same term) and, once its file and marker are durable, deletes the WAL segments it makes
   * unnecessary and snapshot files beyond keepSnapshots. The log in memory is not
   * compacted; call compactTo for that. Rejects with ErrSnapOutOfDate if the index is not
   * past the current snapshot, ErrCompacted if its entry was compacted away, RangeError if
   * it is past the last entry or its term differs.
   *
   * With `chunks`, the file is written from them as they come, beside the WAL's queue (the
   * WAL goes on with other writes meanwhile), and the snapshot replaces the current one
   * only once its file is durable: until then snapshot() serves the previous one. The
   * checks are made again then, so a snapshot restored meanwhile makes this call reject
   * with ErrSnapOutOfDate. A file system error stops the WAL (WalFailedError).
   */
  async createSnapshot(snapshot: Snapshot, chunks?: AsyncIterable<Uint8Array>): Promise<void> {
    this.checkWritable();
    this.checkSnapshot(snapshot.metadata);
    if (chunks !== undefined) return this.createSnapshotChunks(snapshot.metadata, chunks);
    const { index, confState } = snapshot.metadata;
    const sw = snapWrite(snapshot);
    this.mem.createSnapshot(index, confState);
    this.hold(index, snapshot.data);
    await this.wal.enqueue({ kind: 'snapshot', snap: sw });
    this.markDurable(index);
  }

  private async createSnapshotChunks(
    metadata: SnapshotMetadata,
    chunks: AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const { index, term, confState } = metadata;
    const source = { failed: false };
    try {
      await writeSnapFileChunks(this.o.fs, this.dir, metadata, watch(chunks, source));
    } catch (err) {
      if (source.failed) throw err;
      throw this.wal.failWith(err);
    }
    this.checkWritable();
    try {
      this.checkSnapshot(metadata);
    } catch (err) {
      // Overtaken by a restored snapshot: this file is not needed (one at the same index
      // and term would be the restored snapshot's own file).
      if (index < this.mem.snapshot().metadata.index) {
        await this.o.fs.unlink(join(this.dir, snapName(index, term))).catch(() => undefined);
      }
      throw err;
    }
    this.mem.createSnapshot(index, confState);
    await this.wal.enqueue({ kind: 'snapshot', snap: { index, term, snap: undefined } });
  }

  /** checkSnapshot throws unless a snapshot at md can be recorded now (see createSnapshot). */
  private checkSnapshot(md: SnapshotMetadata): void {
    const { index, term } = md;
    checkIndex('snapshot.metadata.index', index);
    if (index <= this.mem.snapshot().metadata.index) throw new ErrSnapOutOfDate();
    if (index < this.mem.firstIndex() - 1) throw new ErrCompacted();
    const last = this.mem.lastIndex();
    if (index > last)
      throw new RangeError(`snapshot index ${index} is past the last index ${last}`);
    const t = this.mem.term(index);
    if (t !== term)
      throw new RangeError(`snapshot term ${term} differs from entry ${index}'s term ${t}`);
  }

  /**
   * compactTo implements DurableStorage: entry `index` becomes the first one kept in
   * memory (as MemoryStorage.compact), and WAL segments holding only entries up to
   * min(index, latest durable snapshot) are deleted. An index already compacted is a no-op
   * (as the Node's MemoryDurableStorage); rejects with RangeError if index is past the last
   * entry.
   */
  async compactTo(index: number): Promise<void> {
    this.checkWritable();
    checkIndex('index', index);
    const last = this.mem.lastIndex();
    if (index > last) throw new RangeError(`compact index ${index} is past the last index ${last}`);
    if (index <= this.mem.firstIndex() - 1) return;
    this.mem.compact(index);
    await this.wal.enqueue({ kind: 'release', index });
  }

  /** close waits for queued writes, then releases the files; later writes reject. */
  close(): Promise<void> {
    clearTimeout(this.dropTimer);
    this.held = undefined;
    return this.wal.close();
  }

  /** hold keeps the data of the snapshot at index in memory until its file is durable. */
  private hold(index: number, data: Uint8Array | undefined): void {
    clearTimeout(this.dropTimer);
    this.held = { index, data, durable: false, handedOut: true };
  }

  /** markDurable lets the data of the snapshot at index go (after SNAPSHOT_KEEP_MS). */
  private markDurable(index: number): void {
    const h = this.held;
    if (h?.index !== index) return;
    h.durable = true;
    if (h.handedOut) this.scheduleDrop();
  }

  /** scheduleDrop drops the held data SNAPSHOT_KEEP_MS from now, if still durable then. */
  private scheduleDrop(): void {
    clearTimeout(this.dropTimer);
    this.dropTimer = setTimeout(() => {
      if (this.held?.durable === true) this.held = undefined;
    }, this.o.snapshotKeepMs);
    this.dropTimer.unref();
  }

  /** load reads the current snapshot's data back from its file, once at a time. */
  private load(index: number, term: number): void {
    if (this.loading === index) return;
    this.loading = index;
    const name = snapName(index, term);
    void this.o.fs
      .readFile(join(this.dir, name))
      .then((buf) => {
        const snap = decodeSnapFile(buf, index, term);
        if (typeof snap === 'string') throw new Error(`snapshot file ${name}: ${snap}`);
        if (this.mem.snapshot().metadata.index !== index || this.failure !== undefined) return;
        this.held = { index, data: snap.data, durable: true, handedOut: false };
        this.scheduleDrop();
      })
      .catch((err: unknown) => {
        this.o.logger.warning(`wal: cannot read snapshot ${name} back: ${String(err)}`);
      })
      .finally(() => {
        if (this.loading === index) this.loading = undefined;
      });
  }

  /** checkWritable throws the error that stopped or closed the WAL, if any. */
  private checkWritable(): void {
    const err = this.wal.error();
    if (err !== undefined) throw err;
  }
}

/**
 * openDiskStorage opens the WAL in `dir` (created if missing), recovering the state a
 * previous process made durable: the newest valid snapshot, then every record after it. A
 * torn tail (a last write cut short by a crash, never acknowledged) is cut off and reported
 * through the logger and `recovery.tornTail`.
 *
 * Rejects with WalCorruptError (naming the file and offset) when any checksum, header or
 * sequence check fails before the tail, with RangeError/TypeError for bad options, and
 * with the file system's error when the files cannot be read.
 */
export function openDiskStorage(dir: string, opts: DiskStorageOptions = {}): Promise<DiskStorage> {
  return DiskStorage.open(dir, opts);
}

/** watch passes chunks through, noting in `source` whether iterating them threw. */
async function* watch(
  chunks: AsyncIterable<Uint8Array>,
  source: { failed: boolean },
): AsyncGenerator<Uint8Array> {
  try {
    for await (const c of chunks) yield c;
  } catch (err) {
    source.failed = true;
    throw err;
  }
}

/**
 * snapWrite takes what the snapshot file needs now: a copy of the metadata, and the data
 * as is (it is written without being copied; raft never changes a snapshot's data).
 */
function snapWrite(snap: Snapshot): SnapWrite {
  const { index, term, confState } = snap.metadata;
  const metadata = { index, term, confState: cloneConfState(confState) };
  const copy: Snapshot = snap.data === undefined ? { metadata } : { metadata, data: snap.data };
  return { index, term, snap: copy };
}

interface CheckedOptions {
  fs: WalFS;
  logger: Logger;
  segmentSize: number;
  preallocate: Preallocate;
  keepSnapshots: number;
  snapshotKeepMs: number;
}

function checkOptions(dir: string, opts: DiskStorageOptions): CheckedOptions {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
  const segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
  if (!Number.isSafeInteger(segmentSize) || segmentSize < MIN_SEGMENT_SIZE) {
    throw new RangeError(`segmentSize ${segmentSize} must be an integer >= ${MIN_SEGMENT_SIZE}`);
  }
  const preallocate = opts.preallocate ?? Preallocate.Zero;
  if (!Object.values(Preallocate).includes(preallocate)) {
    throw new TypeError(`preallocate must be one of ${Object.values(Preallocate).join(', ')}`);
  }
  const keepSnapshots = opts.keepSnapshots ?? 3;
  if (!Number.isSafeInteger(keepSnapshots) || keepSnapshots < 1) {
    throw new RangeError(`keepSnapshots ${keepSnapshots} must be an integer >= 1`);
  }
  const snapshotKeepMs = opts.snapshotKeepMs ?? SNAPSHOT_KEEP_MS;
  if (!Number.isSafeInteger(snapshotKeepMs) || snapshotKeepMs < 0) {
    throw new RangeError(`snapshotKeepMs ${snapshotKeepMs} must be an integer >= 0`);
  }
  return {
    snapshotKeepMs,
    fs: opts.fs ?? nodeFS,
    logger: opts.logger ?? discardLogger,
    segmentSize,
    preallocate,
    keepSnapshots,
  };
}

function checkIndex(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`${name} ${v} must be a non-negative safe integer`);
  }
}

/**
 * checkSave validates a save's arguments before anything changes: safe integers, entries
 * with consecutive indexes that do not leave a gap after `last` (the last index once the
 * snapshot, if any, is applied).
 */
function checkSave(
  hs: HardState | undefined,
  entries: readonly Entry[],
  snap: Snapshot | undefined,
  last: number,
): void {
  if (hs !== undefined) {
    checkIndex('hardState.term', hs.term);
    checkIndex('hardState.vote', hs.vote);
    checkIndex('hardState.commit', hs.commit);
  }
  if (snap !== undefined) {
    checkIndex('snapshot.metadata.index', snap.metadata.index);
    checkIndex('snapshot.metadata.term', snap.metadata.term);
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry;
    checkIndex(`entries[${i}].index`, e.index);
    checkIndex(`entries[${i}].term`, e.term);
    const prev = entries[i - 1];
    if (prev !== undefined && e.index !== prev.index + 1) {
      throw new RangeError(`entries[${i}].index ${e.index} does not follow ${prev.index}`);
    }
  }
  const first = entries[0];
  if (first !== undefined && first.index > last + 1) {
    throw new RangeError(
      `entries[0].index ${first.index} leaves a gap after the last index ${last}`,
    );
  }
}
