/**
 * Test support for the WAL (used by the *.test.ts files and the kill -9 child; not part of
 * the public API): a seeded workload of raft-like writes, a model of the state each prefix
 * of it produces, and a check that a reopened storage holds one of the states a crash may
 * leave.
 */
import { deepStrictEqual } from 'node:assert/strict';
import type { Entry, HardState, Snapshot } from '../raftpb/types.ts';
import type { DiskStorage } from './storage.ts';

/** Step is one call on DiskStorage. */
export type Step =
  | { kind: 'save'; hardState?: HardState; entries: Entry[]; snapshot?: Snapshot }
  | { kind: 'createSnapshot'; snapshot: Snapshot }
  | { kind: 'compact'; index: number };

/** rng returns a seeded PRNG (mulberry32) yielding floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const voters = (): Snapshot['metadata']['confState'] => ({
  voters: [1, 2, 3],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

/** payload returns deterministic, mostly non-zero bytes for entry (index, term). */
export function payload(index: number, term: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  let x = (index * 2654435761 + term * 40503) >>> 0;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * makeWorkload returns groups of steps; the steps of a group are issued without waiting
 * (so they share fsyncs), groups one after the other. The steps follow raft's rules: a
 * conflicting suffix never reaches below the commit index, snapshots are taken at the
 * commit index, leader snapshots land past the log.
 */
export function makeWorkload(seed: number, groups: number, maxPayload = 40): Step[][] {
  const r = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  let term = 1;
  let last = 0;
  let commit = 0;
  let snap = 0;
  let compacted = 0;
  const terms = new Map<number, number>();
  const out: Step[][] = [];
  const entries = (from: number, n: number): Entry[] =>
    Array.from({ length: n }, (_, k) => {
      terms.set(from + k, term);
      return {
        term,
        index: from + k,
        type: 0 as const,
        data: payload(from + k, term, int(0, maxPayload)),
      };
    });
  for (let g = 0; g < groups; g++) {
    const group: Step[] = [];
    for (let n = int(1, 4); n > 0; n--) {
      const x = r();
      if (x < 0.55 || last === 0) {
        const es = entries(last + 1, int(1, 4));
        last += es.length;
        commit = int(commit, last);
        group.push({ kind: 'save', hardState: { term, vote: 1, commit }, entries: es });
      } else if (x < 0.68 && commit < last) {
        term++;
        const from = int(commit + 1, last);
        const es = entries(from, int(1, 3));
        last = from + es.length - 1;
        group.push({ kind: 'save', hardState: { term, vote: 2, commit }, entries: es });
      } else if (x < 0.78 && commit > snap) {
        snap = commit;
        const md = { index: snap, term: terms.get(snap) ?? 0, confState: voters() };
        group.push({
          kind: 'createSnapshot',
          snapshot: { metadata: md, data: payload(snap, 0, 16) },
        });
      } else if (x < 0.84 && snap > compacted) {
        compacted = int(compacted + 1, snap);
        group.push({ kind: 'compact', index: compacted });
      } else if (x < 0.9) {
        term++;
        const index = last + int(1, 3);
        last = commit = snap = compacted = index;
        terms.set(index, term);
        const md = { index, term, confState: voters() };
        const hs = { term, vote: 0, commit: index };
        group.push({
          kind: 'save',
          hardState: hs,
          entries: [],
          snapshot: { metadata: md, data: payload(index, term, 24) },
        });
      } else {
        commit = int(commit, last);
        group.push({ kind: 'save', hardState: { term, vote: 1, commit }, entries: [] });
      }
    }
    out.push(group);
  }
  return out;
}

/** issue runs one step on s. */
export function issue(s: DiskStorage, step: Step): Promise<void> {
  if (step.kind === 'save') return s.save(step.hardState, step.entries, step.snapshot);
  if (step.kind === 'compact') return s.compactTo(step.index);
  return s.createSnapshot(step.snapshot);
}

/** Model is the state a reopened storage should show after some prefix of the steps. */
export class Model {
  snap: Snapshot = {
    metadata: {
      index: 0,
      term: 0,
      confState: {
        voters: [],
        learners: [],
        votersOutgoing: [],
        learnersNext: [],
        autoLeave: false,
      },
    },
  };
  hs: HardState = { term: 0, vote: 0, commit: 0 };
  /**
   * syncedCommit is the commit index as of the last step the WAL had to fdatasync. Steps
   * that only move the commit index are written but not synced (etcd's MustSync), so a
   * crash may take the recovered commit back to anywhere in [syncedCommit, hs.commit].
   */
  syncedCommit = 0;
  last = 0;
  private dummy = 0;
  private readonly ents = new Map<number, Entry>();

  /** apply applies a whole step. */
  apply(step: Step): void {
    if (step.kind === 'compact') return;
    if (step.kind === 'createSnapshot') {
      this.snap = step.snapshot;
      this.syncedCommit = this.hs.commit;
      return;
    }
    const hs = step.hardState;
    const synced =
      step.snapshot !== undefined ||
      step.entries.length > 0 ||
      (hs !== undefined && (hs.term !== this.hs.term || hs.vote !== this.hs.vote));
    if (step.snapshot !== undefined) {
      this.snap = step.snapshot;
      this.ents.clear();
      this.last = this.dummy = step.snapshot.metadata.index;
      this.hs = { ...this.hs, commit: Math.max(this.hs.commit, this.last) };
    }
    this.append(step.entries);
    if (step.hardState !== undefined) this.hs = { ...step.hardState };
    if (synced) this.syncedCommit = this.hs.commit;
  }

  /** append appends entries as the WAL replays them. */
  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.index <= this.dummy) continue;
      for (let i = e.index; i <= this.last; i++) this.ents.delete(i);
      this.ents.set(e.index, e);
      this.last = e.index;
    }
  }

  /** clone returns an independent copy. */
  clone(): Model {
    const m = new Model();
    m.snap = this.snap;
    m.hs = { ...this.hs };
    m.syncedCommit = this.syncedCommit;
    m.last = this.last;
    m.dummy = this.dummy;
    for (const [k, v] of this.ents) m.ents.set(k, v);
    return m;
  }

  /** mismatch returns why s differs from this state, or undefined if it matches. */
  mismatch(s: DiskStorage): string | undefined {
    const si = this.snap.metadata.index;
    const hs = { ...this.hs, commit: Math.max(this.hs.commit, si) };
    // An unsynced commit-only HardState may be lost: any commit since the last sync will do.
    const got = s.initialState().hardState.commit;
    if (got >= Math.max(this.syncedCommit, si) && got <= hs.commit) hs.commit = got;
    try {
      deepStrictEqual(s.snapshot().metadata, this.snap.metadata, 'snapshot metadata');
      deepStrictEqual(s.snapshot().data, this.snap.data, 'snapshot data');
      deepStrictEqual(s.initialState().hardState, hs, 'hard state');
      deepStrictEqual([s.firstIndex(), s.lastIndex()], [si + 1, this.last], 'first/last index');
      if (this.last > si) {
        const got = s.entries(si + 1, this.last + 1, Infinity);
        const want = Array.from({ length: this.last - si }, (_, k) => this.ents.get(si + 1 + k));
        deepStrictEqual(got, want, 'entries');
      }
    } catch (err) {
      return (err as Error).message.split('\n')[0];
    }
    return undefined;
  }
}

/**
 * checkRecovered asserts that s holds a state a crash may leave after `steps` were issued
 * in order and the first `acked` of them were acknowledged: every step up to some j >= acked
 * complete, plus possibly a prefix of step j's entries (a torn batch keeps a prefix).
 * Returns the j that matched; throws with the closest mismatch otherwise.
 */
export function checkRecovered(s: DiskStorage, steps: readonly Step[], acked: number): number {
  const m = new Model();
  for (let j = 0; j < acked; j++) m.apply(steps[j] as Step);
  let why = '';
  for (let j = acked; ; j++) {
    const w = m.mismatch(s);
    if (w === undefined) return j;
    why = `after ${j} steps: ${w}`;
    const step = steps[j];
    if (step === undefined) break;
    if (step.kind === 'save' && step.snapshot === undefined) {
      for (let p = 1; p <= step.entries.length; p++) {
        const partial = m.clone();
        partial.append(step.entries.slice(0, p));
        if (partial.mismatch(s) === undefined) return j;
      }
    }
    m.apply(step);
  }
  throw new Error(`recovered state matches no possible crash state (acked ${acked}); ${why}`);
}
