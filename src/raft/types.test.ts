import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType } from '../raftpb/types.ts';
import type { Entry } from '../raftpb/types.ts';
import { logSlice, pbEntryID } from './types.ts';
import type { entryID } from './types.ts';

function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: EntryType.EntryNormal }));
}

void test('logSlice.lastIndex / lastEntryID', () => {
  const empty = new logSlice(5, { term: 3, index: 10 }, []);
  assert.equal(empty.lastIndex(), 10);
  assert.deepEqual(empty.lastEntryID(), { term: 3, index: 10 });
  const s = new logSlice(5, { term: 3, index: 10 }, ents(11, 3, 4));
  assert.equal(s.lastIndex(), 12);
  assert.deepEqual(s.lastEntryID(), { term: 4, index: 12 });
  assert.deepEqual(pbEntryID(ents(7, 2)[0]!), { term: 2, index: 7 });
});

void test('logSlice.valid', () => {
  const cases: [number, entryID, Entry[], string | undefined][] = [
    [1, { term: 0, index: 0 }, [], undefined],
    [1, { term: 1, index: 1 }, [], undefined],
    [1, { term: 2, index: 1 }, [], 'leader term 1: entry {term:2 index:1} has a newer term'],
    [5, { term: 1, index: 3 }, ents(4, 1, 2, 5), undefined],
    [
      4,
      { term: 1, index: 3 },
      ents(4, 1, 2, 5),
      'leader term 4: entry {term:5 index:6} has a newer term',
    ],
    [
      5,
      { term: 2, index: 3 },
      ents(4, 1),
      'leader term 5: entries {term:2 index:3} and {term:1 index:4} not consistent',
    ],
    [
      5,
      { term: 1, index: 3 },
      ents(5, 1),
      'leader term 5: entries {term:1 index:3} and {term:1 index:5} not consistent',
    ],
    [
      5,
      { term: 1, index: 3 },
      [...ents(4, 3), ...ents(5, 2)],
      'leader term 5: entries {term:3 index:4} and {term:2 index:5} not consistent',
    ],
  ];
  cases.forEach(([term, prev, es, want], n) => {
    assert.equal(new logSlice(term, prev, es).valid()?.message, want, `case ${n}`);
  });
});
