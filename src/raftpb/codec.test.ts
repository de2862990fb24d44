// Golden vectors (bytes written by etcd 3.4's Go encoder) and hand-made edge cases for the
// raftpb codec. Property tests and the protobufjs oracle live in codec.property.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  MAX_MESSAGE_DEPTH,
  RaftpbDecodeError,
  decodeConfChange,
  decodeConfChangeSingle,
  decodeConfChangeV2,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshot,
  decodeSnapshotMetadata,
  encodeConfChange,
  encodeConfChangeSingle,
  encodeConfChangeV2,
  encodeConfState,
  encodeEntry,
  encodeEntryInto,
  encodeHardState,
  encodeMessage,
  encodeMessageInto,
  encodeSnapshot,
  encodeSnapshotMetadata,
  messageSize,
} from './codec.ts';
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  emptySnapshot,
  newMessage,
} from './types.ts';
import type { ConfState, Entry, Message, Snapshot, SnapshotMetadata } from './types.ts';

// ---------------------------------------------------------------------------------------
// Golden vectors

const GOLDEN_DIR = fileURLToPath(new URL('../../../shared/raftpb-golden/', import.meta.url));
const haveGolden =
  existsSync(`${GOLDEN_DIR}vectors.json`) && existsSync(`${GOLDEN_DIR}invalid.json`);
if (!haveGolden) {
  console.error(`!!! raftpb golden vectors not found at ${GOLDEN_DIR}: golden tests SKIPPED !!!`);
}

type Json = Record<string, unknown>;
interface Vector {
  name: string;
  type: string;
  value: Json;
  hex: string;
}
interface Invalid {
  name: string;
  type: string;
  hex: string;
  why: string;
  go: string;
}

const loadJson = <T>(file: string): T[] =>
  haveGolden ? (JSON.parse(readFileSync(GOLDEN_DIR + file, 'utf8')) as T[]) : [];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const bytes = (v: unknown): Uint8Array | undefined =>
  v === undefined ? undefined : new Uint8Array(Buffer.from(v as string, 'base64'));

/** enumValue maps a Go enum name to its number through one of the const objects. */
function enumValue(table: Record<string, number>, name: unknown): number {
  const v = table[name as string];
  if (v === undefined) throw new Error(`unknown enum name ${String(name)}`);
  return v;
}

const fromJson = {
  Entry: (j: Json): Entry => ({
    term: j.term as number,
    index: j.index as number,
    type: enumValue(EntryType, j.type) as EntryType,
    data: bytes(j.data),
  }),
  HardState: (j: Json) => ({ term: j.term, vote: j.vote, commit: j.commit }),
  ConfState: (j: Json): ConfState => ({
    voters: j.voters as number[],
    learners: j.learners as number[],
    votersOutgoing: j.votersOutgoing as number[],
    learnersNext: j.learnersNext as number[],
    autoLeave: j.autoLeave as boolean,
  }),
  SnapshotMetadata: (j: Json): SnapshotMetadata => ({
    confState: fromJson.ConfState(j.confState as Json),
    index: j.index as number,
    term: j.term as number,
  }),
  Snapshot: (j: Json): Snapshot => ({
    data: bytes(j.data),
    metadata: fromJson.SnapshotMetadata(j.metadata as Json),
  }),
  ConfChange: (j: Json) => ({
    type: enumValue(ConfChangeType, j.type),
    nodeId: j.nodeId,
    context: bytes(j.context),
    id: j.id,
  }),
  ConfChangeSingle: (j: Json) => ({ type: enumValue(ConfChangeType, j.type), nodeId: j.nodeId }),
  ConfChangeV2: (j: Json) => ({
    transition: enumValue(ConfChangeTransition, j.transition),
    changes: (j.changes as Json[]).map(fromJson.ConfChangeSingle),
    context: bytes(j.context),
  }),
  Message: (j: Json): Message => ({
    type: enumValue(MessageType, j.type) as MessageType,
    to: j.to as number,
    from: j.from as number,
    term: j.term as number,
    logTerm: j.logTerm as number,
    index: j.index as number,
    entries: (j.entries as Json[]).map(fromJson.Entry),
    commit: j.commit as number,
    vote: 0,
    snapshot: fromJson.Snapshot(j.snapshot as Json),
    reject: j.reject as boolean,
    rejectHint: j.rejectHint as number,
    context: bytes(j.context),
    responses: [],
  }),
};

/**
 * Codec entry points by vector type. Message is normalized for exact comparison: the
 * decoder returns `undefined` for an all-empty snapshot, and the vectors (written by Go)
 * always carry the snapshot object; undefined is replaced by that empty object here.
 */
const codecs: Record<string, { enc: (v: never) => Uint8Array; dec: (b: Uint8Array) => unknown }> = {
  Entry: { enc: encodeEntry, dec: decodeEntry },
  HardState: { enc: encodeHardState, dec: decodeHardState },
  ConfState: { enc: encodeConfState, dec: decodeConfState },
  SnapshotMetadata: { enc: encodeSnapshotMetadata, dec: decodeSnapshotMetadata },
  Snapshot: { enc: encodeSnapshot, dec: decodeSnapshot },
  ConfChange: { enc: encodeConfChange, dec: decodeConfChange },
  ConfChangeSingle: { enc: encodeConfChangeSingle, dec: decodeConfChangeSingle },
  ConfChangeV2: { enc: encodeConfChangeV2, dec: decodeConfChangeV2 },
  Message: {
    enc: encodeMessage,
    dec: (b) => {
      const m = decodeMessage(b);
      return { ...m, snapshot: m.snapshot ?? { data: undefined, ...emptySnapshot() } };
    },
  },
};

const vectors = loadJson<Vector>('vectors.json');
const invalid = loadJson<Invalid>('invalid.json');

void test('golden vectors: decode gives the value, encode gives the bytes', async (t) => {
  if (!haveGolden) return t.skip(`golden vectors absent at ${GOLDEN_DIR}`);
  assert.equal(vectors.length, 66);
  for (const v of vectors) {
    await t.test(v.name, () => {
      const codec = codecs[v.type];
      const conv = fromJson[v.type as keyof typeof fromJson] as (j: Json) => unknown;
      assert.ok(codec, `no codec for ${v.type}`);
      const want = conv(v.value);
      assert.deepStrictEqual(codec.dec(unhex(v.hex)), want);
      assert.equal(hex(codec.enc(want as never)), v.hex);
      if (v.type === 'Message') assert.equal(messageSize(want as Message), v.hex.length / 2);
    });
  }
});

void test('golden vectors: the all-empty snapshot decodes to undefined and encodes back', (t) => {
  if (!haveGolden) return t.skip(`golden vectors absent at ${GOLDEN_DIR}`);
  const v = vectors.find((x) => x.name === 'Message/MsgHup-zero');
  assert.ok(v);
  const m = decodeMessage(unhex(v.hex));
  assert.equal(m.snapshot, undefined);
  assert.equal(hex(encodeMessage(m)), v.hex);
});

void test('invalid vectors are refused with RaftpbDecodeError', async (t) => {
  if (!haveGolden) return t.skip(`golden vectors absent at ${GOLDEN_DIR}`);
  assert.equal(invalid.length, 27);
  for (const v of invalid) {
    await t.test(v.name, () => {
      const codec = codecs[v.type];
      assert.ok(codec, `no codec for ${v.type}`);
      assert.throws(
        () => codec.dec(unhex(v.hex)),
        (e: unknown) =>
          e instanceof RaftpbDecodeError &&
          e.code === 'ERR_RAFTPB_DECODE' &&
          /^Cannot decode \w+/.test(e.message) &&
          e.offset >= 0 &&
          e.offset <= v.hex.length / 2,
      );
    });
  }
});

// ---------------------------------------------------------------------------------------
// Hand-made cases

/** refuses asserts that fn throws a RaftpbDecodeError whose message matches re. */
function refuses(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof RaftpbDecodeError && re.test(e.message));
}

void test('errors name the type, field and offset', () => {
  refuses(
    () => decodeHardState(unhex('0801108080808080808010')),
    /HardState\.vote at byte 3: value exceeds 2\^53-1/,
  );
  refuses(() => decodeEntry(unhex('0800100118012205')), /Entry\.data at byte 7: length 5/);
  refuses(() => decodeHardState(unhex('080110')), /HardState\.vote at byte 3: truncated/);
  refuses(() => decodeMessage(unhex('0a00')), /Message\.type at byte 0: wrong wire type 2/);
  refuses(() => decodeHardState(unhex('0d00000000')), /HardState\.term .*wrong wire type 5/);
});

void test('unknown fields of every wire type are skipped', () => {
  const base = encodeHardState({ term: 3, vote: 2, commit: 1 });
  const extra = unhex(
    [
      '7805', // field 15 varint
      '81010102030405060708', // field 16 fixed64
      '8a0103616263', // field 17 bytes
      '9501aabbccdd', // field 18 fixed32
      '9b01' + 'a0010a' + 'a301' + 'a8017f' + 'a401' + '9c01', // group 19 { 20, group 20 { 21 } }
      'f8ffffff0f01', // field 2^29-1
    ].join(''),
  );
  const mixed = new Uint8Array([...extra.subarray(0, 2), ...base, ...extra.subarray(2)]);
  assert.deepStrictEqual(decodeHardState(mixed), { term: 3, vote: 2, commit: 1 });
});

void test('malformed groups and tags are refused', () => {
  refuses(() => decodeHardState(unhex('9b01a001')), /unterminated group|truncated/);
  refuses(() => decodeHardState(unhex('9b01a401')), /end-group does not match/);
  refuses(() => decodeHardState(unhex('9c01')), /stray end-group/);
  refuses(() => decodeHardState(unhex('7e00')), /illegal wire type 6/);
  refuses(() => decodeHardState(unhex('8080808010')), /field number above/);
  refuses(() => decodeHardState(unhex('0001')), /field number 0/);
});

void test('fields in any order, last scalar wins, missing fields are zero', () => {
  assert.deepStrictEqual(decodeHardState(unhex('18031002080108ff01')), {
    term: 255,
    vote: 2,
    commit: 3,
  });
  assert.deepStrictEqual(decodeHardState(new Uint8Array()), { term: 0, vote: 0, commit: 0 });
  assert.deepStrictEqual(decodeEntry(unhex('220161')), {
    term: 0,
    index: 0,
    type: 0,
    data: Uint8Array.of(0x61),
  });
  assert.deepStrictEqual(decodeMessage(new Uint8Array()), newMessage({ type: MessageType.MsgHup }));
});

void test('varints: non-minimal accepted, 64-bit excess and unsafe values refused', () => {
  assert.deepStrictEqual(decodeHardState(unhex('08808000')).term, 0);
  assert.equal(decodeHardState(unhex('08ffffffffffffff0f')).term, Number.MAX_SAFE_INTEGER);
  refuses(() => decodeHardState(unhex('088080808080808010')), /exceeds 2\^53-1/);
  refuses(() => decodeHardState(unhex('08' + 'ff'.repeat(9) + '02')), /more than 64 bits/);
  refuses(() => decodeHardState(unhex('08' + 'ff'.repeat(9) + '80')), /longer than 10 bytes/);
});

void test('bools: any non-zero varint is true', () => {
  assert.equal(decodeConfState(unhex('2802')).autoLeave, true);
  assert.equal(decodeConfState(unhex('2880808080808080808001')).autoLeave, true);
  assert.equal(decodeConfState(unhex('28808000')).autoLeave, false);
  assert.equal(decodeMessage(unhex('5005')).reject, true);
});

void test('ConfState lists may be packed, unpacked or both', () => {
  const cs = decodeConfState(
    unhex('0a03010203' + '0804' + '1200' + '1a02ac02' + '22017f' + '2801'),
  );
  assert.deepStrictEqual(cs, {
    voters: [1, 2, 3, 4],
    learners: [],
    votersOutgoing: [300],
    learnersNext: [127],
    autoLeave: true,
  });
  refuses(() => decodeConfState(unhex('0a0201')), /ConfState\.voters .*overruns/);
  refuses(() => decodeConfState(unhex('0a0180')), /ConfState\.voters .*truncated varint/);
  refuses(() => decodeConfState(unhex('2a00')), /ConfState\.autoLeave .*wrong wire type 2/);
});

void test('unknown enum numbers are kept', () => {
  const m = decodeMessage(unhex('0863'));
  assert.equal(m.type, 99);
  assert.equal(hex(encodeMessage(m)).slice(0, 4), '0863');
  assert.equal(decodeEntry(unhex('0807')).type, 7);
  assert.equal(decodeConfChangeV2(unhex('0809')).transition, 9);
});

void test('a repeated singular message field is merged', () => {
  const first = encodeSnapshotMetadata({
    confState: { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: true },
    index: 5,
    term: 2,
  });
  // Second metadata carries only voters=[2]; index, term and autoLeave are kept.
  const bytesS = new Uint8Array([0x12, first.length, ...first, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x02]);
  const s = decodeSnapshot(bytesS);
  assert.deepStrictEqual(s.metadata, {
    confState: {
      voters: [1, 2],
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: true,
    },
    index: 5,
    term: 2,
  });
});

void test('Message: vote (13) only when non-zero, responses (14) last, 3.6 types', () => {
  const resp = newMessage({ type: MessageType.MsgStorageAppendResp, to: 1, from: 2, index: 7 });
  const m = newMessage({
    type: MessageType.MsgStorageAppend,
    to: 0xfffffffe,
    from: 1,
    term: 9,
    vote: 5,
    commit: 4,
    context: Uint8Array.of(1),
    entries: [{ term: 9, index: 7, type: EntryType.EntryNormal, data: Uint8Array.of(9, 9) }],
    responses: [resp],
  });
  const plain = encodeMessage({ ...m, vote: 0, responses: [] });
  const r = encodeMessage(resp);
  const want = new Uint8Array([...plain, 0x68, 0x05, 0x72, r.length, ...r]);
  assert.equal(hex(encodeMessage(m)), hex(want));
  assert.equal(messageSize(m), want.length);
  assert.deepStrictEqual(decodeMessage(want), m);
  assert.ok(hex(plain).endsWith('620101'), 'vote 0 is not written');
  for (const type of [19, 20, 21, 22, 23] as const) {
    assert.equal(decodeMessage(encodeMessage(newMessage({ type }))).type, type);
  }
});

void test('Message.responses nesting is bounded', () => {
  let m = newMessage({ type: MessageType.MsgStorageApply });
  for (let i = 1; i < MAX_MESSAGE_DEPTH; i++) {
    m = newMessage({ type: MessageType.MsgStorageApply, responses: [m] });
  }
  const ok = encodeMessage(m);
  assert.deepStrictEqual(decodeMessage(ok), m);
  const deeper = newMessage({ type: MessageType.MsgStorageApply, responses: [m] });
  assert.throws(() => encodeMessage(deeper), RangeError);
  // The same nesting built by hand: tag 14, length, then the inner message.
  let b: Uint8Array = new Uint8Array();
  for (let i = 0; i <= MAX_MESSAGE_DEPTH; i++) {
    const lenBytes: number[] = [];
    for (let n = b.length; ; n >>>= 7) {
      if (n < 0x80) {
        lenBytes.push(n);
        break;
      }
      lenBytes.push((n & 0x7f) | 0x80);
    }
    b = new Uint8Array([0x72, ...lenBytes, ...b]);
  }
  refuses(() => decodeMessage(b), /nested deeper than/);
});

void test('non-empty snapshot is kept; snapshot with empty data is not empty', () => {
  const s: Snapshot = { data: new Uint8Array(), metadata: emptySnapshot().metadata };
  const m = newMessage({ type: MessageType.MsgSnap, snapshot: s });
  assert.deepStrictEqual(decodeMessage(encodeMessage(m)).snapshot, s);
  // A v3.7-style empty snapshot (no fields at all) also decodes to undefined.
  assert.equal(decodeMessage(unhex('4a00')).snapshot, undefined);
});

void test('bytes are copies by default and views with { copy: false }', () => {
  const e: Entry = { term: 1, index: 2, type: 0, data: Uint8Array.of(1, 2, 3) };
  const buf = encodeEntry(e);
  const copied = decodeEntry(buf);
  const viewed = decodeEntry(buf, { copy: false });
  buf[buf.length - 1] = 0xee;
  assert.deepStrictEqual(copied.data, Uint8Array.of(1, 2, 3));
  assert.deepStrictEqual(viewed.data, Uint8Array.of(1, 2, 0xee));
  assert.equal(viewed.data?.buffer, buf.buffer);
  // A Node Buffer input: Buffer.prototype.slice shares memory, so it must not be used.
  const nodeBuf = Buffer.from(encodeEntry(e));
  const fromBuffer = decodeEntry(nodeBuf);
  nodeBuf[nodeBuf.length - 1] = 0xee;
  assert.deepStrictEqual(fromBuffer.data, Uint8Array.of(1, 2, 3));
  assert.equal(decodeEntry(nodeBuf, { copy: false }).data?.constructor, Uint8Array);
});

void test('encoders refuse numbers that are not safe unsigned integers', () => {
  for (const bad of [-1, 1.5, 2 ** 53, NaN, Infinity, -Infinity]) {
    assert.throws(() => encodeHardState({ term: bad, vote: 0, commit: 0 }), RangeError);
    assert.throws(
      () => encodeMessage(newMessage({ type: MessageType.MsgApp, index: bad })),
      /Cannot encode Message\.index/,
    );
  }
  assert.throws(() => decodeEntry('x' as unknown as Uint8Array), TypeError);
});

void test('encodeMessageInto and encodeEntryInto write at an offset and check room', () => {
  const m = newMessage({ type: MessageType.MsgHeartbeat, to: 2, from: 1, term: 3, commit: 9 });
  const n = messageSize(m);
  const buf = new Uint8Array(n + 4);
  assert.equal(encodeMessageInto(buf, 4, m), n + 4);
  assert.deepStrictEqual(buf.subarray(4), encodeMessage(m));
  assert.throws(() => encodeMessageInto(buf, 5, m), RangeError);
  const e: Entry = { term: 1, index: 1, type: 0, data: undefined };
  assert.equal(encodeEntryInto(buf, 0, e), 6);
  assert.throws(() => encodeEntryInto(new Uint8Array(5), 0, e), RangeError);
});

void test('round trip of every type keeps the value', () => {
  const cs: ConfState = {
    voters: [3, 1],
    learners: [2 ** 40],
    votersOutgoing: [1],
    learnersNext: [],
    autoLeave: true,
  };
  assert.deepStrictEqual(decodeConfState(encodeConfState(cs)), cs);
  const cc = { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 4, context: undefined, id: 7 };
  assert.deepStrictEqual(decodeConfChange(encodeConfChange(cc)), cc);
  const single = { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2 ** 50 };
  assert.deepStrictEqual(decodeConfChangeSingle(encodeConfChangeSingle(single)), single);
});
