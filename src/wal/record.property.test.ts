// Properties of WAL record framing with fast-check: the fast reader (readFrame, scanSegment)
// against a naive one written from the documented layout with a bitwise CRC-32C; batches of
// any records read back exactly; damaged or random bytes never crash a reader and never yield
// a record that was not written; the fixed-layout bodies decode totally. Plus the regression
// test for FrameWriter writing into the buffer it had just outgrown (found by npm run chaos).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeHardState } from '../raftpb/codec.ts';
import { EntryType } from '../raftpb/types.ts';
import type { Entry, HardState } from '../raftpb/types.ts';
import {
  SEGMENT_VERSION,
  decodeSegmentHeader,
  decodeSnapshotApplied,
  decodeSnapshotTaken,
  encodeSegmentHeader,
  encodeSnapshotApplied,
  encodeSnapshotTaken,
  segmentHeaderSeed,
} from './bodies.ts';
import type { SegmentHeader } from './bodies.ts';
import { crc32c } from './crc.ts';
import { WalCorruptError } from './errors.ts';
import { FaultFS } from './faultfs.ts';
import { FrameKind, FrameWriter, RecordType, readFrame } from './record.ts';
import type { Frame } from './record.ts';
import { scanSegment } from './scan.ts';
import { openDiskStorage } from './storage.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** naiveCrc32c is CRC-32C bit by bit (reflected polynomial 0x82F63B78), continuing from seed. */
function naiveCrc32c(data: Uint8Array, seed = 0): number {
  let crc = ~seed >>> 0;
  for (const b of data) {
    crc = (crc ^ b) >>> 0;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? ((crc >>> 1) ^ 0x82f63b78) >>> 0 : crc >>> 1;
  }
  return ~crc >>> 0;
}

const u32 = (b: Uint8Array, at: number): number =>
  ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
  (b[at + 3] as number) * 2 ** 24;

/**
 * naiveFrame classifies the frame at off from the layout in record.ts's comment alone:
 * length u32, type u8, padding u8 (1..8, the frame ends 8-aligned), header check u16 (low
 * bits of the CRC of bytes 0..5), body CRC u32 (chained from seed), body, zeros, 0xA5.
 */
function naiveFrame(buf: Uint8Array, off: number, seed: number): { kind: string; end: number } {
  if (buf.length - off < 8) return { kind: FrameKind.Eof, end: off + 8 };
  if (buf.subarray(off, off + 8).every((x) => x === 0))
    return { kind: FrameKind.Zero, end: off + 8 };
  const len = u32(buf, off);
  const type = buf[off + 4] as number;
  const pad = buf[off + 5] as number;
  const check = (buf[off + 6] as number) | ((buf[off + 7] as number) << 8);
  if (check !== (naiveCrc32c(buf.subarray(off, off + 6)) & 0xffff)) {
    return { kind: FrameKind.BadHeader, end: off + 8 };
  }
  const aligned = (12 + len + pad) % 8 === 0 && pad >= 1 && pad <= 8;
  if (type < 1 || type > 5 || len > 2 ** 30 || !aligned)
    return { kind: FrameKind.BadHeader, end: off + 8 };
  const end = off + 12 + len + pad;
  if (end > buf.length) return { kind: FrameKind.Eof, end };
  const padOk = buf[end - 1] === 0xa5 && buf.subarray(end - pad, end - 1).every((x) => x === 0);
  if (!padOk) return { kind: FrameKind.BadBody, end };
  const body = buf.subarray(off + 12, off + 12 + len);
  if (naiveCrc32c(body, seed) !== u32(buf, off + 8)) return { kind: FrameKind.BadBody, end };
  return { kind: FrameKind.Ok, end };
}

/** Rec is a record to write: its type and body. */
interface Rec {
  type: RecordType;
  body: Uint8Array;
}

const bytesArb = (max: number): fc.Arbitrary<Uint8Array> =>
  fc.uint8Array({ minLength: 0, maxLength: max });

const hardStateArb: fc.Arbitrary<HardState> = fc.record({
  term: fc.nat(),
  vote: fc.nat(),
  commit: fc.nat(),
});

const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: fc.nat(),
  index: fc.nat(),
  type: fc.constant(EntryType.EntryNormal),
  data: fc.oneof(
    bytesArb(64),
    // Large bodies, so that many batches outgrow FrameWriter's initial 64 KiB buffer.
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.integer({ min: 2000, max: 20_000 }), fc.nat(255))
        .map(([n, x]) => new Uint8Array(n).fill(x)),
    },
  ),
});

/** recArb is one record as FrameWriter writes it (entries through addEntry). */
const recArb: fc.Arbitrary<{ entry?: Entry; rec: Rec }> = fc.oneof(
  {
    weight: 4,
    arbitrary: entryArb.map((e) => ({
      entry: e,
      rec: { type: RecordType.Entry, body: new Uint8Array() },
    })),
  },
  hardStateArb.map((hs) => ({ rec: { type: RecordType.HardState, body: encodeHardState(hs) } })),
  fc
    .record({ index: fc.nat(), term: fc.nat() })
    .map((m) => ({ rec: { type: RecordType.SnapshotTaken, body: encodeSnapshotTaken(m) } })),
  fc
    .record({ index: fc.nat(), term: fc.nat(), hardState: hardStateArb })
    .map((a) => ({ rec: { type: RecordType.SnapshotApplied, body: encodeSnapshotApplied(a) } })),
);

/** write encodes recs in one batch and returns the bytes and what each body must be. */
function write(
  recs: readonly { entry?: Entry; rec: Rec }[],
  seed: number,
): { bytes: Uint8Array; bodies: Rec[] } {
  const w = new FrameWriter();
  for (const r of recs) {
    if (r.entry !== undefined) w.addEntry(r.entry);
    else w.addBody(r.rec.type, r.rec.body);
  }
  w.seal(seed);
  const bytes = w.bytes().slice();
  // Read bodies back with the naive layout, to compare with the fast reader's.
  const bodies: Rec[] = [];
  for (let off = 0; off < bytes.length;) {
    const len = u32(bytes, off);
    bodies.push({
      type: bytes[off + 4] as RecordType,
      body: bytes.subarray(off + 12, off + 12 + len),
    });
    off += 12 + len + (bytes[off + 5] as number);
  }
  return { bytes, bodies };
}

function readAll(bytes: Uint8Array, seed: number): Frame[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Frame[] = [];
  let crc = seed;
  for (let off = 0; off < bytes.length;) {
    const f = readFrame(bytes, view, off, crc);
    out.push(f);
    if (f.kind !== FrameKind.Ok) break;
    crc = f.crc;
    off = f.end;
  }
  return out;
}

void test('regression: a record that makes the batch outgrow its buffer keeps its body', () => {
  // FrameWriter's buffer starts at 64 KiB. It used to encode the record that made it grow
  // into the buffer it had just replaced: a RangeError ("Cannot encode Entry: 10285 bytes at
  // offset 62012 exceed buffer length 65536", which stopped the WAL for good), or, when only
  // the padding crossed the end, a record of zeros with a valid CRC.
  const size = 1 << 16;
  for (let room = 0; room <= 64; room++) {
    for (const second of [1, 7, 8, 20, 10_285]) {
      const first = size - room - 12 - 8; // leaves `room` bytes (give or take the padding)
      const w = new FrameWriter();
      w.addBody(RecordType.SnapshotTaken, new Uint8Array(first).fill(1));
      const body = new Uint8Array(second).fill(0x5a);
      w.addBody(RecordType.SnapshotApplied, body);
      const e: Entry = { term: 3, index: 9, type: EntryType.EntryNormal, data: body };
      w.addEntry(e);
      w.seal(0);
      const frames = readAll(w.bytes(), 0);
      assert.deepEqual(
        frames.map((f) => f.kind),
        [FrameKind.Ok, FrameKind.Ok, FrameKind.Ok],
        `room ${room}, second ${second}`,
      );
      const f = frames[1] as Frame;
      assert.deepEqual(w.bytes().subarray(f.bodyOffset, f.bodyOffset + f.bodyLength), body);
    }
  }
});

void test('CRC-32C equals a bitwise implementation and chains', () => {
  fc.assert(
    fc.property(bytesArb(300), bytesArb(300), fc.nat(0xffffffff), (a, b, seed) => {
      assert.equal(crc32c(a, seed), naiveCrc32c(a, seed));
      const ab = new Uint8Array([...a, ...b]);
      assert.equal(crc32c(b, crc32c(a, seed)), crc32c(ab, seed));
    }),
    { numRuns: RUNS },
  );
});

void test('any batch of records reads back exactly, and the naive reader agrees', () => {
  fc.assert(
    fc.property(
      fc.array(recArb, { minLength: 1, maxLength: 24 }),
      fc.nat(0xffffffff),
      (recs, seed) => {
        const { bytes, bodies } = write(recs, seed);
        const frames = readAll(bytes, seed);
        assert.equal(frames.length, recs.length);
        let crc = seed;
        let off = 0;
        frames.forEach((f, i) => {
          assert.equal(f.kind, FrameKind.Ok);
          assert.equal(naiveFrame(bytes, off, crc).kind, FrameKind.Ok);
          const want = bodies[i] as Rec;
          const r = recs[i] as { entry?: Entry; rec: Rec };
          assert.equal(f.type, r.entry !== undefined ? RecordType.Entry : r.rec.type);
          if (r.entry === undefined) assert.deepEqual(want.body, r.rec.body);
          assert.deepEqual(bytes.subarray(f.bodyOffset, f.bodyOffset + f.bodyLength), want.body);
          assert.equal(f.end % 8, 0);
          crc = f.crc;
          off = f.end;
        });
      },
    ),
    { numRuns: RUNS },
  );
});

/** Damage is a change to a byte buffer. */
type Damage =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'zero'; at: number };

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('zero' as const), at: fc.nat() }),
);

function damage(orig: Uint8Array, ds: readonly Damage[]): Uint8Array {
  let b = orig.slice();
  for (const d of ds) {
    if (b.length === 0) break;
    const at = d.at % b.length;
    if (d.kind === 'flip') b[at] = (b[at] as number) ^ (1 << d.bit);
    else if (d.kind === 'set') b[at] = d.value;
    else if (d.kind === 'cut') b = b.slice(0, at);
    else b.fill(0, at);
  }
  return b;
}

void test('damaged frames: the fast reader classifies every frame as the naive one does', () => {
  fc.assert(
    fc.property(
      fc.array(recArb, { minLength: 1, maxLength: 6 }),
      fc.array(damageArb, { minLength: 1, maxLength: 3 }),
      fc.nat(0xffffffff),
      (recs, ds, seed) => {
        const bytes = damage(write(recs, seed).bytes, ds);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        let crc = seed;
        for (let off = 0; off < bytes.length;) {
          const f = readFrame(bytes, view, off, crc);
          const n = naiveFrame(bytes, off, crc);
          assert.equal(f.kind, n.kind, `frame at ${off}: ${f.reason}`);
          assert.equal(f.end, n.end);
          if (f.kind !== FrameKind.Ok) break;
          crc = f.crc;
          off = f.end;
        }
      },
    ),
    { numRuns: RUNS },
  );
});

const header = (seq: number, prevCrc: number): SegmentHeader => ({
  seq,
  firstIndex: 1,
  prevCrc,
  hardState: { term: 1, vote: 1, commit: 0 },
  snapshot: { index: 0, term: 0 },
});

/** segment builds a segment file: header record, the records, then a zero tail. */
function segment(
  recs: readonly { entry?: Entry; rec: Rec }[],
  tail: number,
): { file: Uint8Array; bodies: Rec[] } {
  const w = new FrameWriter();
  const h = encodeSegmentHeader(header(1, 0x1234));
  w.addBody(RecordType.SegmentHeader, h);
  const headerCrc = w.seal(segmentHeaderSeed(h));
  const head = w.bytes().slice();
  const { bytes, bodies } = write(recs, headerCrc);
  const file = new Uint8Array(head.length + bytes.length + tail);
  file.set(head);
  file.set(bytes, head.length);
  return { file, bodies };
}

void test('damaged segments never crash the scan and never yield a record that was not written', () => {
  fc.assert(
    fc.property(
      fc.array(recArb, { minLength: 0, maxLength: 6 }),
      fc.array(damageArb, { minLength: 1, maxLength: 3 }),
      fc.nat(2048),
      fc.boolean(),
      (recs, ds, tail, isLast) => {
        const { file, bodies } = segment(recs, tail);
        const bad = damage(file, ds);
        let scan;
        try {
          scan = scanSegment(bad, 'seg.wal', isLast);
        } catch (err) {
          assert.ok(err instanceof WalCorruptError, `threw ${String(err)}`);
          assert.equal(err.file, 'seg.wal');
          return;
        }
        assert.ok(scan.records.length <= bodies.length);
        scan.records.forEach((r, i) => {
          const want = bodies[i] as Rec;
          assert.equal(r.type, want.type);
          assert.deepEqual(r.body, want.body, `record ${i}`);
        });
      },
    ),
    { numRuns: RUNS },
  );
});

void test('random bytes never crash the scan', () => {
  fc.assert(
    fc.property(bytesArb(4096), fc.boolean(), (b, isLast) => {
      try {
        scanSegment(b, 'seg.wal', isLast);
      } catch (err) {
        assert.ok(err instanceof WalCorruptError, `threw ${String(err)}`);
      }
    }),
    { numRuns: RUNS },
  );
});

void test('segment header and snapshot marker bodies: total decoders, exact round trips', () => {
  const safe = fc.nat({ max: Number.MAX_SAFE_INTEGER });
  fc.assert(
    fc.property(bytesArb(100), (b) => {
      for (const decode of [decodeSegmentHeader, decodeSnapshotTaken, decodeSnapshotApplied]) {
        const r = decode(b);
        assert.ok(typeof r === 'string' || typeof r === 'object');
      }
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(safe, safe, safe, safe, safe, fc.nat(0xffffffff), (a, b, c, d, e, crc) => {
      const h: SegmentHeader = {
        seq: a,
        firstIndex: b,
        prevCrc: crc,
        hardState: { term: c, vote: d, commit: e },
        snapshot: { index: b, term: c },
      };
      assert.deepEqual(decodeSegmentHeader(encodeSegmentHeader(h)), h);
      assert.deepEqual(decodeSnapshotTaken(encodeSnapshotTaken({ index: a, term: b })), {
        index: a,
        term: b,
      });
      const applied = { index: a, term: b, hardState: { term: c, vote: d, commit: e } };
      assert.deepEqual(decodeSnapshotApplied(encodeSnapshotApplied(applied)), applied);
    }),
    { numRuns: RUNS },
  );
  assert.equal(SEGMENT_VERSION, 1);
});

void test('regression: DiskStorage saves and reopens a batch larger than 64 KiB', async () => {
  // What the chaos run saw: a member writing ten 10 KiB entries in one save stopped with
  // "wal: write failed, storage stopped for good: RangeError: Cannot encode Entry".
  const fs = new FaultFS();
  const s = await openDiskStorage('/wal', { fs, segmentSize: 1 << 20 });
  const entries: Entry[] = Array.from({ length: 10 }, (_, i) => ({
    term: 2,
    index: i + 1,
    type: EntryType.EntryNormal,
    data: new Uint8Array(10_285).fill(i + 1),
  }));
  const hs = { term: 2, vote: 1, commit: 4 };
  await s.save(hs, entries);
  await s.close();
  const again = await openDiskStorage('/wal', { fs, segmentSize: 1 << 20 });
  assert.deepEqual(again.initialState().hardState, hs);
  assert.deepEqual(again.entries(1, 11, Infinity), entries);
  await again.close();
});
