import { MemoryStorage } from '../raft/storage.ts';
import type { InitialState } from '../raft/storage.ts';
import { concatBytes } from '../raft/util.ts';
import { isEmptySnap } from '../raftpb/types.ts';
import type { Entry, HardState, Snapshot } from '../raftpb/types.ts';
import type { DurableStorage } from './interfaces.ts';

/** SaveCall describes one DurableStorage.save() call, as the beforeSave hook sees it. */
export interface SaveCall {
  hardState: HardState | undefined;
  entries: readonly Entry[];
  snapshot: Snapshot | undefined;
}

/**
 * MemoryDurableStorageHooks inject latency and faults into a MemoryDurableStorage. A hook
 * that throws or rejects makes the write fail (and the "disk" skips it).
 */
export interface MemoryDurableStorageHooks {
  /** beforeSave runs before a save() reaches the disk image. */
  beforeSave?: (call: SaveCall) => void | Promise<void>;
}

/** StorageClosedError is what a MemoryDurableStorage rejects writes with after close(). */
export class StorageClosedError extends Error {
  readonly code = 'ERR_STORAGE_CLOSED';
  override readonly name = 'StorageClosedError';
  constructor() {
    super('memory storage is closed');
  }
}

/** DiskImage is what survives a "crash": the writes that completed. */
interface DiskImage {
  log: MemoryStorage;
}

/**
 * MemoryDurableStorage is a DurableStorage kept in memory, for tests and for in-memory
 * clusters. It has two copies: the view raft reads (updated as soon as a write is called,
 * as DurableStorage requires) and a disk image updated when the write completes, in call
 * order. reopen() returns a fresh storage built from the disk image, the way a process
 * restarted after a crash would find its files.
 *
 * Error contract: writes reject with what a beforeSave hook throws, with
 * StorageClosedError after close(), and with the MemoryStorage errors (ErrSnapOutOfDate,
 * ErrCompacted) for writes that contradict the log; reads throw as MemoryStorage does.
 */
export class MemoryDurableStorage implements DurableStorage {
  /** saves counts save() calls, for tests ("one save per Ready"). */
  saves = 0;
  readonly hooks: MemoryDurableStorageHooks;
  private readonly view: MemoryStorage;
  private readonly disk: DiskImage;
  private diskChain: Promise<void> = Promise.resolve();
  private closed = false;

  /** The storage starts empty unless built by reopen(). */
  constructor(hooks: MemoryDurableStorageHooks = {}, image?: DiskImage) {
    this.hooks = hooks;
    this.disk = { log: new MemoryStorage() };
    this.view = new MemoryStorage();
    if (image !== undefined) {
      copyLog(image.log, this.disk.log);
      copyLog(image.log, this.view);
    }
  }

  /** initialState implements Storage. */
  initialState(): InitialState {
    return this.view.initialState();
  }
  /** entries implements Storage. */
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return this.view.entries(lo, hi, maxSize);
  }
  /** term implements Storage. */
  term(i: number): number {
    return this.view.term(i);
  }
  /** lastIndex implements Storage. */
  lastIndex(): number {
    return this.view.lastIndex();
  }
  /** firstIndex implements Storage. */
  firstIndex(): number {
    return this.view.firstIndex();
  }
  /** snapshot implements Storage. */
  snapshot(): Snapshot {
    return this.view.snapshot();
  }

  /**
   * save implements DurableStorage: snapshot first, then entries, then hard state. The view
   * changes at call time (everything before the first await runs synchronously).
   */
  async save(
    hardState: HardState | undefined,
    entries: readonly Entry[],
    snapshot?: Snapshot,
  ): Promise<void> {
    this.saves++;
    this.checkOpen();
    write(this.view, hardState, entries, snapshot);
    const call: SaveCall = { hardState, entries, snapshot };
    await this.toDisk(async () => {
      await this.hooks.beforeSave?.(call);
      write(this.disk.log, hardState, entries, snapshot);
    });
  }

  /** createSnapshot implements DurableStorage; chunks are joined first. */
  async createSnapshot(snapshot: Snapshot, chunks?: AsyncIterable<Uint8Array>): Promise<void> {
    const { index, confState } = snapshot.metadata;
    this.checkOpen();
    if (chunks !== undefined) {
      const parts: Uint8Array[] = [];
      for await (const c of chunks) parts.push(c);
      snapshot = { metadata: snapshot.metadata, data: concatBytes(parts) };
      this.checkOpen();
    }
    this.view.createSnapshot(index, confState, snapshot.data);
    await this.toDisk(() => {
      this.disk.log.createSnapshot(index, confState, snapshot.data);
    });
  }

  /** compactTo implements DurableStorage; a no-op for an index already compacted. */
  async compactTo(index: number): Promise<void> {
    this.checkOpen();
    if (index <= this.view.firstIndex() - 1) return;
    this.view.compact(index);
    await this.toDisk(() => {
      if (index > this.disk.log.firstIndex() - 1) this.disk.log.compact(index);
    });
  }

  /** close waits for the writes in progress; later writes reject with StorageClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    await this.diskChain.catch(() => undefined);
  }

  /** reopen returns a new storage holding what reached the disk image. */
  reopen(): MemoryDurableStorage {
    return new MemoryDurableStorage(this.hooks, this.disk);
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError();
  }

  private toDisk(op: () => void | Promise<void>): Promise<void> {
    const p = this.diskChain.then(op);
    // A failed write leaves the image as it was; the next write still runs.
    this.diskChain = p.catch(() => undefined);
    return p;
  }
}

function write(
  s: MemoryStorage,
  hs: HardState | undefined,
  entries: readonly Entry[],
  snap: Snapshot | undefined,
): void {
  if (snap !== undefined && !isEmptySnap(snap)) s.applySnapshot(snap);
  s.append(entries);
  if (hs !== undefined) s.setHardState(hs);
}

/** copyLog makes dst (a fresh MemoryStorage) hold the same snapshot, entries and state. */
function copyLog(src: MemoryStorage, dst: MemoryStorage): void {
  const snap = src.snapshot();
  dst.applySnapshot(snap);
  dst.ents = [{ ...(src.ents[0] as Entry) }, ...src.ents.slice(1)];
  dst.setHardState(src.initialState().hardState);
}
