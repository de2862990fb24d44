// The hand-written put codecs against protobufjs (proto-loader's serializers) as the oracle:
// whenever a fast path answers, it answers what protobufjs does, and it answers for every
// ordinary put.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { service } from './codec.ts';
import { commandCodec, decodeCommand, wrapCommand } from './command.ts';
import type { AnyMethod } from './grpc.ts';
import { decodePutCommand, decodePutRequest, encodePutResponse } from './put_codec.ts';
import type { PutRequest, PutResponse } from './types.ts';

const put = (service('KV') as unknown as Record<string, AnyMethod>)['Put'] as AnyMethod;

const uint = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32, 2 ** 49 - 1, 2 ** 53 - 1),
  fc.maxSafeNat(),
);
const header = fc.record({ clusterId: uint, memberId: uint, revision: uint, raftTerm: uint });
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ minLength: 120, maxLength: 300 }),
);
const putRequest = fc.record(
  {
    key: bytes,
    value: bytes,
    lease: fc.oneof(uint, fc.integer({ min: -(2 ** 40), max: -1 })),
    prevKv: fc.boolean(),
    ignoreValue: fc.boolean(),
    ignoreLease: fc.boolean(),
  },
  { requiredKeys: [] },
);

test('encodePutResponse writes what protobufjs writes for header-only responses', () => {
  fc.assert(
    fc.property(header, (h) => {
      const res: PutResponse = { header: h };
      const fast = encodePutResponse(res);
      assert.ok(fast !== undefined);
      assert.deepEqual(fast, put.responseSerialize(res));
    }),
  );
});

test('encodePutResponse leaves to protobufjs what it does not cover', () => {
  const h = { clusterId: 1, memberId: 2, revision: 3, raftTerm: 4 };
  const kv = { key: Buffer.from('k'), value: Buffer.from('v') };
  const others: object[] = [
    {},
    { header: undefined },
    { header: h, prevKv: kv },
    { header: { ...h, revision: -1 } },
    { header: { ...h, raftTerm: 1.5 } },
    { header: { ...h, clusterId: 2 ** 53 } },
    { header: { clusterId: 1, memberId: 2, revision: 3 } },
  ];
  for (const res of others) assert.equal(encodePutResponse(res as PutResponse), undefined);
  const plain = encodePutResponse({ header: h, prevKv: undefined });
  assert.deepEqual(plain, put.responseSerialize({ header: h }));
});

/** same checks a fast decode against protobufjs's, Buffers included. */
function same(fast: object, slow: object): void {
  assert.deepEqual(fast, slow);
  const f = fast as PutRequest;
  assert.ok(Buffer.isBuffer(f.key) && Buffer.isBuffer(f.value));
}

test('decodePutRequest decodes what protobufjs encodes, as protobufjs does', () => {
  fc.assert(
    fc.property(putRequest, (r) => {
      const raw = put.requestSerialize(r);
      const slow = put.requestDeserialize(raw);
      const fast = decodePutRequest(raw);
      const lease = r.lease ?? 0;
      if (lease >= 0 && lease < 2 ** 49) assert.ok(fast !== undefined, 'fast path taken');
      if (fast !== undefined) same(fast, slow);
      const cmd = Buffer.from(wrapCommand('put', raw));
      const fastCmd = decodePutCommand(cmd);
      if (fast !== undefined) assert.ok(fastCmd !== undefined);
      if (fastCmd !== undefined) assert.deepEqual(fastCmd, commandCodec.decode(cmd));
      assert.deepEqual(decodeCommand(cmd), commandCodec.decode(cmd));
    }),
  );
});

/** varint encodes n (a safe non-negative integer) as protobuf does. */
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
}

test('decodePutRequest on near-valid bytes: what it decodes, protobufjs decodes the same', () => {
  const lengthField = fc
    .tuple(
      fc.constantFrom(0x0a, 0x12),
      fc.uint8Array({ maxLength: 20 }),
      fc.integer({ min: -2, max: 2 }),
    )
    .map(([tag, b, skew]) => [tag, ...varint(Math.max(0, b.length + skew)), ...b]);
  const varintField = fc
    .tuple(
      fc.constantFrom(0x18, 0x20, 0x28, 0x30),
      fc.oneof(uint.map(varint), fc.array(fc.nat(255), { minLength: 1, maxLength: 11 })),
    )
    .map(([tag, v]) => [tag, ...v]);
  const junk = fc.array(fc.nat(255), { maxLength: 4 });
  const field = fc.oneof(
    { arbitrary: lengthField, weight: 4 },
    { arbitrary: varintField, weight: 4 },
    { arbitrary: junk, weight: 1 },
  );
  let decoded = 0;
  fc.assert(
    fc.property(fc.array(field, { maxLength: 8 }), fc.nat(3), (fields, cut) => {
      const all = Buffer.from(fields.flat());
      const raw = all.subarray(0, Math.max(0, all.length - (cut === 0 ? 1 : 0)));
      const fast = decodePutRequest(raw);
      if (fast === undefined) return;
      decoded++;
      same(fast, put.requestDeserialize(raw));
    }),
    { numRuns: 3000 },
  );
  assert.ok(decoded > 300, `the fast path decoded ${decoded} of 3000`);
});
