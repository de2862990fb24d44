import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';

import fc from 'fast-check';

import { decodeConfChange, decodeConfChangeV2, encodeConfChange } from './codec.ts';
import {
  confChangeAsV2,
  confChangesFromString,
  confChangesToString,
  enterJoint,
  isConfChangeV2,
  leaveJoint,
  marshalConfChange,
} from './confchange.ts';
import { ConfChangeTransition, ConfChangeType, EntryType } from './types.ts';
import type { ConfChange, ConfChangeSingle, ConfChangeV2 } from './types.ts';

const { ConfChangeAddNode, ConfChangeRemoveNode, ConfChangeUpdateNode, ConfChangeAddLearnerNode } =
  ConfChangeType;
const {
  ConfChangeTransitionAuto,
  ConfChangeTransitionJointImplicit,
  ConfChangeTransitionJointExplicit,
} = ConfChangeTransition;

const v2 = (transition: ConfChangeTransition, n: number): ConfChangeV2 => ({
  transition,
  changes: Array.from({ length: n }, (_, i) => ({ type: ConfChangeAddNode, nodeId: i + 1 })),
  context: undefined,
});

void test('confChangeAsV2: v1 becomes one Auto change with the same context; v2 is kept', () => {
  const ctx = Uint8Array.of(7);
  const cc: ConfChange = { type: ConfChangeRemoveNode, nodeId: 3, context: ctx, id: 99 };
  assert.deepStrictEqual(confChangeAsV2(cc), {
    transition: ConfChangeTransitionAuto,
    changes: [{ type: ConfChangeRemoveNode, nodeId: 3 }],
    context: ctx,
  });
  const c2 = v2(ConfChangeTransitionJointExplicit, 2);
  assert.equal(confChangeAsV2(c2), c2);
  assert.ok(isConfChangeV2(c2));
  assert.ok(!isConfChangeV2(cc));
});

void test('enterJoint and leaveJoint', () => {
  // [transition, number of changes, autoLeave, ok, leaveJoint]
  const cases: [ConfChangeTransition, number, boolean, boolean, boolean][] = [
    [ConfChangeTransitionAuto, 0, false, false, true],
    [ConfChangeTransitionAuto, 1, false, false, false],
    [ConfChangeTransitionAuto, 2, true, true, false],
    [ConfChangeTransitionJointImplicit, 0, true, true, false],
    [ConfChangeTransitionJointImplicit, 1, true, true, false],
    [ConfChangeTransitionJointImplicit, 3, true, true, false],
    [ConfChangeTransitionJointExplicit, 0, false, true, false],
    [ConfChangeTransitionJointExplicit, 1, false, true, false],
    [ConfChangeTransitionJointExplicit, 2, false, true, false],
  ];
  for (const [t, n, autoLeave, ok, leave] of cases) {
    const cc = v2(t, n);
    assert.deepStrictEqual(enterJoint(cc), { autoLeave, ok }, `${t}/${n}`);
    assert.equal(leaveJoint(cc), leave, `${t}/${n}`);
  }
  const withContext = { ...v2(ConfChangeTransitionAuto, 0), context: Uint8Array.of(1) };
  assert.ok(leaveJoint(withContext), 'the context does not matter');
  assert.throws(() => enterJoint(v2(7 as ConfChangeTransition, 1)), /unknown transition: 7/);
});

void test('confChangesFromString parses the operations', () => {
  assert.deepStrictEqual(confChangesFromString(''), []);
  assert.deepStrictEqual(confChangesFromString('   '), []);
  assert.deepStrictEqual(confChangesFromString(' v1 l2 r3 u4 v9007199254740991 '), [
    { type: ConfChangeAddNode, nodeId: 1 },
    { type: ConfChangeAddLearnerNode, nodeId: 2 },
    { type: ConfChangeRemoveNode, nodeId: 3 },
    { type: ConfChangeUpdateNode, nodeId: 4 },
    { type: ConfChangeAddNode, nodeId: 9007199254740991 },
  ]);
  assert.deepStrictEqual(confChangesFromString('v007'), [{ type: ConfChangeAddNode, nodeId: 7 }]);
});

void test('confChangesFromString errors read like etcd-raft', () => {
  const cases: [string, string][] = [
    ['v', 'unknown token v'],
    ['v1  v2', 'unknown token '],
    ['x1', 'unknown input: x1'],
    ['é', 'unknown input: é'],
    ['V1', 'unknown input: V1'],
    ['vx', 'strconv.ParseUint: parsing "x": invalid syntax'],
    ['v-1', 'strconv.ParseUint: parsing "-1": invalid syntax'],
    ['v+1', 'strconv.ParseUint: parsing "+1": invalid syntax'],
    ['l1_0', 'strconv.ParseUint: parsing "1_0": invalid syntax'],
    ['v1 r0x10', 'strconv.ParseUint: parsing "0x10": invalid syntax'],
    [
      'u18446744073709551616',
      'strconv.ParseUint: parsing "18446744073709551616": value out of range',
    ],
    ['u9007199254740992', 'strconv.ParseUint: parsing "9007199254740992": value out of range'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => confChangesFromString(input), { message }, input);
  }
});

void test('confChangesToString prints letters and ids, unknown types as "unknown"', () => {
  assert.equal(confChangesToString([]), '');
  assert.equal(
    confChangesToString([
      { type: ConfChangeAddNode, nodeId: 1 },
      { type: ConfChangeAddLearnerNode, nodeId: 2 },
      { type: ConfChangeRemoveNode, nodeId: 3 },
      { type: ConfChangeUpdateNode, nodeId: 4 },
      { type: 9 as ConfChangeType, nodeId: 5 },
    ]),
    'v1 l2 r3 u4 unknown5',
  );
});

void test('confChangesToString and confChangesFromString are inverses', () => {
  const single: fc.Arbitrary<ConfChangeSingle> = fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.maxSafeNat())
    .map(([type, nodeId]) => ({ type: type as ConfChangeType, nodeId }));
  fc.assert(
    fc.property(fc.array(single, { maxLength: 8 }), (ccs) => {
      assert.deepStrictEqual(confChangesFromString(confChangesToString(ccs)), ccs);
    }),
  );
});

void test('marshalConfChange picks the entry type and encoding', () => {
  const cc: ConfChange = { type: ConfChangeAddNode, nodeId: 2, context: undefined, id: 5 };
  const m1 = marshalConfChange(cc);
  assert.equal(m1.type, EntryType.EntryConfChange);
  assert.deepStrictEqual(m1.data, encodeConfChange(cc));
  assert.deepStrictEqual(decodeConfChange(m1.data), cc);
  const c2 = { ...v2(ConfChangeTransitionJointImplicit, 2), context: Uint8Array.of(1, 2) };
  const m2 = marshalConfChange(c2);
  assert.equal(m2.type, EntryType.EntryConfChangeV2);
  assert.deepStrictEqual(decodeConfChangeV2(m2.data), c2);
  assert.equal(Buffer.from(m2.data).toString('hex'), '08011204080010011204080010021a020102');
});
