/**
 * FaultFS: an in-memory WalFS for tests (small files) that knows what a crash would keep. It records
 * every write, fsync and directory change; a write becomes durable only when its file is
 * synced, a create/rename/unlink only when its directory is. It can:
 *
 * - crash before the Nth mutating operation (`crashAt`): that operation and everything
 *   after it fail with FaultCrashError, and `afterCrash()` builds the disk a reboot would
 *   see, keeping any chosen subset of the unsynced operations and tearing the last kept
 *   write at a sector boundary;
 * - fail chosen operations with an errno (`failOn`), as a disk returning EIO does. A failed
 *   sync drops the file's unsynced writes for good, as Linux does, while reads still show
 *   them: a retried sync that "succeeds" would not make them durable.
 */
import { basename, dirname } from 'node:path';
import type { WalFile, WalFS } from './fs.ts';
import type { OpenMode } from './fs.ts';

/** FaultOp names the operations FaultFS counts and can fail. */
export const FaultOp = {
  Open: 'open',
  Write: 'write',
  Datasync: 'datasync',
  Sync: 'sync',
  Truncate: 'truncate',
  Rename: 'rename',
  Unlink: 'unlink',
  SyncDir: 'syncDir',
  Read: 'read',
} as const;
/** FaultOp is one of the FaultOp values. */
export type FaultOp = (typeof FaultOp)[keyof typeof FaultOp];

/** OpInfo describes an operation about to run, for failOn predicates and the trace. */
export interface OpInfo {
  op: FaultOp;
  path: string;
  /** seq is the number of mutating operations before this one. */
  seq: number;
}

/** FaultCrashError is thrown by every operation at and after the crash point. */
export class FaultCrashError extends Error {
  /** code is always ECRASH. */
  readonly code = 'ECRASH';
  override readonly name = 'FaultCrashError';
  /** Creates the error for the operation that hit the crash. */
  constructor(info: OpInfo) {
    super(`simulated crash before ${info.op} ${info.path} (operation ${info.seq})`);
  }
}

/** errnoError builds an error shaped like Node's system errors (code, syscall, path). */
export function errnoError(code: string, op: FaultOp, path: string): Error {
  return Object.assign(new Error(`${code}: simulated failure, ${op} '${path}'`), {
    code,
    syscall: op,
    path,
  });
}

/** CrashChoice says which unsynced operations survive a crash. */
export interface CrashChoice {
  /** keep decides for each unsynced operation (in order) whether it reached the disk. */
  keep: (index: number) => boolean;
  /**
   * tear, when set, is told into how many pieces sector boundaries cut the last kept write
   * and returns how many leading pieces survive (0 drops it, `pieces` keeps it whole).
   */
  tear?: (pieces: number) => number;
}

interface Inode {
  durable: Uint8Array;
  data: Uint8Array;
}

type Pending =
  | { kind: 'write'; ino: Inode; pos: number; bytes: Uint8Array }
  | { kind: 'truncate'; ino: Inode; size: number }
  | { kind: 'link'; path: string; ino: Inode }
  | { kind: 'rename'; from: string; to: string; ino: Inode }
  | { kind: 'unlink'; path: string };

const SECTOR = 512;

/** FaultFS is the fault-injecting in-memory file system; see the file comment. */
export class FaultFS implements WalFS {
  /** crashAt, when set, makes operation number crashAt (0-based, mutating ones) crash. */
  crashAt: number | undefined;
  /** crashed turns true at the crash point. */
  crashed = false;
  /** seq counts the mutating operations run so far. */
  seq = 0;
  /**
   * gate, when set, may return a promise an operation waits for before it runs: tests use
   * it to hold an fsync in flight.
   */
  gate: ((i: OpInfo) => Promise<void> | undefined) | undefined;
  /** trace lists every operation run, as "op path". */
  readonly trace: string[] = [];
  private names = new Map<string, Inode>();
  private durableNames = new Map<string, Inode>();
  private pending: Pending[] = [];
  private readonly dirs = new Set<string>();
  private faults: { match: (i: OpInfo) => boolean; code: string }[] = [];

  /** failOn makes every operation that `match` accepts fail with `code` (default EIO). */
  failOn(match: (i: OpInfo) => boolean, code = 'EIO'): void {
    this.faults.push({ match, code });
  }

  /** count returns how many operations of a kind were attempted, optionally on one path. */
  count(op: FaultOp, path?: string): number {
    const p = path === undefined ? `${op} ` : `${op} ${path}`;
    return this.trace.filter((t) => (path === undefined ? t.startsWith(p) : t === p)).length;
  }

  /** files returns the current (page cache) content of every file, by path. */
  files(): Map<string, Uint8Array> {
    return new Map([...this.names].map(([p, ino]) => [p, ino.data.slice()]));
  }

  /** read returns the current content of a file (what a reader sees). */
  read(path: string): Uint8Array {
    return this.inode(path).data.slice();
  }

  /** edit replaces a file's content on disk and in cache, as a disk-level corruption does. */
  edit(path: string, data: Uint8Array): void {
    const ino = this.inode(path);
    ino.data = data.slice();
    ino.durable = data.slice();
  }

  /** clone returns an independent copy with the same durable and current state. */
  clone(): FaultFS {
    const c = new FaultFS();
    const map = new Map<Inode, Inode>();
    const copy = (i: Inode): Inode => {
      let n = map.get(i);
      if (n === undefined) {
        n = { durable: i.durable.slice(), data: i.data.slice() };
        map.set(i, n);
      }
      return n;
    };
    for (const [p, i] of this.names) c.names.set(p, copy(i));
    for (const [p, i] of this.durableNames) c.durableNames.set(p, copy(i));
    c.pending = this.pending.map((op) => ('ino' in op ? { ...op, ino: copy(op.ino) } : { ...op }));
    for (const d of this.dirs) c.dirs.add(d);
    return c;
  }

  /** pendingCount returns the number of unsynced operations. */
  pendingCount(): number {
    return this.pending.length;
  }

  /**
   * afterCrash returns the file system a reboot would find: everything synced, plus the
   * unsynced operations `choice` keeps (all of them by default), in their original order.
   */
  afterCrash(choice: CrashChoice = { keep: () => true }): FaultFS {
    const c = new FaultFS();
    for (const d of this.dirs) c.dirs.add(d);
    const kept = this.pending.filter((_, i) => choice.keep(i));
    let lastWrite = -1;
    kept.forEach((op, k) => {
      if (op.kind === 'write') lastWrite = k;
    });
    const disk = new Map<Inode, Uint8Array>();
    const content = (i: Inode): Uint8Array => disk.get(i) ?? i.durable;
    const names = new Map(this.durableNames);
    kept.forEach((op, k) => {
      if (op.kind === 'write') {
        const bytes = k === lastWrite ? torn(op, choice) : op.bytes;
        disk.set(op.ino, writeAt(content(op.ino), op.pos, bytes));
      } else if (op.kind === 'truncate') disk.set(op.ino, resize(content(op.ino), op.size));
      else applyDirOp(names, op);
    });
    const map = new Map<Inode, Inode>();
    for (const [p, i] of names) {
      let n = map.get(i);
      if (n === undefined) {
        const d = content(i);
        n = { durable: d.slice(), data: d.slice() };
        map.set(i, n);
      }
      c.names.set(p, n);
      c.durableNames.set(p, n);
    }
    return c;
  }

  // WalFS

  /** open implements WalFS. */
  async open(path: string, mode: OpenMode): Promise<WalFile> {
    await this.begin(FaultOp.Open, path, true);
    let ino = this.names.get(path);
    if (mode === 'write') {
      if (ino === undefined) throw errnoError('ENOENT', FaultOp.Open, path);
    } else if (ino === undefined) {
      ino = { durable: new Uint8Array(0), data: new Uint8Array(0) };
      this.names.set(path, ino);
      this.pending.push({ kind: 'link', path, ino });
    } else {
      ino.data = new Uint8Array(0);
      this.pending.push({ kind: 'truncate', ino, size: 0 });
    }
    return new FaultFile(this, path, ino);
  }

  /** readFile implements WalFS. */
  async readFile(path: string): Promise<Uint8Array> {
    await this.begin(FaultOp.Read, path, false);
    return this.inode(path).data.slice();
  }

  /** readdir implements WalFS. */
  async readdir(dir: string): Promise<string[]> {
    await this.begin(FaultOp.Read, dir, false);
    return [...this.names.keys()].filter((p) => dirname(p) === dir).map((p) => basename(p));
  }

  /** rename implements WalFS. */
  async rename(from: string, to: string): Promise<void> {
    await this.begin(FaultOp.Rename, from, true);
    const ino = this.inode(from);
    this.names.delete(from);
    this.names.set(to, ino);
    this.pending.push({ kind: 'rename', from, to, ino });
  }

  /** unlink implements WalFS. */
  async unlink(path: string): Promise<void> {
    await this.begin(FaultOp.Unlink, path, true);
    this.inode(path);
    this.names.delete(path);
    this.pending.push({ kind: 'unlink', path });
  }

  /** mkdir implements WalFS; directories are durable at once. */
  async mkdir(dir: string): Promise<void> {
    await this.begin(FaultOp.Read, dir, false);
    this.dirs.add(dir);
  }

  /** syncDir implements WalFS: directory changes in `dir` become durable. */
  async syncDir(dir: string): Promise<void> {
    await this.begin(FaultOp.SyncDir, dir, true);
    this.pending = this.pending.filter((op) => {
      if (op.kind === 'write' || op.kind === 'truncate') return true;
      const p = op.kind === 'rename' ? op.to : op.path;
      if (dirname(p) !== dir) return true;
      applyDirOp(this.durableNames, op);
      return false;
    });
  }

  /** begin runs the crash and fault checks shared by every operation. */
  async begin(op: FaultOp, path: string, mutating: boolean): Promise<void> {
    await (this.gate?.({ op, path, seq: this.seq }) ?? Promise.resolve());
    const info: OpInfo = { op, path, seq: this.seq };
    if (this.crashed || (mutating && this.crashAt !== undefined && this.seq >= this.crashAt)) {
      this.crashed = true;
      throw new FaultCrashError(info);
    }
    this.trace.push(`${op} ${path}`);
    if (mutating) this.seq++;
    for (const f of this.faults) {
      if (!f.match(info)) continue;
      if (op === FaultOp.Sync || op === FaultOp.Datasync) this.dropUnsynced(path);
      throw errnoError(f.code, op, path);
    }
  }

  /** syncFile makes the unsynced writes of one inode durable. */
  syncFile(ino: Inode): void {
    this.pending = this.pending.filter((op) => {
      if (op.kind === 'write' && op.ino === ino)
        ino.durable = writeInto(ino.durable, op.pos, op.bytes);
      else if (op.kind === 'truncate' && op.ino === ino) ino.durable = resize(ino.durable, op.size);
      else return true;
      return false;
    });
  }

  /** nameOf returns the current name of an inode (an open file follows renames). */
  nameOf(ino: Inode, fallback: string): string {
    for (const [p, i] of this.names) if (i === ino) return p;
    return fallback;
  }

  /** record adds an unsynced data operation. */
  record(op: Pending): void {
    this.pending.push(op);
  }

  private dropUnsynced(path: string): void {
    const ino = this.names.get(path);
    this.pending = this.pending.filter((op) => !(op.kind === 'write' && op.ino === ino));
  }

  private inode(path: string): Inode {
    const ino = this.names.get(path);
    if (ino === undefined) throw errnoError('ENOENT', FaultOp.Read, path);
    return ino;
  }
}

class FaultFile implements WalFile {
  constructor(
    private readonly fs: FaultFS,
    private readonly opened: string,
    private readonly ino: Inode,
  ) {}

  private get path(): string {
    return this.fs.nameOf(this.ino, this.opened);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    await this.fs.begin(FaultOp.Write, this.path, true);
    const bytes = data.slice();
    this.ino.data = writeInto(this.ino.data, position, bytes);
    this.fs.record({ kind: 'write', ino: this.ino, pos: position, bytes });
  }

  async datasync(): Promise<void> {
    await this.fs.begin(FaultOp.Datasync, this.path, true);
    this.fs.syncFile(this.ino);
  }

  async sync(): Promise<void> {
    await this.fs.begin(FaultOp.Sync, this.path, true);
    this.fs.syncFile(this.ino);
  }

  async truncate(size: number): Promise<void> {
    await this.fs.begin(FaultOp.Truncate, this.path, true);
    this.ino.data = resize(this.ino.data, size);
    this.fs.record({ kind: 'truncate', ino: this.ino, size });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** writeInto writes in place when the bytes fit (buffers an inode owns are never shared). */
function writeInto(buf: Uint8Array, pos: number, bytes: Uint8Array): Uint8Array {
  if (pos + bytes.length > buf.length) return writeAt(buf, pos, bytes);
  buf.set(bytes, pos);
  return buf;
}

/** writeAt returns a copy of buf with bytes written at pos. */
function writeAt(buf: Uint8Array, pos: number, bytes: Uint8Array): Uint8Array {
  const out = pos + bytes.length > buf.length ? resize(buf, pos + bytes.length) : buf.slice();
  out.set(bytes, pos);
  return out;
}

function resize(buf: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(buf.subarray(0, Math.min(size, buf.length)));
  return out;
}

/** torn returns the part of a write that survives: whole sectors from its start. */
function torn(op: { pos: number; bytes: Uint8Array }, choice: CrashChoice): Uint8Array {
  if (choice.tear === undefined) return op.bytes;
  const end = op.pos + op.bytes.length;
  const bounds: number[] = [];
  for (let b = Math.floor(op.pos / SECTOR + 1) * SECTOR; b < end; b += SECTOR) bounds.push(b);
  const n = choice.tear(bounds.length + 1);
  if (n > bounds.length) return op.bytes;
  if (n <= 0) return new Uint8Array(0);
  return op.bytes.subarray(0, (bounds[n - 1] as number) - op.pos);
}

function applyDirOp(names: Map<string, Inode>, op: Pending): void {
  if (op.kind === 'link') names.set(op.path, op.ino);
  else if (op.kind === 'rename') {
    if (names.get(op.from) === op.ino) names.delete(op.from);
    names.set(op.to, op.ino);
  } else if (op.kind === 'unlink') names.delete(op.path);
}
