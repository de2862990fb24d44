import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { inSpan, keyString, KvStore, packRec, spanOf, unpackRec } from './store.ts';
import type { Span } from './store.ts';

const bytes = (...xs: number[]) => new Uint8Array(xs);

describe('KvStore', () => {
  test('keys order as bytes, including bytes >= 0x80', () => {
    const s = new KvStore();
    for (const k of [bytes(0x80), bytes(0x7f), bytes(0xff, 0), bytes(0x7f, 0xff), bytes(1)]) {
      s.put(keyString(k), k, bytes(), 2, 0);
    }
    const all = s.scan(spanOf(bytes(0), bytes(0))).kvs.map((kv) => [...kv.key]);
    assert.deepEqual(all, [[1], [0x7f], [0x7f, 0xff], [0x80], [0xff, 0]]);
  });

  test('spanOf: empty end is one key, "\\0" is unbounded, else half-open', () => {
    assert.deepEqual(spanOf(bytes(5), bytes()), { start: '\x05', end: undefined });
    assert.deepEqual(spanOf(bytes(5), bytes(0)), { start: '\x05', end: null });
    const s = spanOf(bytes(5), bytes(7));
    assert.deepEqual(
      [inSpan(s, '\x04'), inSpan(s, '\x05'), inSpan(s, '\x06\xff'), inSpan(s, '\x07')],
      [false, true, true, false],
    );
  });

  test("put copies key and value out of the caller's buffer", () => {
    const s = new KvStore();
    const buf = Buffer.from('keyvalue');
    s.put('key', buf.subarray(0, 3), buf.subarray(3), 2, 0);
    buf.fill(0);
    const kv = s.get('key');
    assert.equal(Buffer.from(kv?.value ?? []).toString(), 'value');
    assert.equal(Buffer.from(kv?.key ?? []).toString(), 'key');
  });

  test('byteSize follows puts and deletes', () => {
    const s = new KvStore();
    s.put('a', bytes(97), bytes(1, 2, 3), 2, 0);
    const one = s.byteSize;
    s.put('a', bytes(97), bytes(1), 3, 0);
    assert.equal(s.byteSize, one - 2);
    s.delete(spanOf(bytes(97), bytes()));
    assert.equal(s.byteSize, 0);
  });

  test('property: scan, count and delete agree with a naive sorted list', () => {
    const key = fc.uint8Array({ minLength: 1, maxLength: 3, max: 4 });
    const span = fc.record({
      k: key,
      end: fc.oneof(fc.constant(bytes()), fc.constant(bytes(0)), key),
    });
    const action = fc.oneof(
      fc.record({ put: key }),
      fc.record({ del: span }),
      fc.record({ scan: span, limit: fc.nat(4) }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 60 }), (actions) => {
        const s = new KvStore();
        const model = new Map<string, number>();
        let rev = 1;
        const naive = (sp: Span) => [...model.keys()].filter((k) => inSpan(sp, k)).sort();
        for (const a of actions) {
          if ('put' in a) {
            const k = keyString(a.put);
            s.put(k, a.put, bytes(), ++rev, 0);
            model.set(k, rev);
          } else if ('del' in a) {
            const sp = spanOf(a.del.k, a.del.end);
            const want = naive(sp);
            assert.deepEqual(
              s.delete(sp).map((kv) => keyString(kv.key)),
              want,
            );
            for (const k of want) model.delete(k);
          } else {
            const sp = spanOf(a.scan.k, a.scan.end);
            const want = naive(sp);
            const got = s.scan(sp, a.limit);
            assert.equal(got.count, want.length);
            assert.equal(s.count(sp), want.length);
            const n = a.limit === 0 ? want.length : Math.min(a.limit, want.length);
            assert.deepEqual(
              got.kvs.map((kv) => keyString(kv.key)),
              want.slice(0, n),
            );
            assert.deepEqual(
              got.kvs.map((kv) => kv.modRevision),
              want.slice(0, n).map((k) => model.get(k)),
            );
          }
        }
        assert.equal(s.size, model.size);
      }),
      { numRuns: 300 },
    );
  });

  test('put keeps createRevision and counts versions; a deleted key starts over', () => {
    const s = new KvStore();
    const k = bytes(1);
    s.put('\x01', k, bytes(0xff, 0x80), 2, 0);
    s.put('\x01', k, bytes(7), 300, 0);
    assert.deepEqual(s.get('\x01'), {
      key: k,
      value: bytes(7),
      createRevision: 2,
      modRevision: 300,
      version: 2,
      lease: 0,
    });
    s.delete(spanOf(k, bytes()));
    s.put('\x01', k, bytes(), 2 ** 40, 0);
    const kv = s.get('\x01');
    assert.deepEqual([kv?.createRevision, kv?.version, kv?.value], [2 ** 40, 1, bytes()]);
  });
});

describe('packRec', () => {
  test('property: unpackRec returns what packRec packed, for bytes and string values', () => {
    const n = fc.maxSafeNat();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        n,
        n,
        n,
        n,
        fc.boolean(),
        (v, c, m, ver, l, str) => {
          const value = str ? Buffer.from(v).toString('latin1') : v;
          const r = unpackRec(packRec(value, c, m, ver, l));
          assert.deepEqual(
            [r.value, r.createRevision, r.modRevision, r.version, r.lease],
            [Buffer.from(v).toString('latin1'), c, m, ver, l],
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a large value does not stay in the scratch buffer', () => {
    const big = new Uint8Array(1 << 17).fill(0xab);
    assert.equal(unpackRec(packRec(big, 1, 2, 3, 0)).value.length, big.length);
    assert.equal(unpackRec(packRec(bytes(1, 2), 4, 5, 6, 0)).value, '\x01\x02');
  });

  test('packRec throws a RangeError for a negative or unsafe number', () => {
    assert.throws(() => packRec(bytes(), -1, 1, 1, 0), RangeError);
    assert.throws(() => packRec(bytes(), 1, 2 ** 53, 1, 0), /not a non-negative safe integer/);
  });
});
