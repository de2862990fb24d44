// DiskStorage: reads identical to MemoryStorage, group commit, rotation and release,
// snapshots, bootstrap, argument checks, close, torn-tail reporting, the real file system.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrSnapshotTemporarilyUnavailable,
  ErrUnavailable,
} from '../raft/errors.ts';
import type { Logger } from '../raft/logger.ts';
import { MemoryStorage } from '../raft/storage.ts';
import type { Entry } from '../raftpb/types.ts';
import { WalClosedError } from './errors.ts';
import { FaultFS } from './faultfs.ts';
import { snapName } from './names.ts';
import { openDiskStorage } from './storage.ts';
import type { DiskStorage } from './storage.ts';
import { issue, makeWorkload, payload } from './testing.ts';
import type { Step } from './testing.ts';

const dir = '/wal';
const cs = {
  voters: [1, 2],
  learners: [3],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

function entry(index: number, term = 1, len = 16): Entry {
  return { term, index, type: 0, data: payload(index, term, len) };
}

function applyToMemory(m: MemoryStorage, step: Step): void {
  if (step.kind === 'compact') return m.compact(step.index);
  if (step.kind === 'createSnapshot') {
    const md = step.snapshot.metadata;
    m.createSnapshot(md.index, md.confState, step.snapshot.data);
    return;
  }
  if (step.snapshot !== undefined) m.applySnapshot(step.snapshot);
  m.append(step.entries);
  if (step.hardState !== undefined) m.setHardState(step.hardState);
}

function outcome<T>(f: () => T): T | string {
  try {
    return f();
  } catch (err) {
    return (err as Error).name;
  }
}

/** sameReads compares every Storage read of a and b, errors included. */
function sameReads(a: DiskStorage, b: MemoryStorage, where: string): void {
  assert.deepEqual(a.initialState(), b.initialState(), `${where}: initialState`);
  assert.deepEqual(a.snapshot(), b.snapshot(), `${where}: snapshot`);
  const [first, last] = [b.firstIndex(), b.lastIndex()];
  assert.deepEqual([a.firstIndex(), a.lastIndex()], [first, last], `${where}: first/last`);
  for (let i = first - 2; i <= last + 1; i++) {
    assert.deepEqual(
      outcome(() => a.term(i)),
      outcome(() => b.term(i)),
      `${where}: term(${i})`,
    );
  }
  for (const [lo, hi, max] of [
    [first, last + 1, Infinity],
    [first, last + 1, 40],
    [first - 1, last + 1, Infinity],
    [first, first, 0],
  ] as const) {
    assert.deepEqual(
      outcome(() => a.entries(lo, hi, max)),
      outcome(() => b.entries(lo, hi, max)),
      `${where}: entries(${lo}, ${hi}, ${max})`,
    );
  }
}

void test('reads are identical to MemoryStorage through a workload, and survive reopen', async () => {
  const fs = new FaultFS();
  const opts = { fs, segmentSize: 1024 };
  let s = await openDiskStorage(dir, opts);
  let m = new MemoryStorage();
  const groups = makeWorkload(3, 60);
  for (const [g, group] of groups.entries()) {
    const done = group.map((step) => issue(s, step));
    for (const step of group) applyToMemory(m, step);
    sameReads(s, m, `group ${g} (before durable)`);
    await Promise.all(done);
    if (g % 10 === 9) {
      await s.close();
      s = await openDiskStorage(dir, opts);
      // A reopened log starts right after the snapshot: compare from there.
      const m2 = new MemoryStorage();
      m2.applySnapshot(m.snapshot());
      const si = m.snapshot().metadata.index;
      if (m.lastIndex() > si) m2.append(m.entries(si + 1, m.lastIndex() + 1, Infinity));
      m2.setHardState(m.initialState().hardState);
      sameReads(s, m2, `group ${g} (reopened)`);
      m = m2;
    }
  }
  assert.throws(() => s.term(s.lastIndex() + 1), ErrUnavailable);
  assert.throws(() => s.term(s.firstIndex() - 2), ErrCompacted);
  await s.close();
});

void test('group commit: saves issued during an fsync share the next write and fdatasync', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  const seg = `${dir}/0000000000000000-0000000000000001.wal`;
  let release = (): void => {};
  let held = false;
  fs.gate = (i) => {
    if (held || i.op !== 'datasync') return undefined;
    held = true;
    return new Promise<void>((r) => (release = r));
  };
  const first = s.save({ term: 1, vote: 1, commit: 0 }, [entry(1)]);
  while (!held) await new Promise((r) => setImmediate(r));
  const rest: Promise<void>[] = [];
  for (let i = 2; i <= 101; i++) rest.push(s.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i)]));
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(s.stats.batches, 0, 'nothing is acknowledged while the first fsync is held');
  release();
  await first;
  await Promise.all(rest);
  const st = s.stats;
  assert.equal(st.batches, 2);
  assert.equal(st.batchSyncs, 2);
  assert.equal(st.saves, 101);
  assert.equal(st.entries, 101);
  assert.equal(st.records, 202);
  assert.equal(fs.count('write', seg), 2, 'one write per batch');
  assert.equal(fs.count('datasync', seg), 2, 'one fdatasync per batch');
  await s.close();
});

void test('a save that only moves the commit index is written but not synced (etcd MustSync)', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  const seg = `${dir}/0000000000000000-0000000000000001.wal`;
  await s.save({ term: 1, vote: 1, commit: 0 }, [entry(1), entry(2)]);
  const syncs = fs.count('datasync', seg);
  await s.save({ term: 1, vote: 1, commit: 1 }, []);
  await s.save({ term: 1, vote: 1, commit: 2 }, []);
  assert.equal(fs.count('datasync', seg), syncs, 'commit-only HardStates are not synced');
  assert.equal(s.stats.batchSyncs, 1);
  assert.equal(s.stats.batches, 3, 'but they are written');
  await s.save({ term: 2, vote: 0, commit: 2 }, []);
  assert.equal(fs.count('datasync', seg), syncs + 1, 'a new term is synced');
  await s.save({ term: 2, vote: 3, commit: 2 }, []);
  assert.equal(fs.count('datasync', seg), syncs + 2, 'a vote is synced');
  await s.save({ term: 2, vote: 3, commit: 2 }, [entry(3, 2)]);
  assert.equal(fs.count('datasync', seg), syncs + 3, 'entries are synced');
  await s.close();
  const r = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  assert.deepEqual(r.initialState().hardState, { term: 2, vote: 3, commit: 2 });
  assert.equal(r.lastIndex(), 3);
  await r.close();
});

void test('rotation chains segments; a snapshot releases old segments and snapshot files', async () => {
  const fs = new FaultFS();
  const opts = { fs, segmentSize: 512, keepSnapshots: 2 };
  const s = await openDiskStorage(dir, opts);
  for (let i = 1; i <= 60; i++) await s.save({ term: 1, vote: 1, commit: i }, [entry(i)]);
  const segs = (): string[] => [...fs.files().keys()].filter((p) => p.endsWith('.wal')).sort();
  const before = segs();
  assert.ok(before.length >= 5, `segments: ${before.length}`);
  for (const at of [20, 30, 40, 50]) {
    await s.createSnapshot({
      metadata: { index: at, term: 1, confState: cs },
      data: payload(at, 0, 8),
    });
  }
  const after = segs();
  assert.ok(after.length < before.length, 'old segments were released');
  assert.ok(after.every((p) => before.includes(p)) || after.length > 0);
  const snaps = [...fs.files().keys()].filter((p) => p.endsWith('.snap'));
  assert.equal(snaps.length, 2, 'keepSnapshots files are kept');
  await s.compactTo(45);
  assert.equal(s.firstIndex(), 46);
  await s.close();
  const r = await openDiskStorage(dir, opts);
  assert.equal(r.recovery.segments, after.length);
  assert.deepEqual(r.snapshot().metadata, { index: 50, term: 1, confState: cs });
  assert.deepEqual([r.firstIndex(), r.lastIndex()], [51, 60]);
  assert.deepEqual(
    r.entries(51, 61, Infinity),
    Array.from({ length: 10 }, (_, k) => entry(51 + k)),
  );
  await r.close();
});

void test('a snapshot from the leader replaces the log, durably', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  await s.save({ term: 1, vote: 1, commit: 2 }, [entry(1), entry(2), entry(3), entry(4)]);
  const snap = { metadata: { index: 10, term: 3, confState: cs }, data: payload(10, 3, 50) };
  await s.save({ term: 3, vote: 0, commit: 10 }, [], snap);
  await s.save({ term: 3, vote: 0, commit: 10 }, [entry(11, 3)]);
  await s.close();
  const r = await openDiskStorage(dir, {
    fs: fs.afterCrash({ keep: () => false }),
    segmentSize: 8192,
  });
  assert.deepEqual(r.snapshot(), snap);
  assert.deepEqual([r.firstIndex(), r.lastIndex()], [11, 11]);
  assert.deepEqual(r.initialState(), {
    hardState: { term: 3, vote: 0, commit: 10 },
    confState: cs,
  });
  await r.close();
});

void test('confState bootstraps a new directory and is ignored for an existing one', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192, confState: cs });
  assert.deepEqual(s.initialState().confState, cs);
  await s.save({ term: 1, vote: 1, commit: 0 }, [entry(1)]);
  await s.close();
  const other = { ...cs, voters: [9] };
  const r = await openDiskStorage(dir, {
    fs: fs.afterCrash({ keep: () => false }),
    segmentSize: 8192,
    confState: other,
  });
  assert.deepEqual(r.initialState().confState, cs);
  assert.equal(r.lastIndex(), 1);
  await r.close();
});

void test('bad arguments reject with RangeError/TypeError and change nothing', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  await s.save(undefined, [entry(1), entry(2)]);
  await assert.rejects(
    s.save(undefined, [entry(4)]),
    /entries\[0\]\.index 4 leaves a gap after the last index 2/,
  );
  await assert.rejects(s.save(undefined, [entry(3), entry(5)]), RangeError);
  await assert.rejects(s.save({ term: 2 ** 53, vote: 0, commit: 0 }, []), /hardState\.term/);
  await assert.rejects(s.compactTo(7), RangeError);
  await s.compactTo(0); // already compacted: a no-op
  const md = { index: 2, term: 5, confState: cs };
  await assert.rejects(s.createSnapshot({ metadata: md }), /snapshot term 5 differs/);
  assert.equal(s.lastIndex(), 2);
  await assert.rejects(openDiskStorage('/x', { fs, segmentSize: 10 }), RangeError);
  await assert.rejects(openDiskStorage('', { fs }), TypeError);
  await s.close();
});

void test('close flushes queued saves; later calls reject with WalClosedError', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  const p = s.save(undefined, [entry(1)]);
  await s.close();
  await p;
  await assert.rejects(s.save(undefined, [entry(2)]), WalClosedError);
  await assert.rejects(s.compactTo(1), WalClosedError);
  const r = await openDiskStorage(dir, {
    fs: fs.afterCrash({ keep: () => false }),
    segmentSize: 8192,
  });
  assert.equal(r.lastIndex(), 1);
  await r.close();
});

void test('a torn tail is cut, reported with file and offset, and writing goes on', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  await s.save({ term: 1, vote: 1, commit: 0 }, [entry(1)]);
  fs.crashAt = fs.seq + 1; // the next batch is written but never synced
  await assert.rejects(s.save(undefined, [entry(2, 1, 2000)]));
  await s.close();
  const disk = fs.afterCrash({ keep: () => true, tear: () => 1 });
  const lines: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warning: (m) => lines.push(m),
    error() {},
    fatal() {},
    panic() {},
  };
  const r = await openDiskStorage(dir, { fs: disk, logger, segmentSize: 8192 });
  assert.equal(r.lastIndex(), 1);
  const t = r.recovery.tornTail;
  assert.ok(t !== undefined);
  assert.match(lines.join('\n'), new RegExp(`torn tail in ${t.file} at offset ${t.offset}`));
  await r.save(undefined, [entry(2)]);
  await r.close();
  const again = await openDiskStorage(dir, {
    fs: disk.afterCrash({ keep: () => false }),
    segmentSize: 8192,
  });
  assert.deepEqual(again.entries(1, 3, Infinity), [entry(1), entry(2)]);
  assert.equal(again.recovery.tornTail, undefined);
  await again.close();
});

void test('the real file system: files, names and reopen', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wal-test-'));
  const d = join(root, 'data');
  try {
    const s = await openDiskStorage(d, { segmentSize: 4096, confState: cs });
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++)
      saves.push(s.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i, 1, 64)]));
    await Promise.all(saves);
    assert.ok(s.stats.batches < 200, 'concurrent saves were batched');
    await s.createSnapshot({
      metadata: { index: 150, term: 1, confState: cs },
      data: payload(1, 2, 100),
    });
    await s.close();
    const names = await readdir(d);
    assert.ok(names.some((n) => /^[0-9a-f]{16}-[0-9a-f]{16}\.wal$/.test(n)));
    assert.ok(names.includes('0000000000000001-0000000000000096.snap'));
    const r = await openDiskStorage(d);
    assert.deepEqual([r.firstIndex(), r.lastIndex()], [151, 200]);
    assert.deepEqual(r.initialState().hardState, { term: 1, vote: 1, commit: 199 });
    await r.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** chunksOf yields data in pieces of `size` bytes, taking a turn of the event loop between. */
async function* chunksOf(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) {
    await new Promise((r) => setImmediate(r));
    yield data.slice(i, i + size);
  }
}

/** snapshotWhenLoaded calls snapshot() until it stops throwing "temporarily unavailable". */
async function snapshotWhenLoaded(
  s: DiskStorage,
): Promise<{ data?: Uint8Array | undefined; tries: number }> {
  for (let tries = 0; tries < 1000; tries++) {
    try {
      return { ...s.snapshot(), tries };
    } catch (err) {
      assert.ok(err instanceof ErrSnapshotTemporarilyUnavailable, String(err));
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  throw new Error('snapshot never became available');
}

void test('a chunked snapshot is written as it comes, kept on disk only, read back on demand', async () => {
  const fs = new FaultFS();
  const opts = { fs, segmentSize: 8192, snapshotKeepMs: 20 };
  const s = await openDiskStorage(dir, opts);
  for (let i = 1; i <= 20; i++) await s.save({ term: 1, vote: 1, commit: i }, [entry(i)]);
  const data = payload(15, 1, 5000);
  const md = { index: 15, term: 1, confState: cs };
  const creating = s.createSnapshot({ metadata: md }, chunksOf(data, 700));
  // While the file is written, the WAL goes on and the previous snapshot is served.
  await s.save({ term: 1, vote: 1, commit: 21 }, [entry(21)]);
  assert.equal(s.snapshot().metadata.index, 0);
  await creating;
  assert.equal(s.lastIndex(), 21);
  // The data is not in memory: the first call starts reading it back.
  assert.throws(() => s.snapshot(), ErrSnapshotTemporarilyUnavailable);
  const got = await snapshotWhenLoaded(s);
  assert.deepEqual(got.data, data);
  assert.deepEqual(s.snapshot().metadata, md);
  // Dropped again snapshotKeepMs after its last use.
  await new Promise((r) => setTimeout(r, 60));
  assert.throws(() => s.snapshot(), ErrSnapshotTemporarilyUnavailable);
  assert.deepEqual((await snapshotWhenLoaded(s)).data, data);
  await s.close();
  const r = await openDiskStorage(dir, { ...opts, fs: fs.afterCrash({ keep: () => false }) });
  // Reopened: the recovered data is served at once (the Node restores from it).
  assert.deepEqual(r.snapshot(), { metadata: md, data });
  assert.deepEqual([r.firstIndex(), r.lastIndex()], [16, 21]);
  await r.close();
});

void test('a chunked snapshot overtaken by one from the leader is refused and its file removed', async () => {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { fs, segmentSize: 8192 });
  for (let i = 1; i <= 5; i++) await s.save({ term: 1, vote: 1, commit: i }, [entry(i)]);
  let release = (): void => undefined;
  const gate = new Promise<void>((r) => (release = r));
  async function* slow(): AsyncGenerator<Uint8Array> {
    yield new Uint8Array([1, 2, 3]);
    await gate;
    yield new Uint8Array([4]);
  }
  const creating = s.createSnapshot({ metadata: { index: 4, term: 1, confState: cs } }, slow());
  const leader = { metadata: { index: 10, term: 2, confState: cs }, data: payload(10, 2, 40) };
  await s.save({ term: 2, vote: 0, commit: 10 }, [], leader);
  release();
  await assert.rejects(creating, ErrSnapOutOfDate);
  assert.deepEqual(s.snapshot(), leader);
  const snaps = [...fs.files().keys()].filter((p) => p.endsWith('.snap'));
  assert.deepEqual(snaps, [join(dir, snapName(10, 2))]);
  await s.close();
});
