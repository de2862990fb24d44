import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { JointConfig } from './joint.ts';
import { MajorityConfig } from './majority.ts';
import type { AckedIndexer } from './quorum.ts';
import { indexToString, mapAckIndexer, VoteResult, voteResultName } from './quorum.ts';

/** naiveCommitted tries every index from the largest acked one down to 0. */
function naiveCommitted(ids: readonly number[], acked: ReadonlyMap<number, number>): number {
  if (ids.length === 0) return Infinity;
  const q = Math.floor(ids.length / 2) + 1;
  const top = Math.max(0, ...ids.map((id) => acked.get(id) ?? 0));
  for (let candidate = top; candidate > 0; candidate--) {
    if (ids.filter((id) => (acked.get(id) ?? 0) >= candidate).length >= q) return candidate;
  }
  return 0;
}

/** naiveVote counts yes and no votes of the members directly. */
function naiveVote(ids: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  if (ids.length === 0) return VoteResult.VoteWon;
  const q = Math.floor(ids.length / 2) + 1;
  const yes = ids.filter((id) => votes.get(id) === true).length;
  const no = ids.filter((id) => votes.get(id) === false).length;
  if (yes >= q) return VoteResult.VoteWon;
  if (no > ids.length - q) return VoteResult.VoteLost;
  return VoteResult.VotePending;
}

/** Up to 12 distinct ids out of 1..20. */
const arbIds = fc.uniqueArray(fc.integer({ min: 1, max: 20 }), { maxLength: 12 });
/** Acked indexes for some ids (ids outside any config included). */
const arbAcked = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 15 })), {
    maxLength: 20,
  })
  .map((pairs) => new Map(pairs));
const arbVotes = fc
  .array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.boolean()), { maxLength: 20 })
  .map((pairs) => new Map(pairs));

void describe('MajorityConfig', () => {
  void it('prints ids ascending in hex', () => {
    assert.equal(new MajorityConfig([3, 1, 2]).toString(), '(1 2 3)');
    assert.equal(new MajorityConfig([255, 10, 16]).toString(), '(a 10 ff)');
    assert.equal(new MajorityConfig().toString(), '()');
  });

  void it('slice returns a sorted copy', () => {
    const c = new MajorityConfig([9, 2, 5]);
    const s = c.slice();
    assert.deepEqual(s, [2, 5, 9]);
    s.push(1);
    assert.deepEqual(c.slice(), [2, 5, 9]);
  });

  void it('describe draws the etcd diagram', () => {
    const c = new MajorityConfig([1, 2, 3]);
    const cases: [Map<number, number>, string][] = [
      [
        new Map([
          [1, 101],
          [2, 102],
          [3, 103],
        ]),
        '       idx\n>      101    (id=1)\nx>     102    (id=2)\nxx>    103    (id=3)\n',
      ],
      [
        new Map([
          [1, 100],
          [2, 100],
          [3, 100],
        ]),
        '       idx\n>      100    (id=1)\n>      100    (id=2)\n>      100    (id=3)\n',
      ],
      [
        new Map([
          [1, 100],
          [2, 102],
          [3, 102],
        ]),
        '       idx\n>      100    (id=1)\nx>     102    (id=2)\nx>     102    (id=3)\n',
      ],
      [
        new Map([
          [1, 101],
          [3, 103],
        ]),
        '       idx\nx>     101    (id=1)\n?        0    (id=2)\nxx>    103    (id=3)\n',
      ],
    ];
    for (const [acked, want] of cases) assert.equal(c.describe(mapAckIndexer(acked)), want);
    assert.equal(
      new MajorityConfig().describe(mapAckIndexer(new Map())),
      '<empty majority quorum>',
    );
  });

  void it('the empty config commits everything and wins every vote', () => {
    const c = new MajorityConfig();
    assert.equal(c.committedIndex(mapAckIndexer(new Map())), Infinity);
    assert.equal(indexToString(Infinity), '∞');
    assert.equal(c.voteResult(new Map()), VoteResult.VoteWon);
  });

  void it('committedIndex agrees with the naive computation', () => {
    fc.assert(
      fc.property(arbIds, arbAcked, (ids, acked) => {
        const got = new MajorityConfig(ids).committedIndex(mapAckIndexer(acked));
        assert.equal(got, naiveCommitted(ids, acked));
      }),
      { numRuns: 5000 },
    );
  });

  void it('committedIndex stays right as the config is mutated', () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 12 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), arbAcked, (ops, acked) => {
        const c = new MajorityConfig();
        const model = new Set<number>();
        const l = mapAckIndexer(acked);
        for (const [add, id] of ops) {
          if (add) {
            c.add(id);
            model.add(id);
          } else {
            assert.equal(c.delete(id), model.delete(id));
          }
          assert.equal(c.size(), model.size);
          assert.equal(c.committedIndex(l), naiveCommitted([...model], acked));
        }
      }),
    );
  });

  void it('committedIndex is correct past the insertion-sort threshold', () => {
    const ids = Array.from({ length: 40 }, (_, i) => i + 1);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 40, maxLength: 40 }),
        (idx) => {
          const acked = new Map(ids.map((id, i) => [id, idx[i]!]));
          assert.equal(
            new MajorityConfig(ids).committedIndex(mapAckIndexer(acked)),
            naiveCommitted(ids, acked),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  void it('voteResult agrees with the naive count', () => {
    fc.assert(
      fc.property(arbIds, arbVotes, (ids, votes) => {
        assert.equal(new MajorityConfig(ids).voteResult(votes), naiveVote(ids, votes));
      }),
      { numRuns: 5000 },
    );
  });

  void it('names vote results', () => {
    assert.equal(voteResultName(VoteResult.VotePending), 'VotePending');
    assert.equal(voteResultName(VoteResult.VoteLost), 'VoteLost');
    assert.equal(voteResultName(VoteResult.VoteWon), 'VoteWon');
  });
});

void describe('JointConfig', () => {
  void it('prints the outgoing half only when joint', () => {
    assert.equal(new JointConfig(new MajorityConfig([1, 2])).toString(), '(1 2)');
    const j = new JointConfig(new MajorityConfig([1, 2]), new MajorityConfig([3]));
    assert.equal(j.toString(), '(1 2)&&(3)');
    assert.equal(j.isJoint(), true);
    assert.deepEqual([...j.ids()].sort(), [1, 2, 3]);
  });

  void it('a half that is empty or equal to the other changes nothing', () => {
    fc.assert(
      fc.property(arbIds, arbAcked, arbVotes, (ids, acked, votes) => {
        const c = new MajorityConfig(ids);
        const l: AckedIndexer = mapAckIndexer(acked);
        for (const j of [new JointConfig(c), new JointConfig(c, c.clone())]) {
          assert.equal(j.committedIndex(l), c.committedIndex(l));
          assert.equal(j.voteResult(votes), c.voteResult(votes));
        }
      }),
    );
  });

  void it('needs both halves, and is symmetric', () => {
    fc.assert(
      fc.property(arbIds, arbIds, arbAcked, arbVotes, (a, b, acked, votes) => {
        const ca = new MajorityConfig(a);
        const cb = new MajorityConfig(b);
        const l = mapAckIndexer(acked);
        const j = new JointConfig(ca, cb);
        const want = Math.min(naiveCommitted(a, acked), naiveCommitted(b, acked));
        assert.equal(j.committedIndex(l), want);
        assert.equal(new JointConfig(cb, ca).committedIndex(l), want);
        const ra = naiveVote(a, votes);
        const rb = naiveVote(b, votes);
        const r = j.voteResult(votes);
        assert.equal(r, new JointConfig(cb, ca).voteResult(votes));
        if (ra === VoteResult.VoteLost || rb === VoteResult.VoteLost)
          assert.equal(r, VoteResult.VoteLost);
        else if (ra === VoteResult.VoteWon && rb === VoteResult.VoteWon)
          assert.equal(r, VoteResult.VoteWon);
        else assert.equal(r, VoteResult.VotePending);
      }),
      { numRuns: 3000 },
    );
  });

  void it('clone is independent', () => {
    const j = new JointConfig(new MajorityConfig([1]), new MajorityConfig([2]));
    const k = j.clone();
    k.incoming.add(5);
    k.outgoing.clear();
    assert.equal(j.toString(), '(1)&&(2)');
    assert.equal(k.toString(), '(1 5)');
  });
});
