import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrCompacted } from '../raft/errors.ts';
import type { Entry, Snapshot } from '../raftpb/types.ts';
import { MemoryDurableStorage, StorageClosedError } from './memory_storage.ts';

function ents(lo: number, hi: number, term = 1): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push({ index: i, term, type: 0, data: new Uint8Array([i]) });
  return out;
}

const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

void describe('MemoryDurableStorage', () => {
  void it('shows a write to raft at once and to the disk image when it resolves', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new MemoryDurableStorage({ beforeSave: () => gate });
    const p = s.save({ term: 1, vote: 1, commit: 2 }, ents(1, 3));
    assert.equal(s.lastIndex(), 3);
    assert.equal(s.reopen().lastIndex(), 0, 'not durable yet');
    release();
    await p;
    const r = s.reopen();
    assert.equal(r.lastIndex(), 3);
    assert.deepEqual(r.initialState().hardState, { term: 1, vote: 1, commit: 2 });
    assert.equal(s.saves, 1);
  });

  void it('replaces a conflicting suffix and applies snapshots before entries', async () => {
    const s = new MemoryDurableStorage();
    await s.save(undefined, ents(1, 5));
    await s.save(undefined, ents(4, 4, 2));
    assert.equal(s.lastIndex(), 4);
    assert.equal(s.term(4), 2);
    const snap: Snapshot = {
      metadata: { index: 10, term: 3, confState: cs },
      data: new Uint8Array([7]),
    };
    await s.save({ term: 3, vote: 0, commit: 10 }, ents(11, 12, 3), snap);
    const r = s.reopen();
    assert.equal(r.firstIndex(), 11);
    assert.equal(r.lastIndex(), 12);
    assert.deepEqual(r.snapshot().data, new Uint8Array([7]));
    assert.deepEqual(r.initialState().confState, cs);
  });

  void it('creates snapshots and compacts, in memory and on disk', async () => {
    const s = new MemoryDurableStorage();
    await s.save(undefined, ents(1, 10));
    await s.createSnapshot({
      metadata: { index: 8, term: 1, confState: cs },
      data: new Uint8Array([1]),
    });
    await s.compactTo(6);
    await s.compactTo(3);
    assert.equal(s.firstIndex(), 7);
    assert.throws(() => s.term(5), ErrCompacted);
    const r = s.reopen();
    assert.equal(r.firstIndex(), 7);
    assert.equal(r.snapshot().metadata.index, 8);
    assert.equal(r.term(8), 1);
  });

  void it('fails a write whose hook throws, keeps the disk image, and later writes go on', async () => {
    let fail = true;
    const s = new MemoryDurableStorage({
      beforeSave: () => {
        if (fail) throw new Error('EIO');
      },
    });
    await assert.rejects(s.save(undefined, ents(1, 1)), /EIO/);
    assert.equal(s.reopen().lastIndex(), 0);
    fail = false;
    await s.save(undefined, ents(1, 2));
    assert.equal(s.reopen().lastIndex(), 2);
  });

  void it('rejects writes after close', async () => {
    const s = new MemoryDurableStorage();
    await s.close();
    await assert.rejects(s.save(undefined, ents(1, 1)), StorageClosedError);
    await assert.rejects(s.compactTo(1), StorageClosedError);
  });
});
