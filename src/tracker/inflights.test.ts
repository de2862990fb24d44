import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { Inflights } from './inflights.ts';

/** addRange adds indexes [from, to) with 100 + index bytes each. */
function addRange(in_: Inflights, from: number, to: number): void {
  for (let i = from; i < to; i++) in_.add(i, 100 + i);
}

void describe('Inflights', () => {
  void it('adds and frees in order, across the wrap-around', () => {
    const in_ = new Inflights(10);
    addRange(in_, 0, 10);
    assert.equal(in_.count(), 10);
    assert.equal(in_.bytes(), 1045);
    assert.ok(in_.full());

    const steps: [freeLE: number, count: number, bytes: number][] = [
      [0, 9, 945],
      [4, 5, 535],
      [8, 1, 109],
    ];
    for (const [to, count, bytes] of steps) {
      in_.freeLE(to);
      assert.deepEqual([in_.count(), in_.bytes()], [count, bytes], `freeLE(${to})`);
    }
    // The next five wrap around the end of the ring.
    addRange(in_, 10, 15);
    in_.freeLE(12);
    assert.deepEqual([in_.count(), in_.bytes()], [2, 227]);
    in_.freeLE(14);
    assert.deepEqual([in_.count(), in_.bytes()], [0, 0]);
  });

  void it('ignores an ack below the window and stops at the first larger index', () => {
    const in_ = new Inflights(10);
    addRange(in_, 5, 8);
    in_.freeLE(4);
    assert.equal(in_.count(), 3);
    in_.freeLE(6);
    assert.equal(in_.count(), 1);
    const empty = new Inflights(3);
    empty.freeLE(100);
    assert.equal(empty.count(), 0);
  });

  void it('is full by count or (softly) by bytes', () => {
    const cases: {
      name: string;
      size: number;
      maxBytes?: number;
      fullAt: number;
      freeLE?: number;
      againAt?: number;
    }[] = [
      { name: 'always-full', size: 0, fullAt: 0 },
      { name: 'single-entry', size: 1, fullAt: 1, freeLE: 1, againAt: 2 },
      { name: 'single-entry-overflow', size: 1, maxBytes: 10, fullAt: 1, freeLE: 1, againAt: 2 },
      { name: 'multi-entry', size: 15, fullAt: 15, freeLE: 6, againAt: 22 },
      { name: 'slight-overflow', size: 8, maxBytes: 400, fullAt: 4, freeLE: 2, againAt: 7 },
      { name: 'exact-max-bytes', size: 8, maxBytes: 406, fullAt: 4, freeLE: 3, againAt: 8 },
      { name: 'larger-overflow', size: 15, maxBytes: 408, fullAt: 5, freeLE: 1, againAt: 6 },
    ];
    for (const tc of cases) {
      const in_ = new Inflights(tc.size, tc.maxBytes ?? 0);
      const addUntilFull = (from: number, to: number): void => {
        for (let i = from; i < to; i++) {
          assert.ok(!in_.full(), `${tc.name}: full at ${i}, want ${to}`);
          in_.add(i, 100 + i);
        }
        assert.ok(in_.full(), `${tc.name}: not full at ${to}`);
      };
      addUntilFull(0, tc.fullAt);
      in_.freeLE(tc.freeLE ?? 0);
      addUntilFull(tc.fullAt, tc.againAt ?? 0);
      assert.throws(() => in_.add(100, 1024), /cannot add into a Full inflights/, tc.name);
    }
  });

  void it('does not leak bytes across resets', () => {
    const in_ = new Inflights(10, 1000);
    let index = 0;
    for (let epoch = 0; epoch < 100; epoch++) {
      in_.reset();
      for (let i = 0; i < 5; i++) {
        assert.ok(!in_.full());
        in_.add(++index, 16);
      }
      in_.freeLE(index - 2);
      assert.ok(!in_.full());
      assert.equal(in_.count(), 2);
    }
    in_.freeLE(index);
    assert.equal(in_.count(), 0);
    assert.equal(in_.bytes(), 0);
  });

  void it('clone shares nothing', () => {
    const a = new Inflights(4, 0);
    addRange(a, 1, 3);
    const b = a.clone();
    b.add(3, 1);
    b.freeLE(1);
    assert.deepEqual([a.count(), a.bytes()], [2, 203]);
    assert.deepEqual([b.count(), b.bytes()], [2, 103]);
    a.freeLE(2);
    assert.equal(b.count(), 2);
  });

  void it('rejects a negative size', () => {
    assert.throws(() => new Inflights(-1), RangeError);
  });

  void it('behaves like a plain queue', () => {
    // Operations: add the next index with some bytes, ack a random offset, or reset.
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), bytes: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('free' as const), back: fc.integer({ min: -2, max: 8 }) }),
      fc.record({ kind: fc.constant('reset' as const) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 200 }),
        fc.array(op, { maxLength: 80 }),
        (size, maxBytes, ops) => {
          const in_ = new Inflights(size, maxBytes);
          let model: { index: number; bytes: number }[] = [];
          let next = 1;
          const modelBytes = () => model.reduce((s, m) => s + m.bytes, 0);
          for (const o of ops) {
            if (o.kind === 'add') {
              if (in_.full()) continue;
              in_.add(next, o.bytes);
              model.push({ index: next++, bytes: o.bytes });
            } else if (o.kind === 'free') {
              const to = next - 1 - o.back;
              in_.freeLE(to);
              const keepFrom = model.findIndex((m) => m.index > to);
              model = keepFrom < 0 ? [] : model.slice(keepFrom);
            } else {
              in_.reset();
              model = [];
            }
            assert.equal(in_.count(), model.length);
            assert.equal(in_.bytes(), modelBytes());
            const full = model.length === size || (maxBytes !== 0 && modelBytes() >= maxBytes);
            assert.equal(in_.full(), full);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
