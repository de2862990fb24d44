/**
 * raftkv.Snapshot (proto/raftkv/raftkv.proto), encoded and decoded piece by piece.
 *
 * A snapshot holds every key, so it is as large as the live data. Encoding it in one call
 * (protobufjs: an object per key, then one buffer) blocked the event loop for longer than an
 * election timeout and needed several copies of the data at once. Here the encoder walks a
 * frozen view of the store (KvStore.view) and yields chunks of about CHUNK_SIZE bytes,
 * giving the event loop a turn whenever it has worked for SLICE_MS; the decoder builds the
 * new key space the same way. Both write the protobuf wire format by hand: a repeated field
 * may be split anywhere between its elements and fields may come in any order, so the
 * concatenation of the chunks is a valid raftkv.Snapshot for any protobuf decoder, and any
 * encoder's output decodes here.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { codec } from './codec.ts';
import { KvStoreBuilder, packRec } from './store.ts';
import type { Rec } from './store.ts';
import type { KvView } from './store.ts';
import type { MemberAttributes } from './types.ts';
import { putVarint, varintSize } from './varint.ts';

/** CHUNK_SIZE is the size the encoder aims at for each chunk (a record is never split). */
export const CHUNK_SIZE = 1 << 20;
/** SLICE_MS is how long the encoder or decoder works before it yields to the event loop. */
export const SLICE_MS = 5;

const membersCodec = codec<MemberAttributes>('raftkv.MemberAttributes');

// Field tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const TAG_FORMAT = (1 << 3) | 0;
const TAG_REVISION = (2 << 3) | 0;
const TAG_KVS = (3 << 3) | 2;
const TAG_MEMBERS = (4 << 3) | 2;
const KV_KEY = (1 << 3) | 2;
const KV_CREATE = (2 << 3) | 0;
const KV_MOD = (3 << 3) | 0;
const KV_VERSION = (4 << 3) | 0;
const KV_VALUE = (5 << 3) | 2;
const KV_LEASE = (6 << 3) | 0;

/** fieldSize is the size of an optional varint field: absent when zero (proto3). */
function fieldSize(v: number): number {
  return v === 0 ? 0 : 1 + varintSize(v);
}

function putField(buf: Uint8Array, pos: number, tag: number, v: number): number {
  if (v === 0) return pos;
  buf[pos] = tag;
  return putVarint(buf, pos + 1, v);
}

/** kvBodySize is the size of the mvccpb.KeyValue encoding of key k with record r. */
function kvBodySize(k: string, r: Rec): number {
  return (
    (k.length === 0 ? 0 : 1 + varintSize(k.length) + k.length) +
    fieldSize(r.createRevision) +
    fieldSize(r.modRevision) +
    fieldSize(r.version) +
    (r.value.length === 0 ? 0 : 1 + varintSize(r.value.length) + r.value.length) +
    fieldSize(r.lease)
  );
}

/** putString writes a length-delimited field holding latin1 string s. */
function putString(buf: Buffer, pos: number, tag: number, s: string): number {
  if (s.length === 0) return pos;
  buf[pos] = tag;
  pos = putVarint(buf, pos + 1, s.length);
  return pos + buf.write(s, pos, 'latin1');
}

/** putKv writes one `kvs` element (tag, length, mvccpb.KeyValue) and returns the end. */
function putKv(buf: Buffer, pos: number, k: string, r: Rec, body: number): number {
  buf[pos] = TAG_KVS;
  pos = putVarint(buf, pos + 1, body);
  pos = putString(buf, pos, KV_KEY, k);
  pos = putField(buf, pos, KV_CREATE, r.createRevision);
  pos = putField(buf, pos, KV_MOD, r.modRevision);
  pos = putField(buf, pos, KV_VERSION, r.version);
  pos = putString(buf, pos, KV_VALUE, r.value);
  return putField(buf, pos, KV_LEASE, r.lease);
}

/** headerChunk encodes format, revision and members: everything but the keys. */
function headerChunk(format: number, revision: number, members: MemberAttributes[]): Uint8Array {
  const ms = members.map((m) => membersCodec.encode(m));
  let size = fieldSize(format) + fieldSize(revision);
  for (const m of ms) size += 1 + varintSize(m.length) + m.length;
  const out = new Uint8Array(size);
  let pos = putField(out, 0, TAG_FORMAT, format);
  pos = putField(out, pos, TAG_REVISION, revision);
  for (const m of ms) {
    out[pos] = TAG_MEMBERS;
    pos = putVarint(out, pos + 1, m.length);
    out.set(m, pos);
    pos += m.length;
  }
  return out;
}

/**
 * encodeSnapshot yields the raftkv.Snapshot of `view` (a frozen store) and `members` in
 * chunks: first format, revision and members, then the keys, CHUNK_SIZE bytes at a time.
 * It yields to the event loop (setImmediate) after SLICE_MS of work, so a large store never
 * holds the loop for long. Chunks are fresh buffers that the consumer may keep.
 */
export async function* encodeSnapshot(
  format: number,
  view: KvView,
  members: MemberAttributes[],
): AsyncGenerator<Uint8Array> {
  yield headerChunk(format, view.revision, members);
  let buf = Buffer.allocUnsafeSlow(CHUNK_SIZE);
  let pos = 0;
  let start = performance.now();
  for (const [k, r] of view.entries()) {
    const body = kvBodySize(k, r);
    const size = 1 + varintSize(body) + body;
    if (pos + size > buf.length) {
      if (pos > 0) yield new Uint8Array(buf.buffer, buf.byteOffset, pos);
      buf = Buffer.allocUnsafeSlow(Math.max(CHUNK_SIZE, size));
      pos = 0;
      if (performance.now() - start >= SLICE_MS) {
        await nextTurn();
        start = performance.now();
      }
    }
    pos = putKv(buf, pos, k, r, body);
  }
  if (pos > 0) yield new Uint8Array(buf.buffer, buf.byteOffset, pos);
}

/** DecodedSnapshot is what decodeSnapshot found besides the keys. */
export interface DecodedSnapshot {
  format: number;
  revision: number;
  members: MemberAttributes[];
}

/** Reader walks protobuf wire format; every malformed input throws a RangeError. */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('Cannot decode raftkv.Snapshot: truncated');
      const b = this.buf[this.pos++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
      if (mul > 2 ** 63) throw new RangeError('Cannot decode raftkv.Snapshot: varint too long');
    }
    if (!Number.isSafeInteger(v)) {
      throw new RangeError(`Cannot decode raftkv.Snapshot: ${v} is not a safe integer`);
    }
    return v;
  }

  /** bytes returns the [start, end) of a length-delimited field's contents. */
  bytes(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    if (n > this.end - start) throw new RangeError('Cannot decode raftkv.Snapshot: truncated');
    this.pos += n;
    return [start, this.pos];
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.bytes();
    else if (wire === 1 || wire === 5) {
      this.pos += wire === 1 ? 8 : 4;
      if (this.pos > this.end) throw new RangeError('Cannot decode raftkv.Snapshot: truncated');
    } else throw new RangeError(`Cannot decode raftkv.Snapshot: wire type ${wire}`);
  }
}

/** readKv decodes one mvccpb.KeyValue in [start, end) into the builder. */
function readKv(buf: Buffer, start: number, end: number, into: KvStoreBuilder): void {
  const r = new Reader(buf, start, end);
  let key = '';
  let value = buf.subarray(0, 0);
  let create = 0;
  let mod = 0;
  let version = 0;
  let lease = 0;
  while (r.pos < end) {
    const tag = r.varint();
    if (tag === KV_KEY) {
      const [a, b] = r.bytes();
      key = buf.toString('latin1', a, b);
    } else if (tag === KV_VALUE) {
      const [a, b] = r.bytes();
      value = buf.subarray(a, b);
    } else if (tag === KV_CREATE) create = r.varint();
    else if (tag === KV_MOD) mod = r.varint();
    else if (tag === KV_VERSION) version = r.varint();
    else if (tag === KV_LEASE) lease = r.varint();
    else r.skip(tag & 7);
  }
  into.addPacked(key, packRec(value, create, mod, version, lease));
}

/**
 * decodeSnapshot reads a raftkv.Snapshot, adding its keys to `into` as it goes and
 * yielding to the event loop after SLICE_MS of work. Throws a RangeError if the bytes are
 * not a valid encoding. Keys and values are copied out of `data`.
 */
export async function decodeSnapshot(
  data: Uint8Array,
  into: KvStoreBuilder,
): Promise<DecodedSnapshot> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const r = new Reader(buf, 0, buf.length);
  const out: DecodedSnapshot = { format: 0, revision: 0, members: [] };
  let start = performance.now();
  let n = 0;
  while (r.pos < buf.length) {
    const tag = r.varint();
    if (tag === TAG_KVS) {
      const [a, b] = r.bytes();
      readKv(buf, a, b, into);
      if (++n % 1024 === 0 && performance.now() - start >= SLICE_MS) {
        await nextTurn();
        start = performance.now();
      }
    } else if (tag === TAG_FORMAT) out.format = r.varint();
    else if (tag === TAG_REVISION) out.revision = r.varint();
    else if (tag === TAG_MEMBERS) {
      const [a, b] = r.bytes();
      out.members.push(membersCodec.decode(data.subarray(a, b)));
    } else r.skip(tag & 7);
  }
  return out;
}
