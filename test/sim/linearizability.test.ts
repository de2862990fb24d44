/**
 * Self-test of the linearizability checker: generated linearizable histories pass, the
 * same histories with one planted stale read fail, small random histories agree with a
 * brute-force checker, and a check that runs out of budget says so instead of passing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import {
  CheckResult,
  checkOperations,
  describeReport,
} from '../../src/rafttest/linearizability/checker.ts';
import { generateHistory, plantStaleRead } from '../../src/rafttest/linearizability/generate.ts';
import { KvOp, kvModel } from '../../src/rafttest/linearizability/kv_model.ts';
import type {
  KvInput,
  KvOperation,
  KvOutput,
  KvState,
} from '../../src/rafttest/linearizability/kv_model.ts';
import { Prng } from '../../src/rafttest/sim/prng.ts';

const HISTORIES = 1000;

/** histories makes HISTORIES linearizable histories that each admit a planted stale read. */
function histories(): { history: KvOperation[]; stale: KvOperation[] }[] {
  const rng = new Prng(20240601);
  const out: { history: KvOperation[]; stale: KvOperation[] }[] = [];
  while (out.length < HISTORIES) {
    const history = generateHistory(rng, {
      clients: rng.range(2, 6),
      ops: rng.range(10, 120),
      keys: rng.range(1, 4),
      pendingPm: rng.pick([0, 50, 150]),
    });
    const stale = plantStaleRead(rng, history);
    if (stale !== undefined) out.push({ history, stale });
  }
  return out;
}

void test(`${HISTORIES} generated linearizable histories pass, and each with a planted stale read fails`, () => {
  let pending = 0;
  for (const { history, stale } of histories()) {
    pending += history.filter((o) => o.return === Infinity).length;
    const ok = checkOperations(kvModel, history, { timeoutMs: 5000 });
    assert.equal(ok.result, CheckResult.Ok, describeReport(kvModel, ok));
    const bad = checkOperations(kvModel, stale, { timeoutMs: 5000 });
    assert.equal(bad.result, CheckResult.Illegal, 'a planted stale read went unnoticed');
  }
  assert.ok(pending > 100, `the histories should include timed-out writes (got ${pending})`);
});

const op = (input: KvInput, call: number, ret: number, output: KvOutput): KvOperation => ({
  input,
  call,
  return: ret,
  output,
});

void test('a timed-out write may or may not have happened', () => {
  const put = op({ op: KvOp.Put, key: 'a', value: 'x' }, 0, Infinity, { unknown: true });
  const seen = op({ op: KvOp.Get, key: 'a' }, 5, 6, { value: 'x' });
  const unseen = op({ op: KvOp.Get, key: 'a' }, 1, 2, { value: null });
  assert.equal(checkOperations(kvModel, [put, seen]).result, CheckResult.Ok);
  assert.equal(checkOperations(kvModel, [put, unseen]).result, CheckResult.Ok);
  assert.equal(checkOperations(kvModel, [put, unseen, seen]).result, CheckResult.Ok);
  // ...but once seen, it cannot be unseen.
  const later = op({ op: KvOp.Get, key: 'a' }, 7, 8, { value: null });
  assert.equal(checkOperations(kvModel, [put, seen, later]).result, CheckResult.Illegal);
});

void test('cas, delete and put follow the sequential specification', () => {
  const h = [
    op({ op: KvOp.Put, key: 'a', value: '1' }, 0, 1, {}),
    op({ op: KvOp.Cas, key: 'a', expected: '1', value: '2' }, 2, 3, { ok: true }),
    op({ op: KvOp.Cas, key: 'a', expected: '1', value: '3' }, 4, 5, { ok: false }),
    op({ op: KvOp.Delete, key: 'a' }, 6, 7, { existed: true }),
    op({ op: KvOp.Delete, key: 'a' }, 8, 9, { existed: false }),
    op({ op: KvOp.Get, key: 'b' }, 0, 9, { value: null }),
  ];
  assert.equal(checkOperations(kvModel, h).result, CheckResult.Ok);
  const wrong = h.map((o, i) => (i === 2 ? { ...o, output: { ok: true } } : o));
  assert.equal(checkOperations(kvModel, wrong).result, CheckResult.Illegal);
});

void test('a check that runs out of steps or time is Unknown, never Ok', () => {
  const h = generateHistory(new Prng(7), { clients: 5, ops: 200, keys: 1, pendingPm: 100 });
  assert.equal(checkOperations(kvModel, h, { maxSteps: 3 }).result, CheckResult.Unknown);
  let t = 0;
  const r = checkOperations(kvModel, h, { timeoutMs: 1, now: () => (t += 1000) });
  assert.equal(r.result, CheckResult.Unknown);
});

void test('an operation that returns before its call is refused', () => {
  const bad = op({ op: KvOp.Get, key: 'a' }, 5, 4, { value: null });
  assert.throws(() => checkOperations(kvModel, [bad]), RangeError);
});

/** bruteForce tries every order of the operations that respects real time. */
function bruteForce(history: readonly KvOperation[]): boolean {
  const byKey = new Map<string, KvOperation[]>();
  for (const o of history) byKey.set(o.input.key, [...(byKey.get(o.input.key) ?? []), o]);
  return [...byKey.values()].every((ops) => search(ops, new Set(), null));
}

function search(ops: readonly KvOperation[], done: ReadonlySet<number>, state: KvState): boolean {
  const left = ops.map((_, i) => i).filter((i) => !done.has(i));
  // Done when every operation that returned is linearized (pending ones may never happen).
  if (left.every((i) => (ops[i] as KvOperation).return === Infinity)) return true;
  for (const i of left) {
    const o = ops[i] as KvOperation;
    // o can go next only if no other remaining operation returned before o was called.
    if (left.some((j) => j !== i && (ops[j] as KvOperation).return < o.call)) continue;
    const r = kvModel.step(state, o.input, o.output);
    if (r.ok && search(ops, new Set([...done, i]), r.state)) return true;
  }
  return false;
}

const kvOpArb = fc
  .record({
    kind: fc.constantFrom('get', 'put', 'delete', 'cas'),
    key: fc.constantFrom('a', 'b'),
    value: fc.constantFrom('1', '2', '3'),
    expected: fc.constantFrom<string | null>(null, '1', '2'),
    call: fc.integer({ min: 0, max: 20 }),
    len: fc.integer({ min: 0, max: 10 }),
    pending: fc.boolean(),
    out: fc.constantFrom<string | null>(null, '1', '2', '3'),
    flag: fc.boolean(),
  })
  .map((r): KvOperation => {
    let input: KvInput;
    let output: KvOutput;
    switch (r.kind) {
      case 'get':
        input = { op: KvOp.Get, key: r.key };
        output = { value: r.out };
        break;
      case 'put':
        input = { op: KvOp.Put, key: r.key, value: r.value };
        output = {};
        break;
      case 'delete':
        input = { op: KvOp.Delete, key: r.key };
        output = { existed: r.flag };
        break;
      default:
        input = { op: KvOp.Cas, key: r.key, expected: r.expected, value: r.value };
        output = { ok: r.flag };
    }
    const pending = r.pending && r.kind !== 'get';
    return {
      input,
      call: r.call,
      output: pending ? { unknown: true } : output,
      return: pending ? Infinity : r.call + r.len,
    };
  });

void test('the checker agrees with brute force on small random histories', () => {
  let legal = 0;
  fc.assert(
    fc.property(fc.array(kvOpArb, { maxLength: 7 }), (h) => {
      const want = bruteForce(h);
      if (want) legal++;
      const got = checkOperations(kvModel, h).result;
      return got === (want ? CheckResult.Ok : CheckResult.Illegal);
    }),
    { numRuns: 3000, seed: 42 },
  );
  assert.ok(legal > 300, `too few legal histories to be a real cross-check (${legal})`);
});
