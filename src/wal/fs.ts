/**
 * The small file-system interface the WAL and the snapshot files are written through, and
 * its implementation on `node:fs`. Tests replace it with the fault-injecting FaultFS.
 */
import { fdatasync, writeSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/**
 * WalFile is an open file. Positions are absolute byte offsets (pwrite semantics).
 *
 * Error contract: every method rejects with the operating system's error (an `Error` with a
 * `code` such as `EIO` or `ENOSPC`) and never retries. After a rejected `datasync` or `sync`
 * the caller must assume the written data is lost.
 */
export interface WalFile {
  /** write writes all of `data` at `position`, extending the file if needed. */
  write(data: Uint8Array, position: number): Promise<void>;
  /** datasync flushes the file's data and the metadata needed to read it (fdatasync). */
  datasync(): Promise<void>;
  /** sync flushes the file's data and all of its metadata (fsync). */
  sync(): Promise<void>;
  /** truncate sets the file's length; new bytes read as zero. */
  truncate(size: number): Promise<void>;
  /** close releases the handle; it does not flush. */
  close(): Promise<void>;
}

/** OpenMode selects how WalFS.open opens a file. */
export const OpenMode = {
  /** Create the file, or truncate it to zero length if it exists; write only. */
  Create: 'create',
  /** Open an existing file for writing without truncating it. */
  Write: 'write',
} as const;
/** OpenMode is one of the OpenMode values. */
export type OpenMode = (typeof OpenMode)[keyof typeof OpenMode];

/**
 * WalFS is what the WAL needs from a file system, with paths as plain strings.
 *
 * Error contract: every method rejects with the operating system's error (`ENOENT` for a
 * missing file, `EIO`...). Directory changes (create, rename, unlink) are durable only once
 * `syncDir` of their directory has resolved.
 */
export interface WalFS {
  /** open opens a file for writing; see OpenMode. */
  open(path: string, mode: OpenMode): Promise<WalFile>;
  /** readFile returns the whole content of a file. */
  readFile(path: string): Promise<Uint8Array>;
  /** readdir returns the names (not paths) of the entries of a directory. */
  readdir(dir: string): Promise<string[]>;
  /** rename atomically replaces `to` with `from`. */
  rename(from: string, to: string): Promise<void>;
  /** unlink removes a file. */
  unlink(path: string): Promise<void>;
  /** mkdir creates a directory and its parents; an existing directory is not an error. */
  mkdir(dir: string): Promise<void>;
  /** syncDir makes the directory's entries durable (fsync on the directory). */
  syncDir(dir: string): Promise<void>;
}

/**
 * SyncWriteMaxBytes: writes up to this size go to the page cache synchronously, on the
 * calling thread. A small write costs a few microseconds that way, while the thread-pool
 * round trip of an asynchronous write costs tens of them in CPU and one event-loop wake-up
 * more before the fdatasync that follows (bench/wal.ts --io). Larger writes (snapshot
 * chunks) stay asynchronous so as not to hold the event loop.
 */
export const SyncWriteMaxBytes = 256 * 1024;

const resolved = Promise.resolve();

/** closedError is what a write or sync on a closed file rejects with: EBADF, as the OS says. */
function closedError(op: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(
    `EBADF: bad file descriptor, ${op} on a closed file`,
  );
  err.code = 'EBADF';
  return err;
}

class NodeFile implements WalFile {
  constructor(private readonly fh: FileHandle) {}

  write(data: Uint8Array, position: number): Promise<void> {
    if (data.length > SyncWriteMaxBytes) return this.writeAsync(data, position);
    // A closed FileHandle's fd is -1, which node:fs refuses with a RangeError, not EBADF.
    if (this.fh.fd < 0) return Promise.reject(closedError('write'));
    try {
      let done = 0;
      while (done < data.length) {
        done += writeSync(this.fh.fd, data, done, data.length - done, position + done);
      }
      return resolved;
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private async writeAsync(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  datasync(): Promise<void> {
    // The callback API: cheaper than FileHandle.datasync()'s promise machinery.
    if (this.fh.fd < 0) return Promise.reject(closedError('fdatasync'));
    return new Promise((resolve, reject) =>
      fdatasync(this.fh.fd, (err) => (err === null ? resolve() : reject(err))),
    );
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  truncate(size: number): Promise<void> {
    return this.fh.truncate(size);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** nodeFS is the WalFS of the real file system, built on `node:fs` (see NodeFile). */
export const nodeFS: WalFS = {
  async open(path, mode) {
    return new NodeFile(await open(path, mode === OpenMode.Create ? 'w' : 'r+'));
  },
  async readFile(path) {
    const b = await readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  readdir(dir) {
    return readdir(dir);
  },
  rename(from, to) {
    return rename(from, to);
  },
  unlink(path) {
    return unlink(path);
  },
  async mkdir(dir) {
    await mkdir(dir, { recursive: true });
  },
  async syncDir(dir) {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
};
