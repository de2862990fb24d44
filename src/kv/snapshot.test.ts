import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { codec } from './codec.ts';
import { encodeCommand } from './command.ts';
import type { Command } from './command.ts';
import { concatBytes as concat } from '../raft/util.ts';
import { CHUNK_SIZE, decodeSnapshot, encodeSnapshot } from './snapshot.ts';
import { KvStateMachine } from './state_machine.ts';
import { keyString, KvStore, KvStoreBuilder, spanOf } from './store.ts';
import type { KeyValue, MemberAttributes } from './types.ts';

interface SnapshotMessage {
  format: number;
  revision: number;
  kvs: KeyValue[];
  members: MemberAttributes[];
}
const reference = codec<SnapshotMessage>('raftkv.Snapshot');

const byteString = fc.uint8Array({ maxLength: 12 });
const kv = fc.record(
  {
    key: fc.uint8Array({ minLength: 1, maxLength: 6 }),
    createRevision: fc.nat(),
    modRevision: fc.maxSafeNat(),
    version: fc.nat(),
    value: byteString,
    lease: fc.nat(),
  },
  { noNullPrototype: true },
);
const member = fc.record(
  {
    id: fc.integer({ min: 1, max: 2 ** 40 }),
    name: fc.string(),
    clientUrls: fc.array(fc.string(), { maxLength: 2 }),
  },
  { noNullPrototype: true },
);

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}

/** storeOf builds a store holding kvs (the last of equal keys wins), in key order. */
function storeOf(kvs: KeyValue[], revision: number): { store: KvStore; sorted: KeyValue[] } {
  const byKey = new Map(kvs.map((k) => [keyString(k.key), k]));
  const store = new KvStore();
  store.reset(revision, byKey.values());
  const sorted = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
  return { store, sorted };
}

const plain = (k: KeyValue): KeyValue => ({
  ...k,
  key: new Uint8Array(k.key),
  value: new Uint8Array(k.value),
});

describe('raftkv.Snapshot in chunks', () => {
  test('property: the chunks decode with protobufjs, and its encoding decodes here', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(kv, { maxLength: 30 }),
        fc.array(member, { maxLength: 3 }),
        fc.maxSafeNat(),
        async (kvs, members, revision) => {
          const { store, sorted } = storeOf(kvs, revision);
          const bytes = concat(await collect(encodeSnapshot(1, store.view(), members)));
          const ref = reference.decode(bytes);
          assert.deepEqual(
            { ...ref, kvs: ref.kvs.map(plain) },
            { format: 1, revision, kvs: sorted.map(plain), members },
          );
          const b = new KvStoreBuilder();
          const got = await decodeSnapshot(reference.encode(ref), b);
          assert.deepEqual(got, { format: 1, revision, members });
          const back = new KvStore();
          back.install(revision, b);
          assert.deepEqual([...back.all()], sorted.map(plain));
          assert.equal(back.byteSize, store.byteSize);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('a large store comes in chunks of about CHUNK_SIZE that never split a record', async () => {
    const s = new KvStore();
    const value = new Uint8Array(1000).fill(7);
    for (let i = 0; i < 3000; i++) s.put(`k${i}`, new Uint8Array(), value, i + 2, 0);
    const chunks = await collect(encodeSnapshot(1, s.view(), []));
    assert.ok(chunks.length >= 3, `chunks: ${chunks.length}`);
    assert.ok(chunks.every((c) => c.length <= CHUNK_SIZE));
    // Every chunk after the header is a whole number of records.
    for (const c of chunks.slice(1)) {
      const b = new KvStoreBuilder();
      await decodeSnapshot(c, b);
      assert.ok(b.tree.size > 0);
    }
    const b = new KvStoreBuilder();
    await decodeSnapshot(concat(chunks), b);
    assert.equal(b.tree.size, 3000);
  });

  test('malformed input is refused with a RangeError', async () => {
    for (const bad of [[0x1a, 0x05, 0x0a], [0x10], [0x0b], [0x1a, 0x02, 0x10, 0xff]]) {
      await assert.rejects(decodeSnapshot(new Uint8Array(bad), new KvStoreBuilder()), RangeError);
    }
  });
});

describe('KvStore: compact records and views', () => {
  test('every byte value survives a put and a read; reads get fresh copies', () => {
    const s = new KvStore();
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    s.put(keyString(all), all, all, 2, 0);
    s.put('e', new Uint8Array([101]), new Uint8Array(), 3, 0);
    const kv = s.get(keyString(all));
    assert.ok(kv !== undefined);
    assert.deepEqual(kv.value, all);
    assert.deepEqual(kv.key, all);
    assert.ok(!(kv.value instanceof Buffer), 'a plain Uint8Array, not a pooled Buffer');
    kv.value[0] = 9;
    assert.equal(s.get(keyString(all))?.value[0], 0);
    assert.deepEqual(s.get('e')?.value, new Uint8Array());
    assert.equal(s.byteSize, 256 + 256 + 40 + 1 + 40);
  });

  test('property: a view keeps the state it was taken at while the store changes', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
    const write = fc.oneof(
      fc.record({ put: key, v: fc.string({ maxLength: 3 }) }),
      fc.record({ del: key }),
    );
    fc.assert(
      fc.property(fc.array(write, { maxLength: 20 }), fc.array(write), (before, after) => {
        const s = new KvStore();
        const apply = (ws: typeof before): void => {
          for (const w of ws) {
            if ('put' in w) s.put(w.put, new Uint8Array(), Buffer.from(w.v), ++s.revision, 0);
            else s.delete(spanOf(Buffer.from(w.del), new Uint8Array()));
          }
        };
        apply(before);
        const expect = [...s.all()];
        const view = s.view();
        apply(after);
        const seen = new KvStore();
        const b = new KvStoreBuilder();
        for (const [k, r] of view.entries()) b.add(k, r);
        seen.install(view.revision, b);
        assert.deepEqual([...seen.all()], expect);
      }),
      { numRuns: 300 },
    );
  });
});

describe('KvStateMachine: snapshots in the background', () => {
  const key = fc.constantFrom('a', 'b', 'c');
  const command: fc.Arbitrary<Command> = fc.oneof(
    fc.record({ k: key, v: fc.string({ maxLength: 3 }) }).map(({ k, v }) => ({
      put: {
        key: Buffer.from(k),
        value: Buffer.from(v),
        lease: 0,
        prevKv: false,
        ignoreValue: false,
        ignoreLease: false,
      },
    })),
    key.map((k) => ({
      deleteRange: { key: Buffer.from(k), rangeEnd: Buffer.from([0]), prevKv: true },
    })),
    fc
      .record({ id: fc.integer({ min: 1, max: 3 }), name: fc.string({ maxLength: 3 }) })
      .map(({ id, name }) => ({ memberAttributes: { id, name, clientUrls: [] } })),
  );

  test('property: a snapshot holds exactly the state when it was asked for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 30 }), fc.nat(), async (cmds, at) => {
        const entries = cmds.map((c, i) => ({
          term: 1,
          index: i + 1,
          type: 0 as const,
          data: encodeCommand(c),
        }));
        const cut = entries.length === 0 ? 0 : at % (entries.length + 1);
        const sm = new KvStateMachine();
        sm.apply(entries.slice(0, cut));
        const it = sm.snapshotChunks()[Symbol.asyncIterator]();
        // Entries are applied between the pulls of the chunks.
        const chunks: Uint8Array[] = [];
        for (let i = cut; ; i++) {
          const e = entries[i];
          if (e !== undefined) sm.apply([e]);
          const r = await it.next();
          if (r.done === true) break;
          chunks.push(r.value);
        }
        for (const e of entries.slice(cut + chunks.length)) sm.apply([e]);
        const want = new KvStateMachine();
        want.apply(entries.slice(0, cut));
        const restored = new KvStateMachine();
        await restored.restore(concat(chunks));
        assert.deepEqual(await restored.snapshot(), await want.snapshot());
        assert.equal(restored.revision, want.revision);
      }),
      { numRuns: 200 },
    );
  });

  test('snapshot and restore of a large store never hold the event loop for long', async () => {
    const sm = new KvStateMachine();
    const value = new Uint8Array(256).fill(1);
    for (let i = 0; i < 150_000; i++) {
      sm.store.put(`key${i}`.padStart(12, '0'), new Uint8Array(), value, i + 2, 0);
    }
    sm.store.revision = 150_001;
    const lag = lagProbe();
    const data = await sm.snapshot();
    const copy = new KvStateMachine();
    await copy.restore(data);
    const worst = lag.stop();
    assert.equal(copy.store.size, 150_000);
    assert.equal(copy.revision, 150_001);
    assert.ok(data.length > 150_000 * 256);
    // Encoding or decoding it in one go takes far longer than this (hundreds of ms).
    assert.ok(worst < 150, `the event loop was held for ${worst.toFixed(1)} ms`);
  });
});

/** lagProbe measures the longest gap between timer callbacks scheduled 1 ms apart. */
function lagProbe(): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 1);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(worst, performance.now() - last);
    },
  };
}
