// nodeFS on the real file system: the two ways a write is issued (synchronously up to
// SyncWriteMaxBytes, through the thread pool above) write the same bytes at the same
// positions, and both report the operating system's error as a rejection, never a throw.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nodeFS, OpenMode, SyncWriteMaxBytes } from './fs.ts';

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('nodeFS', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'walfs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('small and large writes land at their positions, then datasync', async () => {
    const path = join(dir, 'a');
    const f = await nodeFS.open(path, OpenMode.Create);
    const small = bytes(300, 1);
    const large = bytes(SyncWriteMaxBytes + 4096, 2);
    await f.write(small, 0);
    await f.write(large, 1000);
    await f.write(small, 500);
    await f.datasync();
    await f.close();
    const got = new Uint8Array(await readFile(path));
    assert.equal(got.length, 1000 + large.length);
    assert.deepEqual(got.subarray(0, 300), small);
    assert.deepEqual(got.subarray(500, 800), small);
    assert.ok(got.subarray(300, 500).every((b) => b === 0));
    assert.deepEqual(got.subarray(1000), large);
  });

  test('a write or datasync on a closed file rejects with the OS error, for both paths', async () => {
    const f = await nodeFS.open(join(dir, 'b'), OpenMode.Create);
    await f.close();
    const small = f.write(bytes(10, 3), 0);
    assert.ok(small instanceof Promise, 'a failed synchronous write is a rejection, not a throw');
    await assert.rejects(small, (e: NodeJS.ErrnoException) => e.code === 'EBADF');
    await assert.rejects(
      f.write(bytes(SyncWriteMaxBytes + 1, 4), 0),
      (e: NodeJS.ErrnoException) => e.code === 'EBADF',
    );
    await assert.rejects(f.datasync(), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
  });
});
