import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IndexQueue } from './index_queue.ts';

interface Item {
  index: number;
  tag: number;
}

type Op = { op: 'set'; index: number; tag: number } | { op: 'delete'; index: number };

/** ops mixes the common shape (appends at the end, deletes from the front) with any order. */
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), index: fc.nat(40), tag: fc.nat() }),
  fc.record({ op: fc.constant('delete' as const), index: fc.nat(40) }),
);

function sortedValues(m: Map<number, Item>): Item[] {
  return [...m.values()].sort((a, b) => a.index - b.index);
}

void describe('IndexQueue', () => {
  void it('behaves as a Map from index to item (property, against a Map)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const q = new IndexQueue<Item>();
        const m = new Map<number, Item>();
        for (const o of ops) {
          if (o.op === 'set') {
            const item = { index: o.index, tag: o.tag };
            q.set(item);
            m.set(o.index, item);
          } else {
            q.delete(o.index);
            m.delete(o.index);
          }
          assert.equal(q.size, m.size);
          assert.equal(q.get(o.index), m.get(o.index));
        }
        const want = sortedValues(m);
        assert.deepEqual(q.values(), want);
        assert.equal(q.last(), want[want.length - 1]);
        for (let i = 0; i <= 41; i++) assert.equal(q.get(i), m.get(i));
      }),
    );
  });

  void it('keeps working across compaction of a long queue', () => {
    const q = new IndexQueue<Item>();
    for (let i = 1; i <= 5000; i++) q.set({ index: i, tag: i });
    for (let i = 1; i <= 4000; i++) q.delete(i);
    assert.equal(q.size, 1000);
    assert.equal(q.get(4000), undefined);
    assert.equal(q.get(4001)?.tag, 4001);
    assert.equal(q.last()?.index, 5000);
    q.set({ index: 7000, tag: 7 });
    q.set({ index: 6000, tag: 6 });
    assert.deepEqual(
      q
        .values()
        .slice(-3)
        .map((t) => t.index),
      [5000, 6000, 7000],
    );
    assert.equal(q.get(6000)?.tag, 6);
  });
});
