import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType } from '../raftpb/types.ts';
import type { Entry, Snapshot } from '../raftpb/types.ts';
import { newConfState } from '../raftpb/types.ts';
import { RaftPanic } from './logger.ts';
import type { Logger } from './logger.ts';
import { Unstable } from './log_unstable.ts';

/** ents returns entries at consecutive indexes from first, with the given terms. */
function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: first + i, type: EntryType.EntryNormal }));
}

function snap(index: number, term: number): Snapshot {
  return { metadata: { confState: newConfState(), index, term } };
}

/** recorder returns a Logger that keeps its info lines. */
function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string): void => {
    lines.push(m);
  };
  return { lines, debug: keep, info: keep, warning: keep, error: keep, fatal: keep, panic: keep };
}

interface State {
  entries?: Entry[];
  offset?: number;
  offsetInProgress?: number;
  snapshot?: Snapshot;
  snapshotInProgress?: boolean;
}

function unstable(s: State, logger: Logger = recorder()): Unstable {
  const u = new Unstable(logger, s.offset ?? 0);
  u.entries = s.entries ?? [];
  u.offsetInProgress = s.offsetInProgress ?? u.offset;
  u.snapshot = s.snapshot;
  u.snapshotInProgress = s.snapshotInProgress ?? false;
  return u;
}

void test('Unstable.maybeFirstIndex: only a snapshot knows the first index', () => {
  const cases: [State, number | undefined][] = [
    [{ entries: ents(5, 1), offset: 5 }, undefined],
    [{}, undefined],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 5],
    [{ offset: 5, snapshot: snap(4, 1) }, 5],
  ];
  for (const [s, want] of cases) assert.equal(unstable(s).maybeFirstIndex(), want);
});

void test('Unstable.maybeLastIndex: last entry, else snapshot, else unknown', () => {
  const cases: [State, number | undefined][] = [
    [{ entries: ents(5, 1), offset: 5 }, 5],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 5],
    [{ offset: 5, snapshot: snap(4, 1) }, 4],
    [{}, undefined],
  ];
  for (const [s, want] of cases) assert.equal(unstable(s).maybeLastIndex(), want);
});

void test('Unstable.maybeTerm: from entries or from the snapshot index', () => {
  const cases: [State, number, number | undefined][] = [
    [{ entries: ents(5, 1), offset: 5 }, 5, 1],
    [{ entries: ents(5, 1), offset: 5 }, 6, undefined],
    [{ entries: ents(5, 1), offset: 5 }, 4, undefined],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 5, 1],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 6, undefined],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 4, 1],
    [{ entries: ents(5, 1), offset: 5, snapshot: snap(4, 1) }, 3, undefined],
    [{ offset: 5, snapshot: snap(4, 1) }, 5, undefined],
    [{ offset: 5, snapshot: snap(4, 1) }, 4, 1],
    [{}, 5, undefined],
  ];
  cases.forEach(([s, i, want], n) => assert.equal(unstable(s).maybeTerm(i), want, `case ${n}`));
});

void test('Unstable.restore: the log restarts after the snapshot', () => {
  const u = unstable({
    entries: ents(5, 1),
    offset: 5,
    offsetInProgress: 6,
    snapshot: snap(4, 1),
    snapshotInProgress: true,
  });
  const s = snap(6, 2);
  u.restore(s);
  assert.equal(u.offset, 7);
  assert.equal(u.offsetInProgress, 7);
  assert.equal(u.entries.length, 0);
  assert.deepEqual(u.snapshot, s);
  assert.notEqual(u.snapshot, s, 'restore keeps its own copy');
  assert.equal(u.snapshotInProgress, false);
});

void test('Unstable.nextEntries: entries not yet in progress, as a copy', () => {
  const cases: [State, Entry[]][] = [
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 5 }, ents(5, 1, 1)],
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 6 }, ents(6, 1)],
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 7 }, []],
  ];
  for (const [s, want] of cases) {
    const u = unstable(s);
    const got = u.nextEntries();
    assert.deepEqual(got, want);
    assert.equal(u.hasNextEntries(), want.length > 0);
    assert.notEqual(got, u.entries);
  }
});

void test('Unstable.nextSnapshot: only when not already in progress', () => {
  const s = snap(4, 1);
  const cases: [Snapshot | undefined, boolean, Snapshot | undefined][] = [
    [undefined, false, undefined],
    [s, false, s],
    [s, true, undefined],
  ];
  for (const [sn, inProgress, want] of cases) {
    const st: State = { snapshotInProgress: inProgress };
    if (sn !== undefined) st.snapshot = sn;
    const u = unstable(st);
    assert.deepEqual(u.nextSnapshot(), want);
    assert.equal(u.hasNextSnapshot(), want !== undefined);
  }
});

void test('Unstable.acceptInProgress: marks all entries and the snapshot', () => {
  // [entries, with snapshot, offsetInProgress, snapshotInProgress] -> [offsetInProgress, snapshotInProgress]
  const cases: [Entry[], boolean, number, boolean, number, boolean][] = [];
  for (const withSnap of [false, true]) {
    for (const snapInProgress of withSnap ? [false, true] : [false]) {
      const wsnap = withSnap;
      cases.push(
        [[], withSnap, 5, snapInProgress, 5, wsnap],
        [ents(5, 1), withSnap, 5, snapInProgress, 6, wsnap],
        [ents(5, 1, 1), withSnap, 5, snapInProgress, 7, wsnap],
        [ents(5, 1, 1), withSnap, 6, snapInProgress, 7, wsnap],
        [ents(5, 1, 1), withSnap, 7, snapInProgress, 7, wsnap],
      );
    }
  }
  for (const [es, withSnap, oip, sip, woip, wsip] of cases) {
    const st: State = { entries: es, offset: 5, offsetInProgress: oip, snapshotInProgress: sip };
    if (withSnap) st.snapshot = snap(4, 1);
    const u = unstable(st);
    u.acceptInProgress();
    assert.equal(u.offsetInProgress, woip);
    assert.equal(u.snapshotInProgress, wsip);
  }
});

void test('Unstable.stableTo: drops durable entries, ignores stale or unknown IDs', () => {
  // state, (index, term) -> offset, offsetInProgress, remaining entries, logged line
  const cases: [State, number, number, number, number, number, string | undefined][] = [
    [{}, 5, 1, 0, 0, 0, 'entry at index 5 missing from unstable log; ignoring'],
    [{ entries: ents(5, 1), offset: 5, offsetInProgress: 6 }, 5, 1, 6, 6, 0, undefined],
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 6 }, 5, 1, 6, 6, 1, undefined],
    [{ entries: ents(5, 1, 1), offset: 5, offsetInProgress: 7 }, 5, 1, 6, 7, 1, undefined],
    [
      { entries: ents(6, 2), offset: 6, offsetInProgress: 7 },
      6,
      1,
      6,
      7,
      1,
      'entry at (index,term)=(6,1) mismatched with entry at (6,2) in unstable log; ignoring',
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 6 },
      4,
      1,
      5,
      6,
      1,
      'entry at index 4 missing from unstable log; ignoring',
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 6 },
      4,
      2,
      5,
      6,
      1,
      'entry at index 4 missing from unstable log; ignoring',
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1) },
      5,
      1,
      6,
      6,
      0,
      undefined,
    ],
    [
      { entries: ents(5, 1, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1) },
      5,
      1,
      6,
      6,
      1,
      undefined,
    ],
    [
      { entries: ents(5, 1, 1), offset: 5, offsetInProgress: 7, snapshot: snap(4, 1) },
      5,
      1,
      6,
      7,
      1,
      undefined,
    ],
    [
      { entries: ents(6, 2), offset: 6, offsetInProgress: 7, snapshot: snap(5, 1) },
      6,
      1,
      6,
      7,
      1,
      'entry at (index,term)=(6,1) mismatched with entry at (6,2) in unstable log; ignoring',
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1) },
      4,
      1,
      5,
      6,
      1,
      'entry at index 4 matched unstable snapshot; ignoring',
    ],
    [
      { entries: ents(5, 2), offset: 5, offsetInProgress: 6, snapshot: snap(4, 2) },
      4,
      1,
      5,
      6,
      1,
      'entry at index 4 matched unstable snapshot; ignoring',
    ],
  ];
  cases.forEach(([s, index, term, woff, woip, wlen, wlog], n) => {
    const log = recorder();
    const u = unstable(s, log);
    u.stableTo({ index, term });
    assert.equal(u.offset, woff, `case ${n} offset`);
    assert.equal(u.offsetInProgress, woip, `case ${n} offsetInProgress`);
    assert.equal(u.entries.length, wlen, `case ${n} len`);
    assert.deepEqual(log.lines, wlog === undefined ? [] : [wlog], `case ${n} log`);
  });
});

void test('Unstable.truncateAndAppend: append, replace, or truncate then append', () => {
  // state, appended -> offset, offsetInProgress, entries, logged line
  const cases: [State, Entry[], number, number, Entry[], string | undefined][] = [
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 5 },
      ents(6, 1, 1),
      5,
      5,
      ents(5, 1, 1, 1),
      undefined,
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 6 },
      ents(6, 1, 1),
      5,
      6,
      ents(5, 1, 1, 1),
      undefined,
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 5 },
      ents(5, 2, 2),
      5,
      5,
      ents(5, 2, 2),
      'replace the unstable entries from index 5',
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 5 },
      ents(4, 2, 2, 2),
      4,
      4,
      ents(4, 2, 2, 2),
      'replace the unstable entries from index 4',
    ],
    [
      { entries: ents(5, 1), offset: 5, offsetInProgress: 6 },
      ents(5, 2, 2),
      5,
      5,
      ents(5, 2, 2),
      'replace the unstable entries from index 5',
    ],
    [
      { entries: ents(5, 1, 1, 1), offset: 5, offsetInProgress: 5 },
      ents(6, 2),
      5,
      5,
      ents(5, 1, 2),
      'truncate the unstable entries before index 6',
    ],
    [
      { entries: ents(5, 1, 1, 1), offset: 5, offsetInProgress: 5 },
      ents(7, 2, 2),
      5,
      5,
      ents(5, 1, 1, 2, 2),
      'truncate the unstable entries before index 7',
    ],
    [
      { entries: ents(5, 1, 1, 1), offset: 5, offsetInProgress: 6 },
      ents(6, 2),
      5,
      6,
      ents(5, 1, 2),
      'truncate the unstable entries before index 6',
    ],
    [
      { entries: ents(5, 1, 1, 1), offset: 5, offsetInProgress: 7 },
      ents(6, 2),
      5,
      6,
      ents(5, 1, 2),
      'truncate the unstable entries before index 6',
    ],
  ];
  cases.forEach(([s, toAppend, woff, woip, wents, wlog], n) => {
    const log = recorder();
    const u = unstable(s, log);
    u.truncateAndAppend(toAppend);
    assert.equal(u.offset, woff, `case ${n} offset`);
    assert.equal(u.offsetInProgress, woip, `case ${n} offsetInProgress`);
    assert.deepEqual(u.entries, wents, `case ${n} entries`);
    assert.deepEqual(log.lines, wlog === undefined ? [] : [wlog], `case ${n} log`);
  });
});

void test('Unstable.truncateAndAppend: never aliases the caller array', () => {
  const u = unstable({ entries: ents(5, 1), offset: 5 });
  const replacement = ents(5, 2);
  u.truncateAndAppend(replacement);
  u.truncateAndAppend(ents(6, 2));
  assert.equal(replacement.length, 1, "the caller's array did not grow");
});

void test('Unstable: arrays handed out do not change when the log changes', () => {
  const u = unstable({ entries: ents(5, 1, 1), offset: 5 });
  const next = u.nextEntries();
  const sl = u.slice(5, 7);
  u.truncateAndAppend(ents(6, 2));
  u.truncateAndAppend(ents(7, 2));
  assert.deepEqual(next, ents(5, 1, 1));
  assert.deepEqual(sl, ents(5, 1, 1));
});

void test('Unstable.slice / sliceLimited: bounds are checked', () => {
  const u = unstable({ entries: ents(5, 1, 1, 2), offset: 5 });
  assert.deepEqual(u.slice(6, 8), ents(6, 1, 2));
  assert.deepEqual(u.slice(5, 5), []);
  assert.deepEqual(u.sliceLimited(5, 8, 0), ents(5, 1));
  assert.deepEqual(u.sliceLimited(5, 8, Number.POSITIVE_INFINITY), ents(5, 1, 1, 2));
  assert.throws(
    () => u.slice(7, 6),
    (e) => e instanceof RaftPanic && /invalid unstable\.slice 7 > 6/.test(e.message),
  );
  assert.throws(() => u.slice(4, 6), /unstable\.slice\[4,6\) out of bound \[5,8\]/);
  assert.throws(() => u.slice(6, 9), /unstable\.slice\[6,9\) out of bound \[5,8\]/);
});

void test('Unstable.truncateAndAppend: a gap after the last entry panics', () => {
  const u = unstable({ entries: ents(5, 1), offset: 5 });
  assert.throws(() => u.truncateAndAppend(ents(8, 1)), RaftPanic);
});

void test('Unstable.stableSnapTo: only the matching snapshot is dropped', () => {
  const u = unstable({ offset: 5, snapshot: snap(4, 1), snapshotInProgress: true });
  u.stableSnapTo(3);
  assert.notEqual(u.snapshot, undefined);
  u.stableSnapTo(4);
  assert.equal(u.snapshot, undefined);
  assert.equal(u.snapshotInProgress, false);
});
