import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, newConfState } from '../raftpb/types.ts';
import type { ConfState, Entry, Snapshot } from '../raftpb/types.ts';
import { entrySize } from '../raftpb/size.ts';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from './errors.ts';
import { RaftPanic } from './logger.ts';
import { MemoryStorage, newMemoryStorage } from './storage.ts';
import { noLimit } from './util.ts';

function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: EntryType.EntryNormal }));
}

/** withEnts returns a MemoryStorage holding exactly es (es[0] is the dummy). */
function withEnts(es: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  s.ents = es.slice();
  return s;
}

function voters(...ids: number[]): ConfState {
  return { ...newConfState(), voters: ids };
}

void test('MemoryStorage: a fresh storage holds only the dummy entry', () => {
  const s = newMemoryStorage();
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 0);
  assert.equal(s.term(0), 0);
  assert.throws(() => s.term(1), ErrUnavailable);
  assert.throws(() => s.entries(1, 1, noLimit), ErrUnavailable);
  assert.deepEqual(s.initialState(), {
    hardState: { term: 0, vote: 0, commit: 0 },
    confState: newConfState(),
  });
});

void test('MemoryStorage.term: compacted below the dummy, unavailable past the end', () => {
  const cases: [number, number | typeof ErrCompacted | typeof ErrUnavailable][] = [
    [2, ErrCompacted],
    [3, 3],
    [4, 4],
    [5, 5],
    [6, ErrUnavailable],
  ];
  for (const [i, want] of cases) {
    const s = withEnts(ents(3, 3, 4, 5));
    if (typeof want === 'number') assert.equal(s.term(i), want);
    else assert.throws(() => s.term(i), want);
  }
});

void test('MemoryStorage.entries: ranges, compaction and size limits', () => {
  const es = ents(3, 3, 4, 5, 6);
  const [s1, s2, s3] = [entrySize(es[1]!), entrySize(es[2]!), entrySize(es[3]!)];
  const cases: [number, number, number, Entry[] | typeof ErrCompacted][] = [
    [2, 6, noLimit, ErrCompacted],
    [3, 4, noLimit, ErrCompacted],
    [4, 5, noLimit, ents(4, 4)],
    [4, 6, noLimit, ents(4, 4, 5)],
    [4, 7, noLimit, ents(4, 4, 5, 6)],
    [4, 7, 0, ents(4, 4)], // at least one entry
    [4, 7, s1 + s2, ents(4, 4, 5)],
    [4, 7, s1 + s2 + s3 / 2, ents(4, 4, 5)],
    [4, 7, s1 + s2 + s3 - 1, ents(4, 4, 5)],
    [4, 7, s1 + s2 + s3, ents(4, 4, 5, 6)],
  ];
  cases.forEach(([lo, hi, max, want], n) => {
    const s = withEnts(es);
    if (Array.isArray(want)) assert.deepEqual(s.entries(lo, hi, max), want, `case ${n}`);
    else assert.throws(() => s.entries(lo, hi, max), want, `case ${n}`);
  });
  assert.throws(
    () => withEnts(es).entries(4, 8, noLimit),
    /entries' hi\(8\) is out of bound lastindex\(6\)/,
  );
});

void test('MemoryStorage.entries: the result belongs to the caller', () => {
  const s = withEnts(ents(3, 3, 4, 5));
  const got = s.entries(4, 6, noLimit);
  got.push(...ents(6, 9));
  got[0] = { term: 9, index: 4, type: EntryType.EntryNormal };
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.term(4), 4);
});

void test('MemoryStorage.lastIndex / firstIndex follow append and compact', () => {
  const s = withEnts(ents(3, 3, 4, 5));
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.firstIndex(), 4);
  s.append(ents(6, 5));
  assert.equal(s.lastIndex(), 6);
  s.compact(4);
  assert.equal(s.firstIndex(), 5);
});

void test('MemoryStorage.compact: the compact index becomes the dummy', () => {
  const cases: [number, boolean, number, number, number][] = [
    [2, true, 3, 3, 3],
    [3, true, 3, 3, 3],
    [4, false, 4, 4, 2],
    [5, false, 5, 5, 1],
  ];
  for (const [i, compacted, windex, wterm, wlen] of cases) {
    const s = withEnts(ents(3, 3, 4, 5));
    if (compacted) assert.throws(() => s.compact(i), ErrCompacted);
    else s.compact(i);
    const dummy = s.ents[0]!;
    assert.equal(dummy.index, windex);
    assert.equal(dummy.term, wterm);
    assert.equal(s.ents.length, wlen);
  }
  assert.throws(
    () => withEnts(ents(3, 3, 4, 5)).compact(6),
    /compact 6 is out of bound lastindex\(5\)/,
  );
});

void test('MemoryStorage.compact: entries handed out before are unaffected', () => {
  const s = withEnts(ents(3, 3, 4, 5));
  const before = s.entries(4, 6, noLimit);
  s.compact(4);
  assert.deepEqual(before, ents(4, 4, 5));
});

void test('MemoryStorage.createSnapshot: records index, term, ConfState and data', () => {
  const cs = voters(1, 2, 3);
  const data = new TextEncoder().encode('data');
  for (const i of [4, 5]) {
    const s = withEnts(ents(3, 3, 4, 5));
    const got = s.createSnapshot(i, cs, data);
    const want: Snapshot = { data, metadata: { index: i, term: i, confState: voters(1, 2, 3) } };
    assert.deepEqual(got, want);
    assert.deepEqual(s.snapshot(), want);
    assert.throws(() => s.createSnapshot(i, cs, data), ErrSnapOutOfDate);
  }
  assert.throws(
    () => withEnts(ents(3, 3, 4, 5)).createSnapshot(6, cs, data),
    /snapshot 6 is out of bound lastindex\(5\)/,
  );
  const s = withEnts(ents(3, 3, 4, 5));
  cs.voters.push(4);
  s.createSnapshot(4, cs, data);
  cs.voters.push(5);
  assert.deepEqual(s.snapshot().metadata.confState.voters, [1, 2, 3, 4], 'ConfState copied');
});

void test('MemoryStorage.append: truncates conflicts and skips compacted entries', () => {
  const cases: [Entry[], Entry[]][] = [
    [ents(1, 1, 2), ents(3, 3, 4, 5)],
    [ents(3, 3, 4, 5), ents(3, 3, 4, 5)],
    [ents(3, 3, 6, 6), ents(3, 3, 6, 6)],
    [ents(3, 3, 4, 5, 5), ents(3, 3, 4, 5, 5)],
    [ents(2, 3, 3, 5), ents(3, 3, 5)],
    [ents(4, 5), ents(3, 3, 5)],
    [ents(6, 5), ents(3, 3, 4, 5, 5)],
  ];
  cases.forEach(([toAppend, want], n) => {
    const s = withEnts(ents(3, 3, 4, 5));
    s.append(toAppend);
    assert.deepEqual(s.ents, want, `case ${n}`);
  });
  assert.throws(
    () => withEnts(ents(3, 3, 4, 5)).append(ents(7, 5)),
    (e) => {
      return e instanceof RaftPanic && e.message === 'missing log entry [last: 5, append at: 7]';
    },
  );
});

void test('MemoryStorage.append: entries handed out before keep their content', () => {
  const s = withEnts(ents(3, 3, 4, 5));
  const before = s.entries(4, 6, noLimit);
  s.append(ents(4, 6));
  assert.deepEqual(before, ents(4, 4, 5));
  assert.deepEqual(s.entries(4, 5, noLimit), ents(4, 6));
});

void test('MemoryStorage.applySnapshot: replaces the log; refuses older snapshots', () => {
  const cs = voters(1, 2, 3);
  const data = new TextEncoder().encode('data');
  const at = (index: number, term: number): Snapshot => ({
    data,
    metadata: { index, term, confState: cs },
  });

  const s = newMemoryStorage();
  s.append(ents(1, 1, 2, 3, 4));
  s.applySnapshot(at(4, 4));
  assert.equal(s.firstIndex(), 5);
  assert.equal(s.lastIndex(), 4);
  assert.equal(s.term(4), 4);
  assert.deepEqual(s.initialState().confState, cs);
  assert.throws(() => s.applySnapshot(at(3, 3)), ErrSnapOutOfDate);
  assert.throws(() => s.applySnapshot(at(4, 4)), ErrSnapOutOfDate);

  // Bootstrapping: a ConfState-only snapshot at index 0 is accepted on a fresh storage.
  const b = newMemoryStorage();
  b.applySnapshot({ data, metadata: { index: 0, term: 0, confState: cs } });
  assert.deepEqual(b.initialState().confState, cs);
  assert.equal(b.firstIndex(), 1);
  assert.deepEqual(MemoryStorage.withConfState(cs).initialState().confState, cs);
});

void test('MemoryStorage.snapshot: returns a copy', () => {
  const s = newMemoryStorage();
  s.append(ents(1, 1, 2));
  s.createSnapshot(2, voters(1), new Uint8Array([1, 2]));
  const got = s.snapshot();
  got.metadata.confState.voters.push(7);
  got.data![0] = 9;
  assert.deepEqual(s.snapshot().metadata.confState.voters, [1]);
  assert.equal(s.snapshot().data![0], 1);
});

void test('MemoryStorage.setHardState: initialState returns it', () => {
  const s = newMemoryStorage();
  const hs = { term: 3, vote: 2, commit: 1 };
  s.setHardState(hs);
  hs.term = 9;
  assert.deepEqual(s.initialState().hardState, { term: 3, vote: 2, commit: 1 });
});
