import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, newConfState } from '../raftpb/types.ts';
import type { Entry, Snapshot } from '../raftpb/types.ts';
import { entrySize } from '../raftpb/size.ts';
import { ErrCompacted, ErrUnavailable } from './errors.ts';
import { RaftPanic, discardLogger } from './logger.ts';
import type { Logger } from './logger.ts';
import { newLog, newLogWithSize } from './log.ts';
import type { RaftLog } from './log.ts';
import { newMemoryStorage } from './storage.ts';
import type { MemoryStorage } from './storage.ts';
import { logSlice } from './types.ts';
import type { entryID } from './types.ts';
import { entsSize, noLimit } from './util.ts';

/** ents returns entries at consecutive indexes from first, with the given terms. */
function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: EntryType.EntryNormal }));
}

/** termRange returns entries at indexes first.. with terms from, from+1, ..., to-1. */
function termRange(first: number, from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let t = from; t < to; t++) out.push({ term: t, index: first + t - from, type: 0 });
  return out;
}

function snap(index: number, term: number): Snapshot {
  return { metadata: { confState: newConfState(), index, term } };
}

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string): void => {
    lines.push(m);
  };
  return { lines, debug: keep, info: keep, warning: keep, error: keep, fatal: keep, panic: keep };
}

/** storageAt returns a MemoryStorage restored to snapshot (index, term). */
function storageAt(index: number, term: number): MemoryStorage {
  const s = newMemoryStorage();
  s.applySnapshot(snap(index, term));
  return s;
}

/** logWith returns a log over an empty storage holding es as unstable entries. */
function logWith(es: Entry[], logger: Logger = discardLogger): RaftLog {
  const l = newLog(newMemoryStorage(), logger);
  l.append(es);
  return l;
}

void test('RaftLog.findConflict: first mismatching or new index, else 0', () => {
  const cases: [Entry[], number][] = [
    [[], 0],
    [ents(1, 1, 2, 3), 0],
    [ents(2, 2, 3), 0],
    [ents(3, 3), 0],
    [ents(1, 1, 2, 3, 4, 4), 4],
    [ents(2, 2, 3, 4, 5), 4],
    [ents(3, 3, 4, 4), 4],
    [ents(4, 4, 4), 4],
    [ents(1, 4, 4), 1],
    [ents(2, 1, 4, 4), 2],
    [ents(3, 1, 2, 4, 4), 3],
  ];
  cases.forEach(([es, want], n) => {
    assert.equal(logWith(ents(1, 1, 2, 3)).findConflict(es), want, `case ${n}`);
  });
});

void test('RaftLog.findConflict: logs the conflict with both terms', () => {
  const log = recorder();
  logWith(ents(1, 1, 2, 3), log).findConflict(ents(2, 1, 4));
  assert.deepEqual(log.lines, [
    'found conflict at index 2 [existing term: 2, conflicting term: 1]',
  ]);
});

void test('RaftLog.findConflictByTerm: largest index with term <= given or unknown', () => {
  // [snapshot index, snapshot term, later terms], index, term -> want index
  const a: [number, number, number[]] = [0, 0, [2, 2, 5, 5, 5]];
  const b: [number, number, number[]] = [10, 3, [3, 3, 4, 4, 4]];
  const cases: [[number, number, number[]], number, number, number][] = [
    [a, 100, 2, 100], // unavailable
    [a, 5, 6, 5],
    [a, 5, 5, 5],
    [a, 5, 4, 2],
    [a, 5, 2, 2],
    [a, 5, 1, 0],
    [a, 1, 2, 1],
    [a, 1, 1, 0],
    [a, 0, 0, 0],
    [b, 30, 3, 30], // unavailable
    [b, 14, 9, 14],
    [b, 14, 4, 14],
    [b, 14, 3, 12],
    [b, 14, 2, 9],
    [b, 11, 5, 11],
    [b, 10, 5, 10],
    [b, 10, 3, 10],
    [b, 10, 2, 9],
    [b, 9, 2, 9], // compacted
    [b, 4, 2, 4], // compacted
    [b, 0, 0, 0], // compacted
  ];
  cases.forEach(([[si, st, terms], index, term, want], n) => {
    const l = newLog(storageAt(si, st), discardLogger);
    l.append(ents(si + 1, ...terms));
    const [gi, gt] = l.findConflictByTerm(index, term);
    assert.equal(gi, want, `case ${n} index`);
    assert.equal(gt, l.zeroTermOnOutOfBounds(gi), `case ${n} term`);
  });
});

void test('RaftLog.isUpToDate: higher last term wins, then longer log', () => {
  const l = logWith(ents(1, 1, 2, 3));
  const li = l.lastIndex();
  const cases: [number, number, boolean][] = [
    [li - 1, 4, true],
    [li, 4, true],
    [li + 1, 4, true],
    [li - 1, 2, false],
    [li, 2, false],
    [li + 1, 2, false],
    [li - 1, 3, false],
    [li, 3, true],
    [li + 1, 3, true],
  ];
  for (const [index, term, want] of cases) assert.equal(l.isUpToDate({ term, index }), want);
});

void test('RaftLog.append: truncates at the first new index', () => {
  const cases: [Entry[], number, Entry[], number][] = [
    [[], 2, ents(1, 1, 2), 3],
    [ents(3, 2), 3, ents(1, 1, 2, 2), 3],
    [ents(1, 2), 1, ents(1, 2), 1],
    [ents(2, 3, 3), 3, ents(1, 1, 3, 3), 2],
  ];
  cases.forEach(([es, windex, wents, wunstable], n) => {
    const s = newMemoryStorage();
    s.append(ents(1, 1, 2));
    const l = newLog(s, discardLogger);
    assert.equal(l.append(...es), windex, `case ${n} index`);
    assert.deepEqual(l.entries(1, noLimit), wents, `case ${n} entries`);
    assert.equal(l.unstable.offset, wunstable, `case ${n} offset`);
  });
});

void test('RaftLog.append: the array form equals the spread form', () => {
  const a = logWith([]);
  const b = logWith([]);
  a.append(ents(1, 1, 1, 2));
  b.append(...ents(1, 1, 1, 2));
  assert.deepEqual(a.allEntries(), b.allEntries());
});

void test('RaftLog.append: refuses to rewrite committed entries', () => {
  const l = logWith(ents(1, 1, 2, 3));
  l.committed = 2;
  assert.throws(() => l.append(ents(2, 4)), /after\(1\) is out of range \[committed\(2\)\]/);
});

void test('RaftLog.maybeAppend: matches prev, appends, and commits up to the new last index', () => {
  const [lastindex, lastterm, commit] = [3, 3, 1];
  // prev, committed, entries -> lastnewi (undefined: not appended), commit, panics
  const cases: [entryID, number, Entry[], number | undefined, number, boolean][] = [
    // prev does not match: wrong term, or past the end.
    [
      { term: lastterm - 1, index: lastindex },
      lastindex,
      ents(lastindex + 1, 4),
      undefined,
      commit,
      false,
    ],
    [
      { term: lastterm, index: lastindex + 1 },
      lastindex,
      ents(lastindex + 2, 4),
      undefined,
      commit,
      false,
    ],
    // prev is the last entry.
    [{ term: lastterm, index: lastindex }, lastindex, [], lastindex, lastindex, false],
    [{ term: lastterm, index: lastindex }, lastindex + 1, [], lastindex, lastindex, false],
    [{ term: lastterm, index: lastindex }, lastindex - 1, [], lastindex, lastindex - 1, false],
    [{ term: lastterm, index: lastindex }, 0, [], lastindex, commit, false],
    [{ term: 0, index: 0 }, lastindex, [], 0, commit, false],
    [
      { term: lastterm, index: lastindex },
      lastindex,
      ents(lastindex + 1, 4),
      lastindex + 1,
      lastindex,
      false,
    ],
    [
      { term: lastterm, index: lastindex },
      lastindex + 1,
      ents(lastindex + 1, 4),
      lastindex + 1,
      lastindex + 1,
      false,
    ],
    [
      { term: lastterm, index: lastindex },
      lastindex + 2,
      ents(lastindex + 1, 4),
      lastindex + 1,
      lastindex + 1,
      false,
    ],
    [
      { term: lastterm, index: lastindex },
      lastindex + 2,
      ents(lastindex + 1, 4, 4),
      lastindex + 2,
      lastindex + 2,
      false,
    ],
    // prev is in the middle.
    [
      { term: lastterm - 1, index: lastindex - 1 },
      lastindex,
      ents(lastindex, 4),
      lastindex,
      lastindex,
      false,
    ],
    [
      { term: lastterm - 2, index: lastindex - 2 },
      lastindex,
      ents(lastindex - 1, 4),
      lastindex - 1,
      lastindex - 1,
      false,
    ],
    // Conflicts with a committed entry.
    [
      { term: lastterm - 3, index: lastindex - 3 },
      lastindex,
      ents(lastindex - 2, 4),
      lastindex - 2,
      lastindex - 2,
      true,
    ],
    [
      { term: lastterm - 2, index: lastindex - 2 },
      lastindex,
      ents(lastindex - 1, 4, 4),
      lastindex,
      lastindex,
      false,
    ],
  ];
  cases.forEach(([prev, committed, es, wlasti, wcommit, wpanic], n) => {
    const a = new logSlice(100, prev, es);
    assert.equal(a.valid(), undefined, `case ${n} valid`);
    const l = logWith(ents(1, 1, 2, 3));
    l.committed = commit;
    if (wpanic) {
      assert.throws(() => l.maybeAppend(a, committed), RaftPanic, `case ${n}`);
      return;
    }
    assert.equal(l.maybeAppend(a, committed), wlasti, `case ${n} lastnewi`);
    assert.equal(l.committed, wcommit, `case ${n} commit`);
    if (wlasti !== undefined && es.length > 0) {
      const li = l.lastIndex();
      assert.deepEqual(l.slice(li - es.length + 1, li + 1, noLimit), es, `case ${n} entries`);
    }
  });
});

void test('RaftLog: reads stay correct after the storage is compacted', () => {
  const [lastIndex, unstableIndex] = [1000, 750];
  const s = newMemoryStorage();
  s.append(termRange(1, 1, unstableIndex + 1));
  const l = newLog(s, discardLogger);
  l.append(termRange(unstableIndex + 1, unstableIndex + 1, lastIndex + 1));
  assert.ok(l.maybeCommit(l.lastEntryID()));
  l.appliedTo(l.committed, 0);

  const offset = 500;
  s.compact(offset);
  assert.equal(l.lastIndex(), lastIndex);
  for (let j = offset; j <= l.lastIndex(); j++) {
    assert.equal(l.term(j), j);
    assert.ok(l.matchTerm({ term: j, index: j }));
  }
  const unstableEnts = l.nextUnstableEnts();
  assert.equal(unstableEnts.length, 250);
  assert.equal(unstableEnts[0]?.index, 751);

  const prev = l.lastIndex();
  l.append({ term: prev + 1, index: prev + 1, type: 0 });
  assert.equal(l.lastIndex(), prev + 1);
  assert.equal(l.entries(l.lastIndex(), noLimit).length, 1);
});

interface ApplyCase {
  applied: number;
  applying: number;
  allowUnstable: boolean;
  paused?: boolean;
  snap?: boolean;
}

/** applyLog: snapshot at 3, entries 4..6 at term 1; 4 durable, 5 committed. */
function applyLog(maxSize = noLimit): RaftLog {
  const s = storageAt(3, 1);
  const es = ents(4, 1, 1, 1);
  s.append(es.slice(0, 1));
  const l = newLogWithSize(s, discardLogger, maxSize);
  l.append(es);
  l.stableTo({ term: 1, index: 4 });
  l.maybeCommit({ term: 1, index: 5 });
  return l;
}

void test('RaftLog.hasNextCommittedEnts / nextCommittedEnts', () => {
  const es = ents(4, 1, 1, 1);
  const cases: [ApplyCase, Entry[]][] = [
    [{ applied: 3, applying: 3, allowUnstable: true }, es.slice(0, 2)],
    [{ applied: 3, applying: 4, allowUnstable: true }, es.slice(1, 2)],
    [{ applied: 3, applying: 5, allowUnstable: true }, []],
    [{ applied: 4, applying: 4, allowUnstable: true }, es.slice(1, 2)],
    [{ applied: 4, applying: 5, allowUnstable: true }, []],
    [{ applied: 5, applying: 5, allowUnstable: true }, []],
    [{ applied: 3, applying: 3, allowUnstable: false }, es.slice(0, 1)],
    [{ applied: 3, applying: 4, allowUnstable: false }, []],
    [{ applied: 3, applying: 5, allowUnstable: false }, []],
    [{ applied: 4, applying: 4, allowUnstable: false }, []],
    [{ applied: 4, applying: 5, allowUnstable: false }, []],
    [{ applied: 5, applying: 5, allowUnstable: false }, []],
    [{ applied: 3, applying: 3, allowUnstable: true, paused: true }, []],
    [{ applied: 3, applying: 3, allowUnstable: true, snap: true }, []],
  ];
  cases.forEach(([c, want], n) => {
    const l = applyLog();
    l.appliedTo(c.applied, 0);
    l.acceptApplying(c.applying, 0, c.allowUnstable);
    l.applyingEntsPaused = c.paused ?? false;
    if (c.snap === true) l.restore(snap(4, 1));
    assert.equal(l.hasNextCommittedEnts(c.allowUnstable), want.length > 0, `case ${n} has`);
    assert.deepEqual(l.nextCommittedEnts(c.allowUnstable), want, `case ${n} next`);
  });
});

void test('RaftLog.acceptApplying: pauses at the byte budget or on a cut-short hand-out', () => {
  const max = 100;
  const cases: [number, boolean, number, boolean][] = [
    [3, true, max - 1, true],
    [3, true, max, true],
    [3, true, max + 1, true],
    [4, true, max - 1, true],
    [4, true, max, true],
    [4, true, max + 1, true],
    [5, true, max - 1, false],
    [5, true, max, true],
    [5, true, max + 1, true],
    [3, false, max - 1, true],
    [3, false, max, true],
    [3, false, max + 1, true],
    [4, false, max - 1, false],
    [4, false, max, true],
    [4, false, max + 1, true],
    [5, false, max - 1, false],
    [5, false, max, true],
    [5, false, max + 1, true],
  ];
  cases.forEach(([index, allowUnstable, size, wpaused], n) => {
    const l = applyLog(max);
    l.appliedTo(3, 0);
    l.acceptApplying(index, size, allowUnstable);
    assert.equal(l.applyingEntsPaused, wpaused, `case ${n}`);
  });
});

void test('RaftLog.appliedTo: releases bytes and resumes below the budget', () => {
  const [max, over] = [100, 5];
  const cases: [number, number, number, boolean][] = [
    [4, over - 1, max + 1, true],
    [4, over, max, true],
    [4, over + 1, max - 1, false],
    [5, over - 1, max + 1, true],
    [5, over, max, true],
    [5, over + 1, max - 1, false],
    [4, max + over, 0, false],
    [4, max + over + 1, 0, false],
  ];
  cases.forEach(([index, size, wsize, wpaused], n) => {
    const l = applyLog(max);
    l.appliedTo(3, 0);
    l.acceptApplying(5, max + over, false);
    l.appliedTo(index, size);
    assert.equal(l.applied, index, `case ${n} applied`);
    assert.equal(l.applying, 5, `case ${n} applying`);
    assert.equal(l.applyingEntsSize, wsize, `case ${n} size`);
    assert.equal(l.applyingEntsPaused, wpaused, `case ${n} paused`);
  });
  const l = applyLog();
  assert.throws(
    () => l.appliedTo(6, 0),
    /applied\(6\) is out of range \[prevApplied\(3\), committed\(5\)\]/,
  );
});

void test('RaftLog.nextCommittedEnts: honours maxApplyingEntsSize', () => {
  const s = newMemoryStorage();
  s.append(ents(1, 1, 1, 1, 1));
  const one = entrySize(ents(1, 1)[0]!);
  const l = newLogWithSize(s, discardLogger, 2 * one);
  l.commitTo(4);
  const got = l.nextCommittedEnts(true);
  assert.deepEqual(got, ents(1, 1, 1));
  l.acceptApplying(2, entsSize(got), true);
  assert.equal(l.applyingEntsPaused, true);
  assert.deepEqual(l.nextCommittedEnts(true), []);
  l.appliedTo(2, entsSize(got));
  assert.deepEqual(l.nextCommittedEnts(true), ents(3, 1, 1));
});

void test('RaftLog.nextUnstableEnts: the entries not yet in storage', () => {
  const prev = ents(1, 1, 2);
  for (const [unstable, want] of [
    [3, []],
    [1, prev],
  ] as [number, Entry[]][]) {
    const s = newMemoryStorage();
    s.append(prev.slice(0, unstable - 1));
    const l = newLog(s, discardLogger);
    l.append(prev.slice(unstable - 1));
    const got = l.nextUnstableEnts();
    assert.equal(l.hasNextUnstableEnts(), got.length > 0);
    const last = got[got.length - 1];
    if (last !== undefined) l.stableTo({ term: last.term, index: last.index });
    assert.deepEqual(got, want);
    assert.equal(l.unstable.offset, 3);
  }
});

void test('RaftLog.commitTo: never decreases; panics past the last index', () => {
  const cases: [number, number | undefined][] = [
    [3, 3],
    [1, 2],
    [4, undefined],
  ];
  for (const [commit, want] of cases) {
    const l = logWith(ents(1, 1, 2, 3));
    l.committed = 2;
    if (want === undefined) {
      assert.throws(() => l.commitTo(commit), /tocommit\(4\) is out of range \[lastIndex\(3\)\]/);
    } else {
      l.commitTo(commit);
      assert.equal(l.committed, want);
    }
  }
});

void test('RaftLog.stableTo: advances the unstable offset on a matching ID only', () => {
  const cases: [number, number, number][] = [
    [1, 1, 2],
    [2, 2, 3],
    [2, 1, 1], // bad term
    [3, 1, 1], // bad index
  ];
  for (const [index, term, want] of cases) {
    const l = logWith(ents(1, 1, 2));
    l.stableTo({ term, index });
    assert.equal(l.unstable.offset, want);
  }
});

void test('RaftLog.stableTo: after a snapshot restore', () => {
  const [si, st] = [5, 2];
  const cases: [number, number, Entry[], number][] = [
    [si + 1, st, [], si + 1],
    [si, st, [], si + 1],
    [si - 1, st, [], si + 1],
    [si + 1, st + 1, [], si + 1],
    [si, st + 1, [], si + 1],
    [si - 1, st + 1, [], si + 1],
    [si + 1, st, ents(si + 1, st), si + 2],
    [si, st, ents(si + 1, st), si + 1],
    [si - 1, st, ents(si + 1, st), si + 1],
    [si + 1, st + 1, ents(si + 1, st), si + 1],
    [si, st + 1, ents(si + 1, st), si + 1],
    [si - 1, st + 1, ents(si + 1, st), si + 1],
  ];
  cases.forEach(([index, term, es, want], n) => {
    const l = newLog(storageAt(si, st), discardLogger);
    l.append(es);
    l.stableTo({ term, index });
    assert.equal(l.unstable.offset, want, `case ${n}`);
  });
});

void test('RaftLog: entries left after successive storage compactions', () => {
  const cases: [number, number[], (number | 'compacted' | 'panic')[]][] = [
    [1000, [1001], ['panic']],
    [1000, [300, 500, 800, 900], [700, 500, 200, 100]],
    [1000, [300, 299], [700, 'compacted']],
  ];
  for (const [lastIndex, compacts, wleft] of cases) {
    const s = newMemoryStorage();
    s.append(termRange(1, 1, lastIndex + 1));
    const l = newLog(s, discardLogger);
    l.appliedTo(l.committed, 0);
    compacts.forEach((c, j) => {
      const w = wleft[j];
      if (w === 'panic') assert.throws(() => s.compact(c), RaftPanic);
      else if (w === 'compacted') assert.throws(() => s.compact(c), ErrCompacted);
      else {
        s.compact(c);
        assert.equal(l.allEntries().length, w);
      }
    });
  }
});

void test('RaftLog: a log over a restored storage starts after the snapshot', () => {
  const l = newLog(storageAt(1000, 1000), discardLogger);
  assert.equal(l.allEntries().length, 0);
  assert.equal(l.firstIndex(), 1001);
  assert.equal(l.committed, 1000);
  assert.equal(l.applied, 1000);
  assert.equal(l.unstable.offset, 1001);
  assert.equal(l.term(1000), 1000);
});

void test('RaftLog.restore: logs the old state and adopts the snapshot', () => {
  const log = recorder();
  const l = newLog(newMemoryStorage(), log);
  l.append(ents(1, 1, 1));
  l.restore(snap(10, 2));
  assert.deepEqual(log.lines, [
    'log [committed=0, applied=0, applying=0, unstable.offset=1, unstable.offsetInProgress=1, len(unstable.Entries)=2] starts to restore snapshot [index: 10, term: 2]',
  ]);
  assert.equal(l.committed, 10);
  assert.equal(l.lastIndex(), 10);
  assert.equal(l.firstIndex(), 11);
  assert.deepEqual(l.lastEntryID(), { term: 2, index: 10 });
  assert.ok(l.hasNextUnstableSnapshot());
  assert.deepEqual(l.snapshot(), snap(10, 2));
  assert.deepEqual(l.nextUnstableSnapshot(), snap(10, 2));
  l.acceptUnstable();
  assert.equal(l.hasNextUnstableSnapshot(), false);
  assert.ok(l.hasNextOrInProgressSnapshot());
  l.stableSnapTo(10);
  assert.equal(l.hasNextOrInProgressSnapshot(), false);
});

void test('RaftLog.mustCheckOutOfBounds', () => {
  const [offset, num] = [100, 100];
  const l = newLog(storageAt(offset, 0), discardLogger);
  l.append(termRange(offset + 1, offset + 1, offset + num + 1));
  const first = offset + 1;
  const cases: [number, number, 'ok' | 'compacted' | 'panic'][] = [
    [first - 2, first + 1, 'compacted'],
    [first - 1, first + 1, 'compacted'],
    [first, first, 'ok'],
    [first + num / 2, first + num / 2, 'ok'],
    [first + num - 1, first + num - 1, 'ok'],
    [first + num, first + num, 'ok'],
    [first + num, first + num + 1, 'panic'],
    [first + num + 1, first + num + 1, 'panic'],
  ];
  for (const [lo, hi, want] of cases) {
    const f = (): void => l.mustCheckOutOfBounds(lo, hi);
    if (want === 'ok') f();
    else assert.throws(f, want === 'panic' ? RaftPanic : ErrCompacted);
  }
  assert.throws(() => l.mustCheckOutOfBounds(5, 4), /invalid slice 5 > 4/);
});

void test('RaftLog.term: compacted below firstIndex-1, unavailable past the end', () => {
  const [offset, num] = [100, 100];
  const l = newLog(storageAt(offset, 1), discardLogger);
  l.append(termRange(offset + 1, 1, num));
  const cases: [number, number | typeof ErrCompacted | typeof ErrUnavailable][] = [
    [offset - 1, ErrCompacted],
    [offset, 1],
    [offset + num / 2, num / 2],
    [offset + num - 1, num - 1],
    [offset + num, ErrUnavailable],
  ];
  for (const [i, want] of cases) {
    if (typeof want === 'number') assert.equal(l.term(i), want);
    else {
      assert.throws(() => l.term(i), want);
      assert.equal(l.zeroTermOnOutOfBounds(i), 0);
      assert.equal(
        l.zeroTermOnOutOfBounds(() => l.term(i)),
        0,
      );
      assert.equal(l.matchTerm({ term: 0, index: i }), false);
    }
  }
});

void test('RaftLog.term: with an unstable snapshot ahead of storage', () => {
  const l = newLog(storageAt(100, 1), discardLogger);
  l.restore(snap(105, 1));
  const cases: [number, number | typeof ErrCompacted | typeof ErrUnavailable][] = [
    [100, ErrCompacted],
    [101, ErrCompacted],
    [104, ErrCompacted],
    [105, 1],
    [106, ErrUnavailable],
  ];
  for (const [i, want] of cases) {
    if (typeof want === 'number') assert.equal(l.term(i), want);
    else assert.throws(() => l.term(i), want);
  }
});

void test('RaftLog.slice: spans storage and unstable, cut to maxSize', () => {
  const [offset, num] = [100, 100];
  const last = offset + num;
  const half = offset + num / 2;
  const range = (from: number, to: number): Entry[] => termRange(from, from, to);
  const sz = entrySize({ term: half, index: half, type: EntryType.EntryNormal });

  const s = storageAt(offset, 0);
  s.append(range(offset + 1, half));
  const l = newLog(s, discardLogger);
  l.append(range(half, last));

  const cases: [number, number, number, Entry[] | 'compacted' | 'panic'][] = [
    [offset - 1, offset + 1, noLimit, 'compacted'],
    [offset, offset + 1, noLimit, 'compacted'],
    [half, half - 1, noLimit, 'panic'],
    [last, last + 1, noLimit, 'panic'],
    // No limit.
    [offset + 1, offset + 1, noLimit, []],
    [offset + 1, half - 1, noLimit, range(offset + 1, half - 1)],
    [offset + 1, half, noLimit, range(offset + 1, half)],
    [offset + 1, half + 1, noLimit, range(offset + 1, half + 1)],
    [offset + 1, last, noLimit, range(offset + 1, last)],
    [half - 1, half, noLimit, range(half - 1, half)],
    [half - 1, half + 1, noLimit, range(half - 1, half + 1)],
    [half - 1, last, noLimit, range(half - 1, last)],
    [half, half + 1, noLimit, range(half, half + 1)],
    [half, last, noLimit, range(half, last)],
    [last - 1, last, noLimit, range(last - 1, last)],
    // At least one entry.
    [offset + 1, last, 0, range(offset + 1, offset + 2)],
    [half - 1, half + 1, 0, range(half - 1, half)],
    [half, last, 0, range(half, half + 1)],
    [half + 1, last, 0, range(half + 1, half + 2)],
    // Low limit.
    [offset + 1, last, sz - 1, range(offset + 1, offset + 2)],
    [half - 1, half + 1, sz - 1, range(half - 1, half)],
    [half, last, sz - 1, range(half, half + 1)],
    // Enough for one.
    [offset + 1, last, sz, range(offset + 1, offset + 2)],
    [half - 1, half + 1, sz, range(half - 1, half)],
    [half, last, sz, range(half, half + 1)],
    // Not enough for two.
    [offset + 1, last, sz + 1, range(offset + 1, offset + 2)],
    [half - 1, half + 1, sz + 1, range(half - 1, half)],
    [half, last, sz + 1, range(half, half + 1)],
    // Enough for two.
    [offset + 1, last, sz * 2, range(offset + 1, offset + 3)],
    [half - 2, half + 1, sz * 2, range(half - 2, half)],
    [half - 1, half + 1, sz * 2, range(half - 1, half + 1)],
    [half, last, sz * 2, range(half, half + 2)],
    // Not enough for three; enough for three.
    [half - 2, half + 1, sz * 3 - 1, range(half - 2, half)],
    [half - 1, half + 2, sz * 3, range(half - 1, half + 2)],
  ];
  cases.forEach(([lo, hi, max, want], n) => {
    const f = (): Entry[] => l.slice(lo, hi, max);
    if (want === 'compacted') assert.throws(f, ErrCompacted, `case ${n}`);
    else if (want === 'panic') assert.throws(f, RaftPanic, `case ${n}`);
    else assert.deepEqual(f(), want, `case ${n}`);
  });
});

void test('RaftLog.slice: results are owned by the caller', () => {
  const s = newMemoryStorage();
  s.append(ents(1, 1, 1));
  const l = newLog(s, discardLogger);
  l.append(ents(3, 1, 1));
  const mixed = l.slice(1, 5, noLimit);
  const unstableOnly = l.slice(3, 5, noLimit);
  mixed.push(...ents(5, 9));
  unstableOnly.length = 0;
  assert.deepEqual(l.allEntries(), ents(1, 1, 1, 1, 1));
  assert.equal(l.lastIndex(), 4);
});

void test('RaftLog.scan: pages concatenate to slice(); false stops early', () => {
  const [offset, num] = [47, 20];
  const last = offset + num;
  const half = offset + num / 2;
  const range = (from: number, to: number): Entry[] => termRange(from, from, to);
  const one = entsSize(range(half, half + 1));
  const s = storageAt(offset, 0);
  s.append(range(offset + 1, half));
  const l = newLog(s, discardLogger);
  l.append(range(half, last));

  for (const pageSize of [0, 1, 10, 100, one, one + 1]) {
    for (let lo = offset + 1; lo < last; lo++) {
      for (let hi = lo; hi <= last; hi++) {
        const got: Entry[] = [];
        l.scan(lo, hi, pageSize, (page) => {
          assert.ok(page.length === 1 || entsSize(page) <= pageSize);
          got.push(...page);
        });
        assert.deepEqual(got, l.slice(lo, hi, noLimit), `[${lo}, ${hi}) @ ${pageSize}`);
      }
    }
  }

  let iters = 0;
  l.scan(offset + 1, half, 0, () => ++iters < 2);
  assert.equal(iters, 2);
  assert.throws(
    () =>
      l.scan(offset + 1, half, 0, () => {
        throw new Error('stop');
      }),
    /stop/,
  );

  l.scan(offset + 1, offset + 11, one * 2, (page) => {
    assert.equal(page.length, 2);
    assert.equal(entsSize(page), one * 2);
  });
});

void test('RaftLog.lastEntryID / maybeCommit', () => {
  const l = logWith(ents(1, 1, 2, 2));
  assert.deepEqual(l.lastEntryID(), { term: 2, index: 3 });
  assert.equal(l.maybeCommit({ term: 0, index: 3 }), false, 'term 0 never matches');
  assert.equal(l.maybeCommit({ term: 1, index: 3 }), false, 'wrong term');
  assert.equal(l.maybeCommit({ term: 2, index: 3 }), true);
  assert.equal(l.committed, 3);
  assert.equal(l.maybeCommit({ term: 2, index: 2 }), false, 'not an advance');
});

void test('RaftLog.toString', () => {
  const l = logWith(ents(1, 1, 1));
  l.acceptUnstable();
  assert.equal(
    l.toString(),
    'committed=0, applied=0, applying=0, unstable.offset=1, unstable.offsetInProgress=3, len(unstable.Entries)=2',
  );
});
