import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { confStateEquivalent } from './confstate.ts';
import type { ConfState } from './types.ts';

const cs = (
  voters: number[],
  learners: number[] = [],
  votersOutgoing: number[] = [],
  learnersNext: number[] = [],
  autoLeave = false,
): ConfState => ({ voters, learners, votersOutgoing, learnersNext, autoLeave });

void test('confStateEquivalent ignores order within each list', () => {
  assert.equal(confStateEquivalent(cs([1, 2, 3]), cs([3, 1, 2])), null);
  assert.equal(
    confStateEquivalent(
      cs([1, 2], [4, 3], [2, 1], [3], true),
      cs([2, 1], [3, 4], [1, 2], [3], true),
    ),
    null,
  );
  assert.equal(confStateEquivalent(cs([]), cs([])), null);
  assert.equal(confStateEquivalent(cs([10, 9]), cs([9, 10])), null, 'numeric, not string, sort');
});

void test('confStateEquivalent reports each difference', () => {
  const cases: [ConfState, ConfState, RegExp][] = [
    [cs([1, 2]), cs([1, 3]), /\(voters differ\)/],
    [cs([1]), cs([1, 1]), /\(voters differ\)/],
    [cs([1], [2]), cs([1]), /\(learners differ\)/],
    [cs([1], [], [2]), cs([1]), /\(votersOutgoing differ\)/],
    [cs([1], [], [2], [3]), cs([1], [], [2]), /\(learnersNext differ\)/],
    [cs([1], [], [], [], true), cs([1]), /\(autoLeave differ\)/],
    [cs([1], [2]), cs([2], [1]), /\(voters, learners differ\)/],
  ];
  for (const [a, b, re] of cases) {
    const err = confStateEquivalent(a, b);
    assert.ok(err instanceof Error);
    assert.match(err.message, re);
    assert.match(err.message, /Inputs were:/);
  }
  const err = confStateEquivalent(cs([3, 1]), cs([2]));
  assert.match(
    err?.message ?? '',
    /voters=\[1 3\].*\n.*voters=\[2\].*\nInputs were:\n.*voters=\[3 1\]/,
  );
});

void test('confStateEquivalent does not modify its inputs and is symmetric', () => {
  const ids = fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 4 });
  const arb = fc
    .tuple(ids, ids, ids, ids, fc.boolean())
    .map(([v, l, vo, ln, al]) => cs(v, l, vo, ln, al));
  fc.assert(
    fc.property(arb, arb, (a, b) => {
      const before = JSON.stringify([a, b]);
      const ab = confStateEquivalent(a, b);
      assert.equal(JSON.stringify([a, b]), before);
      assert.equal(ab === null, confStateEquivalent(b, a) === null);
      const shuffled = cs(
        [...a.voters].reverse(),
        a.learners,
        a.votersOutgoing,
        a.learnersNext,
        a.autoLeave,
      );
      assert.equal(confStateEquivalent(a, shuffled), null);
    }),
  );
});
