import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { encodeCommand } from './command.ts';
import type { Command } from './command.ts';
import { KvError } from './errors.ts';
import { KvStateMachine } from './state_machine.ts';
import type { ApplyResult } from './state_machine.ts';
import { b, cmp, delReq, op, putReq, rangeReq, str } from './testing.ts';
import { CompareResult, SortOrder, SortTarget } from './types.ts';
import type {
  DeleteRangeResponse,
  KeyValue,
  PutResponse,
  TxnRequest,
  TxnResponse,
} from './types.ts';

const { EQUAL, GREATER, LESS, NOT_EQUAL } = CompareResult;

function run(sm: KvStateMachine, cmd: Command): ApplyResult {
  return sm.apply([{ term: 1, index: 1, type: 0, data: encodeCommand(cmd) }])[0];
}

const put = (sm: KvStateMachine, k: string, v: string, prevKv = false) =>
  run(sm, { put: putReq(k, v, { prevKv }) }) as PutResponse;
const del = (sm: KvStateMachine, k: string, end = '', prevKv = false) =>
  run(sm, { deleteRange: delReq(k, { rangeEnd: b(end), prevKv }) }) as DeleteRangeResponse;
const txn = (sm: KvStateMachine, t: Partial<TxnRequest>) =>
  run(sm, { txn: { compare: [], success: [], failure: [], ...t } }) as TxnResponse;

const keys = (kvs: readonly KeyValue[]) => kvs.map((kv) => str(kv.key));
const get = (sm: KvStateMachine, k: string) => sm.range(rangeReq(k)).kvs[0];

describe('KvStateMachine: revision model', () => {
  test('an empty store is at revision 1; every put bumps it', () => {
    const sm = new KvStateMachine();
    assert.equal(sm.revision, 1);
    assert.equal(put(sm, 'a', '1').header?.revision, 2);
    assert.equal(put(sm, 'b', '1').header?.revision, 3);
    assert.equal(put(sm, 'a', '2').header?.revision, 4);
    assert.equal(sm.revision, 4);
  });

  test('create_revision, mod_revision and version per key', () => {
    const sm = new KvStateMachine();
    put(sm, 'a', '1');
    put(sm, 'b', '1');
    put(sm, 'a', '2');
    const a = get(sm, 'a');
    assert.deepEqual(
      { c: a?.createRevision, m: a?.modRevision, v: a?.version, val: str(a?.value) },
      { c: 2, m: 4, v: 2, val: '2' },
    );
    const bkv = get(sm, 'b');
    assert.deepEqual([bkv?.createRevision, bkv?.modRevision, bkv?.version], [3, 3, 1]);
  });

  test('a deleted key starts a new life at version 1', () => {
    const sm = new KvStateMachine();
    put(sm, 'a', '1');
    put(sm, 'a', '2');
    assert.equal(del(sm, 'a').header?.revision, 4);
    assert.equal(get(sm, 'a'), undefined);
    put(sm, 'a', '3');
    const a = get(sm, 'a');
    assert.deepEqual([a?.createRevision, a?.modRevision, a?.version], [5, 5, 1]);
  });

  test('a delete that deletes nothing does not bump the revision', () => {
    const sm = new KvStateMachine();
    put(sm, 'a', '1');
    const r = del(sm, 'zzz');
    assert.equal(r.deleted, 0);
    assert.equal(r.header?.revision, 2);
    assert.equal(sm.revision, 2);
  });

  test('put with prev_kv returns the previous record', () => {
    const sm = new KvStateMachine();
    assert.equal(put(sm, 'a', '1', true).prevKv, undefined);
    const r = put(sm, 'a', '2', true);
    assert.equal(str(r.prevKv?.value), '1');
    assert.equal(r.prevKv?.modRevision, 2);
  });

  test('ignore_value keeps the value; on a missing key it fails and changes nothing', () => {
    const sm = new KvStateMachine();
    const missing = run(sm, { put: putReq('a', '', { ignoreValue: true }) });
    assert.ok(missing instanceof KvError);
    assert.equal(missing.message, 'etcdserver: key not found');
    assert.equal(sm.revision, 1);
    put(sm, 'a', 'keep');
    run(sm, { put: putReq('a', '', { ignoreValue: true }) });
    assert.equal(str(get(sm, 'a')?.value), 'keep');
    assert.equal(get(sm, 'a')?.version, 2);
  });

  test('a lease that does not exist is refused', () => {
    const sm = new KvStateMachine();
    const r = run(sm, { put: putReq('a', '1', { lease: 42 }) });
    assert.ok(r instanceof KvError);
    assert.equal(r.message, 'etcdserver: requested lease not found');
    assert.equal(sm.revision, 1);
  });
});

describe('KvStateMachine: range', () => {
  const sm = new KvStateMachine();
  for (const [k, v] of [
    ['a', '3'],
    ['b', '1'],
    ['b1', '2'],
    ['b2', '0'],
    ['c', '9'],
  ]) {
    put(sm, k as string, v as string);
  }
  put(sm, 'b1', '5'); // b1: version 2, mod 7

  test('single key, [key, range_end), and "\\0" for everything from key on', () => {
    assert.deepEqual(keys(sm.range(rangeReq('b')).kvs), ['b']);
    assert.deepEqual(keys(sm.range(rangeReq('b', { rangeEnd: b('c') })).kvs), ['b', 'b1', 'b2']);
    const all = sm.range(rangeReq('b', { rangeEnd: new Uint8Array([0]) }));
    assert.deepEqual(keys(all.kvs), ['b', 'b1', 'b2', 'c']);
    const none = sm.range(rangeReq('c', { rangeEnd: b('b') }));
    assert.deepEqual([none.kvs.length, none.count], [0, 0]);
  });

  test('limit truncates kvs, sets more, and count stays the total', () => {
    const r = sm.range(rangeReq('a', { rangeEnd: new Uint8Array([0]), limit: 2 }));
    assert.deepEqual(keys(r.kvs), ['a', 'b']);
    assert.equal(r.more, true);
    assert.equal(r.count, 5);
    const exact = sm.range(rangeReq('a', { rangeEnd: new Uint8Array([0]), limit: 5 }));
    assert.equal(exact.more, false);
  });

  test('keys_only drops values; count_only returns only the count', () => {
    const k = sm.range(rangeReq('b', { rangeEnd: b('c'), keysOnly: true }));
    assert.deepEqual(keys(k.kvs), ['b', 'b1', 'b2']);
    assert.ok(k.kvs.every((kv) => kv.value.length === 0 && kv.version > 0));
    const c = sm.range(rangeReq('b', { rangeEnd: b('c'), countOnly: true }));
    assert.deepEqual([c.kvs.length, c.count, c.more], [0, 3, false]);
  });

  test('sort by value descending, then limit', () => {
    const r = sm.range(
      rangeReq('a', {
        rangeEnd: new Uint8Array([0]),
        sortTarget: SortTarget.VALUE,
        sortOrder: SortOrder.DESCEND,
        limit: 2,
      }),
    );
    assert.deepEqual(keys(r.kvs), ['c', 'b1']);
    assert.equal(r.more, true);
  });

  test('mod revision filters apply to kvs, not to count', () => {
    const r = sm.range(rangeReq('a', { rangeEnd: new Uint8Array([0]), minModRevision: 5 }));
    assert.deepEqual(keys(r.kvs), ['b1', 'b2', 'c']);
    assert.equal(r.count, 5);
  });

  test('reading an older or a future revision is refused (no history is kept)', () => {
    assert.throws(() => sm.range(rangeReq('a', { revision: 2 })), /compacted/);
    assert.throws(() => sm.range(rangeReq('a', { revision: 99 })), /future revision/);
    assert.equal(sm.range(rangeReq('a', { revision: sm.revision })).kvs.length, 1);
  });
});

describe('KvStateMachine: delete range', () => {
  test('deletes a range at one revision and returns prev_kvs in key order', () => {
    const sm = new KvStateMachine();
    for (const k of ['a', 'b', 'b1', 'c']) put(sm, k, k.toUpperCase());
    const r = del(sm, 'b', 'c', true);
    assert.equal(r.deleted, 2);
    assert.deepEqual(keys(r.prevKvs), ['b', 'b1']);
    assert.equal(str(r.prevKvs[1]?.value), 'B1');
    assert.equal(r.header?.revision, 6);
    assert.deepEqual(keys(sm.range(rangeReq('a', { rangeEnd: new Uint8Array([0]) })).kvs), [
      'a',
      'c',
    ]);
    assert.equal(del(sm, 'a', '', false).prevKvs.length, 0);
  });
});

describe('KvStateMachine: txn', () => {
  test('compare-and-swap on value: success branch, then failure branch', () => {
    const sm = new KvStateMachine();
    put(sm, 'k', 'v1');
    const cas = (expect: string, next: string) =>
      txn(sm, {
        compare: [cmp('k', 'value', EQUAL, expect)],
        success: [op({ put: putReq('k', next) })],
        failure: [op({ range: rangeReq('k') })],
      });
    const ok = cas('v1', 'v2');
    assert.equal(ok.succeeded, true);
    assert.equal(ok.header?.revision, 3);
    const lost = cas('v1', 'v3');
    assert.equal(lost.succeeded, false);
    assert.equal(lost.header?.revision, 3);
    const seen = lost.responses[0] as { responseRange: { kvs: KeyValue[] } };
    assert.equal(str(seen.responseRange.kvs[0]?.value), 'v2');
    assert.equal(str(get(sm, 'k')?.value), 'v2');
  });

  test('compares on version, create_revision and mod_revision', () => {
    const sm = new KvStateMachine();
    put(sm, 'k', '1');
    put(sm, 'k', '2'); // create 2, mod 3, version 2
    const holds = (c: ReturnType<typeof cmp>) => txn(sm, { compare: [c] }).succeeded;
    assert.equal(holds(cmp('k', 'version', EQUAL, 2)), true);
    assert.equal(holds(cmp('k', 'version', GREATER, 2)), false);
    assert.equal(holds(cmp('k', 'createRevision', EQUAL, 2)), true);
    assert.equal(holds(cmp('k', 'modRevision', LESS, 4)), true);
    assert.equal(holds(cmp('k', 'modRevision', NOT_EQUAL, 3)), false);
    // A missing key compares as zeros: "create_revision = 0" means "does not exist"...
    assert.equal(holds(cmp('nope', 'createRevision', EQUAL, 0)), true);
    // ...but a value compare on it always fails.
    assert.equal(holds(cmp('nope', 'value', NOT_EQUAL, 'x')), false);
  });

  test('compare over a range holds only if every key satisfies it', () => {
    const sm = new KvStateMachine();
    put(sm, 'p/a', '1');
    put(sm, 'p/b', '1');
    const c = { ...cmp('p/', 'version', EQUAL, 1), rangeEnd: b('p0') };
    assert.equal(txn(sm, { compare: [c] }).succeeded, true);
    put(sm, 'p/b', '2');
    assert.equal(txn(sm, { compare: [c] }).succeeded, false);
  });

  test('all writes of a txn share one new revision; reads inside see earlier writes', () => {
    const sm = new KvStateMachine();
    put(sm, 'old', 'x');
    const r = txn(sm, {
      success: [
        op({ put: putReq('a', '1') }),
        op({ put: putReq('b', '2') }),
        op({ del: delReq('old') }),
        op({ range: rangeReq('a') }),
      ],
    });
    assert.equal(r.header?.revision, 3);
    assert.equal(get(sm, 'a')?.modRevision, 3);
    assert.equal(get(sm, 'b')?.modRevision, 3);
    const inner = r.responses[3] as { responseRange: { kvs: KeyValue[] } };
    assert.equal(str(inner.responseRange.kvs[0]?.value), '1');
  });

  test('nested txn compares see the state before the txn', () => {
    const sm = new KvStateMachine();
    const r = txn(sm, {
      success: [
        op({ put: putReq('a', '1') }),
        op({
          txn: {
            compare: [cmp('a', 'version', EQUAL, 0)],
            success: [op({ put: putReq('seen', 'before') })],
            failure: [op({ put: putReq('seen', 'after') })],
          },
        }),
      ],
    });
    assert.equal(r.succeeded, true);
    assert.equal(str(get(sm, 'seen')?.value), 'before');
  });

  test('a txn that fails a put check changes nothing at all', () => {
    const sm = new KvStateMachine();
    put(sm, 'a', '1');
    const r = run(sm, {
      txn: {
        compare: [],
        success: [
          op({ put: putReq('a', '2') }),
          op({ put: putReq('missing', '', { ignoreValue: true }) }),
        ],
        failure: [],
      },
    });
    assert.ok(r instanceof KvError);
    assert.equal(str(get(sm, 'a')?.value), '1');
    assert.equal(sm.revision, 2);
  });
});

describe('KvStateMachine: snapshots and determinism', () => {
  test('snapshot/restore round trip keeps keys, revisions and member attributes', async () => {
    const sm = new KvStateMachine();
    put(sm, 'a', '1');
    put(sm, 'bin', '\u00ff\u0000');
    put(sm, 'a', '2');
    del(sm, 'bin');
    put(sm, 'c', '');
    run(sm, { memberAttributes: { id: 5, name: 'm5', clientUrls: ['http://x:1'] } });
    const snap = await sm.snapshot();
    const copy = new KvStateMachine();
    await copy.restore(snap);
    assert.equal(copy.revision, sm.revision);
    const all = rangeReq('\0', { rangeEnd: new Uint8Array([0]) });
    assert.deepEqual(copy.range(all), sm.range(all));
    assert.deepEqual(copy.memberAttributes(5), { id: 5, name: 'm5', clientUrls: ['http://x:1'] });
    assert.deepEqual(await copy.snapshot(), snap);
    // The copy goes on exactly like the original.
    assert.equal(put(copy, 'd', '1').header?.revision, put(sm, 'd', '1').header?.revision);
  });

  test('restore of an empty snapshot empties the machine; garbage is refused', async () => {
    const sm = new KvStateMachine();
    put(sm, 'a', '1');
    await sm.restore(new Uint8Array());
    assert.equal(sm.revision, 1);
    assert.equal(sm.store.size, 0);
    await assert.rejects(sm.restore(new Uint8Array([0x08, 0x09])), /format 9/);
    await assert.rejects(sm.restore(new Uint8Array([0xff, 0xff, 0xff])), RangeError);
  });

  test('an entry that is not a command yields an error result and changes nothing', () => {
    const sm = new KvStateMachine();
    const [bad] = sm.apply([{ term: 1, index: 1, type: 0, data: new Uint8Array([0xff, 0x01]) }]);
    assert.ok(bad instanceof KvError);
    assert.equal(sm.revision, 1);
    assert.ok(sm.applyData(new Uint8Array()) instanceof KvError);
  });

  test('property: the same commands give identical states and results', async () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd');
    const command: fc.Arbitrary<Command> = fc.oneof(
      fc.record({ k: key, v: fc.string({ maxLength: 3 }) }).map(({ k, v }) => ({
        put: putReq(k, v, { prevKv: true }),
      })),
      fc.record({ k: key, e: fc.constantFrom('', 'c', '\0') }).map(({ k, e }) => ({
        deleteRange: delReq(k, { rangeEnd: b(e), prevKv: true }),
      })),
      fc
        .record({ k: key, ver: fc.nat(3), v: fc.string({ maxLength: 2 }) })
        .map(({ k, ver, v }) => ({
          txn: {
            compare: [cmp(k, 'version', EQUAL, ver)],
            success: [op({ put: putReq(k, v) })],
            failure: [op({ del: delReq(k) }), op({ range: rangeReq(k) })],
          },
        })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (cmds) => {
        const entries = cmds.map((c, i) => ({
          term: 1,
          index: i + 1,
          type: 0 as const,
          data: encodeCommand(c),
        }));
        const one = new KvStateMachine();
        const two = new KvStateMachine();
        const r1 = one.apply(entries);
        // The second machine applies in other batch sizes, through a snapshot half-way.
        const half = Math.floor(entries.length / 2);
        const r2 = [...two.apply(entries.slice(0, half))];
        const three = new KvStateMachine();
        await three.restore(await two.snapshot());
        for (const e of entries.slice(half)) r2.push(...three.apply([e]));
        assert.deepEqual(r2, r1);
        assert.deepEqual(await three.snapshot(), await one.snapshot());
      }),
      { numRuns: 200 },
    );
  });
});
