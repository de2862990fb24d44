// I/O errors: the storage stops for good at the first one, never retries an fsync, never
// acknowledges the write it was making durable, and a reopen finds a valid state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WalFailedError } from './errors.ts';
import { FaultFS } from './faultfs.ts';
import type { OpInfo } from './faultfs.ts';
import { openDiskStorage } from './storage.ts';
import { checkRecovered, issue, payload } from './testing.ts';
import type { Step } from './testing.ts';

const dir = '/wal';
const opts = { segmentSize: 700 };
const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function save(i: number): Step {
  const e = { term: 1, index: i, type: 0 as const, data: payload(i, 1, 30) };
  return { kind: 'save', hardState: { term: 1, vote: 1, commit: i - 1 }, entries: [e] };
}

/**
 * failAt runs saves 1..n (two at a time) with the first operation that `match` accepts
 * failing with EIO, and returns what was acknowledged.
 */
async function failAt(
  match: (i: OpInfo) => boolean,
  n = 30,
): Promise<{ fs: FaultFS; steps: Step[]; acked: number; errors: unknown[] }> {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { ...opts, fs });
  let failed = false;
  fs.failOn((i) => !failed && match(i) && (failed = true));
  const steps = Array.from({ length: n }, (_, k) => save(k + 1));
  const errors: unknown[] = [];
  let acked = 0;
  for (let k = 0; k < n; k += 2) {
    const batch = steps.slice(k, k + 2);
    const rs = await Promise.allSettled(batch.map((st) => issue(s, st)));
    for (const r of rs) {
      if (r.status === 'fulfilled') acked++;
      else errors.push(r.reason);
    }
  }
  assert.ok(failed, 'the fault fired');
  // Every later call rejects with the same error, reads keep working.
  await assert.rejects(s.save(undefined, []), WalFailedError);
  await assert.rejects(s.compactTo(1), WalFailedError);
  await assert.rejects(
    s.createSnapshot({ metadata: { index: 1, term: 1, confState: cs } }),
    WalFailedError,
  );
  assert.ok(s.failure instanceof WalFailedError);
  assert.ok(s.lastIndex() >= acked);
  await s.close();
  return { fs, steps, acked, errors };
}

async function reopenValid(r: { fs: FaultFS; steps: Step[]; acked: number }): Promise<void> {
  for (const keep of [true, false]) {
    const s = await openDiskStorage(dir, { ...opts, fs: r.fs.afterCrash({ keep: () => keep }) });
    checkRecovered(s, r.steps, r.acked);
    await s.close();
  }
}

void test('EIO on fdatasync: the batch is not acknowledged and fsync is never retried', async () => {
  let syncs = 0;
  const r = await failAt((i) => i.op === 'datasync' && i.path.endsWith('.wal') && ++syncs === 5);
  assert.equal(r.acked, 8, 'the four batches before the failure');
  assert.ok(r.errors.length > 0);
  for (const e of r.errors) {
    assert.ok(e instanceof WalFailedError);
    assert.equal((e.cause as { code?: string }).code, 'EIO');
  }
  const datasyncs = r.fs.trace.filter((t) => t.startsWith('datasync ')).length;
  assert.equal(datasyncs, 5, 'no fdatasync after the failed one');
  // The failed sync dropped the dirty data, as Linux does: even keeping every unsynced
  // operation, the reopened log ends at the last acknowledged save.
  const s = await openDiskStorage(dir, { ...opts, fs: r.fs.afterCrash() });
  assert.equal(s.lastIndex(), 8);
  await s.close();
  await reopenValid(r);
});

void test('EIO on write', async () => {
  let writes = 0;
  const r = await failAt((i) => i.op === 'write' && i.path.endsWith('.wal') && ++writes === 3);
  assert.equal(r.acked, 4);
  await reopenValid(r);
});

void test('EIO during segment rotation (rename, directory fsync, spare preallocation)', async () => {
  for (const op of ['rename', 'syncDir', 'sync'] as const) {
    let n = 0;
    const r = await failAt((i) => i.op === op && ++n === 2);
    assert.ok(r.acked < 30, `${op}: not everything was acknowledged`);
    await reopenValid(r);
  }
});

void test('EIO while writing a snapshot file stops the storage', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { ...opts, fs });
  await s.save({ term: 1, vote: 1, commit: 1 }, [{ term: 1, index: 1, type: 0 }]);
  fs.failOn((i) => i.op === 'sync' && i.path.endsWith('.snap.tmp'));
  await assert.rejects(
    s.createSnapshot({ metadata: { index: 1, term: 1, confState: cs } }),
    (e) => {
      assert.ok(e instanceof WalFailedError);
      return true;
    },
  );
  await assert.rejects(s.save(undefined, [{ term: 1, index: 2, type: 0 }]), WalFailedError);
  await s.close();
  const r = await openDiskStorage(dir, { ...opts, fs: fs.afterCrash() });
  assert.equal(r.snapshot().metadata.index, 0);
  assert.equal(r.lastIndex(), 1);
  await r.close();
});
