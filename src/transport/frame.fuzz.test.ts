// Fuzzing the frame decoder with fast-check: at least 100,000 mutated frames (FUZZ_RUNS
// raises or lowers it). The decoder must never throw anything but a FrameDecodeError, its
// answer must not depend on how the bytes are chunked, and every mutation that breaks the
// framing (truncation, bad type, oversized or inconsistent lengths) must be rejected.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { FrameDecodeError } from './errors.ts';
import { FRAME_HEADER_BYTES, FrameType, encodeFrame } from './frame.ts';
import type { Frame } from './frame.ts';
import { decodeChunks, sampleFrames } from './testing.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 100_000);
const LIMIT = 4096;

const corpus: Uint8Array[] = sampleFrames().map(encodeFrame);

/** Mutation is one random edit of a frame's bytes. */
type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'set'; pos: number; value: number }
  | { kind: 'insert'; pos: number; bytes: Uint8Array }
  | { kind: 'delete'; pos: number; n: number }
  | { kind: 'truncate'; pos: number }
  | { kind: 'length'; value: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), pos: fc.nat(), value: fc.nat(255) }),
  fc.record({
    kind: fc.constant('insert' as const),
    pos: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    pos: fc.nat(),
    n: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('length' as const), value: fc.nat({ max: 0xffffffff }) }),
);

function mutate(src: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = src.slice();
  for (const m of muts) {
    const at = b.length === 0 ? 0 : ('pos' in m ? m.pos : 0) % b.length;
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'insert': {
        const out = new Uint8Array(b.length + m.bytes.length);
        out.set(b.subarray(0, at), 0);
        out.set(m.bytes, at);
        out.set(b.subarray(at), at + m.bytes.length);
        b = out;
        break;
      }
      case 'delete':
        b = Uint8Array.of(...b.subarray(0, at), ...b.subarray(at + m.n));
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'length':
        if (b.length >= 4) new DataView(b.buffer, b.byteOffset).setUint32(0, m.value);
        break;
    }
  }
  return b;
}

/** outcome summarises a decode for comparison across chunkings. */
function outcome(r: { frames: Frame[]; error: unknown }): string {
  if (r.error !== undefined && !(r.error instanceof FrameDecodeError)) {
    throw new Error('decoder threw something other than a FrameDecodeError', { cause: r.error });
  }
  const err = r.error instanceof FrameDecodeError ? `${r.error.message}@${r.error.offset}` : '';
  return `${r.frames.map((f) => f.type).join(',')}|${err}`;
}

test(`fuzz: ${RUNS} mutated frames never crash the decoder and decode alike in any chunking`, (t) => {
  let rejected = 0;
  fc.assert(
    fc.property(
      fc.nat(corpus.length - 1),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (i, muts, cut) => {
        const b = mutate(corpus[i]!, muts);
        const c = b.length === 0 ? 0 : cut % b.length;
        const whole = outcome(decodeChunks([b], { maxFrameBytes: LIMIT }));
        const split = outcome(
          decodeChunks([b.subarray(0, c), b.subarray(c)], { maxFrameBytes: LIMIT }),
        );
        assert.equal(split, whole);
        if (whole.endsWith('|') === false) rejected++;
      },
    ),
    { numRuns: RUNS },
  );
  t.diagnostic(
    `${rejected} of ${RUNS} mutated frames rejected; the rest still decode to valid frames`,
  );
  assert.ok(rejected > RUNS / 2, `only ${rejected} of ${RUNS} rejected`);
});

/** Breakage is a mutation that always leaves the framing invalid. */
const breakage = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('type' as const),
    value: fc.oneof(fc.constant(0), fc.integer({ min: 9, max: 255 })),
  }),
  fc.record({
    kind: fc.constant('oversize' as const),
    value: fc.integer({ min: LIMIT + 1, max: 0xffffffff }),
  }),
  fc.record({
    kind: fc.constant('resize' as const),
    delta: fc.integer({ min: -8, max: 8 }).filter((d) => d !== 0),
  }),
);

test(`fuzz: ${Math.round(RUNS / 5)} frames broken in their framing are each rejected`, () => {
  const fixed = new Set<number>([
    FrameType.Hello,
    FrameType.Welcome,
    FrameType.SnapEnd,
    FrameType.SnapAck,
  ]);
  const fixedSize = corpus.filter((f) => fixed.has(f[4]!));
  fc.assert(
    fc.property(fc.nat(corpus.length - 1), breakage, fc.nat(), (i, br, cut) => {
      let b: Uint8Array;
      const src = corpus[i]!;
      switch (br.kind) {
        case 'truncate':
          b = src.slice(0, Math.max(0, src.length - br.n));
          break;
        case 'type':
          b = src.slice();
          b[4] = br.value;
          break;
        case 'oversize':
          b = src.slice();
          new DataView(b.buffer).setUint32(0, br.value);
          break;
        case 'resize': {
          // A fixed-size body that is longer or shorter than its type allows, with a header
          // that agrees with it (so the framing itself stays consistent).
          const f = fixedSize[i % fixedSize.length]!;
          const body = f.length - FRAME_HEADER_BYTES + br.delta;
          if (body < 0) return;
          b = new Uint8Array(FRAME_HEADER_BYTES + body);
          b.set(f.subarray(0, Math.min(f.length, b.length)));
          new DataView(b.buffer).setUint32(0, body);
          break;
        }
      }
      const c = b.length === 0 ? 0 : cut % b.length;
      for (const chunks of [[b], [b.subarray(0, c), b.subarray(c)]]) {
        const r = decodeChunks(chunks, { maxFrameBytes: LIMIT });
        if (b.length === 0) assert.equal(r.error, undefined);
        else assert.ok(r.error instanceof FrameDecodeError, `not rejected: ${br.kind}`);
        assert.equal(r.frames.length, 0);
      }
    }),
    { numRuns: Math.round(RUNS / 5) },
  );
});
