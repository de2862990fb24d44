// Frame codec: round trips, any chunking (byte by byte and random splits, after
// node-postgres pg-protocol's parser tests), and the errors for every kind of bad input.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import fc from 'fast-check';

import { encodeMessage } from '../raftpb/codec.ts';
import { FrameDecodeError } from './errors.ts';
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameType,
  RejectReason,
  encodeFrame,
  encodeHello,
  encodeMessagesFrame,
  encodeReject,
  encodeSnapAck,
  encodeSnapBegin,
  encodeSnapChunk,
  encodeSnapChunkHeader,
  encodeSnapEnd,
  writeFrameHeader,
} from './frame.ts';
import type { Frame, FrameDecoderOptions } from './frame.ts';
import { decodeChunks, msgApp, sampleFrames } from './testing.ts';

/** bytesOf splits buf into one-byte chunks. */
function bytesOf(buf: Uint8Array): Uint8Array[] {
  return Array.from(buf, (_, i) => buf.subarray(i, i + 1));
}

/** splitAt cuts buf at the given (unsorted, possibly repeated) offsets. */
function splitAt(buf: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** plain turns decoded frames into comparable values (views become arrays). */
function plain(frames: readonly Frame[]): unknown {
  return JSON.parse(
    JSON.stringify(frames, (_k, v: unknown) => (v instanceof Uint8Array ? Array.from(v) : v)),
  );
}

describe('frame round trips', () => {
  const frames = sampleFrames();
  const stream = concat(frames.map(encodeFrame));

  test('every frame type survives encode then decode', () => {
    for (const f of frames) {
      const r = decodeChunks([encodeFrame(f)]);
      assert.equal(r.error, undefined);
      assert.deepEqual(plain(r.frames), plain([f]));
    }
  });

  test('a stream of frames decodes the same whole and byte by byte', () => {
    const whole = decodeChunks([stream]);
    const single = decodeChunks(bytesOf(stream));
    assert.equal(whole.error, undefined);
    assert.equal(single.error, undefined);
    assert.equal(whole.frames.length, frames.length);
    assert.deepEqual(plain(single.frames), plain(whole.frames));
    assert.deepEqual(plain(whole.frames), plain(frames));
  });

  test('a stream of frames decodes the same under random chunk splits', () => {
    const expected = plain(frames);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 40 }), (cuts) => {
        const r = decodeChunks(splitAt(stream, cuts));
        assert.equal(r.error, undefined);
        assert.deepEqual(plain(r.frames), expected);
      }),
      { numRuns: 500 },
    );
  });

  test('empty chunks are harmless', () => {
    const enc = encodeFrame(frames[0]!);
    const r = decodeChunks([
      new Uint8Array(0),
      enc.subarray(0, 2),
      new Uint8Array(0),
      enc.subarray(2),
    ]);
    assert.equal(r.error, undefined);
    assert.equal(r.frames.length, 1);
  });

  test('a large body split across many chunks is assembled once', () => {
    const big = msgApp(1, 2, 64, 4096);
    const enc = encodeMessagesFrame([encodeMessage(big)]);
    const chunks = splitAt(
      enc,
      Array.from({ length: 50 }, (_, i) => i * 5000 + 3),
    );
    const r = decodeChunks(chunks);
    assert.equal(r.error, undefined);
    const f = r.frames[0]!;
    assert.equal(f.type, FrameType.Messages);
    if (f.type === FrameType.Messages) assert.deepEqual(f.messages[0], big);
  });

  test('decoded messages do not share memory with the input', () => {
    const enc = encodeMessagesFrame([encodeMessage(msgApp(1, 2, 2, 8))]);
    const r = decodeChunks([enc]);
    enc.fill(0);
    const f = r.frames[0]!;
    assert.ok(f.type === FrameType.Messages);
    assert.deepEqual(Array.from(f.messages[0]!.entries[1]!.data!), Array(8).fill(1));
  });

  test('the limit can be raised between frames, from inside onFrame', () => {
    const small = encodeHello({ version: 1, clusterId: 1, from: 1, to: 2 });
    const big = encodeMessagesFrame([encodeMessage(msgApp(1, 2, 8, 1000))]);
    const d = new FrameDecoder({ maxFrameBytes: 64 });
    const got: Frame[] = [];
    d.push(concat([small, big]), (f) => {
      got.push(f);
      d.maxFrameBytes = 1 << 20;
    });
    assert.equal(got.length, 2);
  });
});

describe('frame decode errors', () => {
  /** failure decodes chunks and returns the error, asserting it is a FrameDecodeError. */
  function failure(chunks: readonly Uint8Array[], opts?: FrameDecoderOptions): FrameDecodeError {
    const r = decodeChunks(chunks, opts);
    assert.ok(
      r.error instanceof FrameDecodeError,
      `expected FrameDecodeError, got ${String(r.error)}`,
    );
    assert.equal(r.error.code, 'ERR_TRANSPORT_FRAME');
    return r.error;
  }

  function header(length: number, type: number): Uint8Array {
    const h = new Uint8Array(FRAME_HEADER_BYTES);
    new DataView(h.buffer).setUint32(0, length);
    h[4] = type;
    return h;
  }

  test('a length above the limit is refused from the header alone', () => {
    const err = failure([header(2 ** 31, FrameType.Messages)], { maxFrameBytes: 64 * 1024 * 1024 });
    assert.equal(err.message, 'Cannot decode frame: length 2147483648 exceeds limit 67108864');
    assert.equal(err.offset, 0);
  });

  test('the error offset points at the offending frame, whatever the chunking', () => {
    const good = encodeSnapAck(1, true);
    const stream = concat([good, good, header(5, 0)]);
    for (const chunks of [[stream], bytesOf(stream), splitAt(stream, [3, 11])]) {
      const r = decodeChunks(chunks);
      assert.equal(r.frames.length, 2, 'the frames before the bad one are delivered');
      assert.ok(r.error instanceof FrameDecodeError);
      assert.equal(r.error.message, 'Cannot decode frame: unknown frame type 0');
      assert.equal(r.error.offset, 2 * good.length);
    }
  });

  test('unknown types are refused', () => {
    for (const t of [0, 9, 200, 255]) {
      assert.match(failure([header(0, t)]).message, new RegExp(`unknown frame type ${t}$`));
    }
  });

  test('a stream that ends inside a frame is refused at end()', () => {
    const enc = encodeSnapAck(3, true);
    assert.match(failure([enc.subarray(0, 3)]).message, /inside a frame \(header: 3 of 5 bytes\)/);
    assert.match(
      failure([enc.subarray(0, 7)]).message,
      /inside a frame \(SnapAck body: 2 of 5 bytes\)/,
    );
  });

  test('bodies of the wrong size are refused', () => {
    const hello = encodeHello({ version: 1, clusterId: 1, from: 1, to: 2 });
    const longer = concat([hello, new Uint8Array(1)]);
    writeFrameHeader(longer, 0, FrameType.Hello, 27);
    assert.match(failure([longer]).message, /Hello frame: body has 27 bytes, expected 26/);
    assert.match(
      failure([header(4, FrameType.SnapAck), new Uint8Array(4)]).message,
      /SnapAck frame: body has 4 bytes, expected 5/,
    );
    assert.match(
      failure([header(3, FrameType.SnapChunk), new Uint8Array(3)]).message,
      /at least 4/,
    );
    assert.match(failure([header(0, FrameType.Reject)]).message, /Reject frame: body has 0 bytes/);
    assert.match(failure([header(0, FrameType.Messages)]).message, /Messages frame: no message/);
  });

  test('ids above 2^53-1 are refused', () => {
    const hello = encodeHello({ version: 1, clusterId: 1, from: 1, to: 2 });
    hello[FRAME_HEADER_BYTES + 2] = 0x00;
    hello[FRAME_HEADER_BYTES + 3] = 0x20; // clusterId high word 0x00200000: 2^53
    assert.match(failure([hello]).message, /Hello frame: clusterId exceeds 2\^53-1/);
  });

  test('Messages: a length prefix that overruns the body, or a bad raftpb message', () => {
    const m = encodeMessage(msgApp(1, 2, 1, 4));
    const enc = encodeMessagesFrame([m]);
    const over = enc.slice();
    new DataView(over.buffer).setUint32(FRAME_HEADER_BYTES, m.length + 1);
    assert.match(failure([over]).message, /message 0 length \d+ overruns the \d+ bytes left/);
    const cut = concat([header(3, FrameType.Messages), new Uint8Array(3)]);
    assert.match(failure([cut]).message, /length prefix truncated/);
    const bad = enc.slice();
    bad[FRAME_HEADER_BYTES + 4] = 0xff; // first tag byte: an unterminated varint
    const err = failure([bad]);
    assert.match(err.message, /^Cannot decode frame: Messages frame: Cannot decode Message/);
    assert.equal((err.cause as { code?: string }).code, 'ERR_RAFTPB_DECODE');
  });

  test('Reject: unknown reasons and invalid UTF-8 are refused', () => {
    const r = encodeReject(RejectReason.Version, 'x');
    r[FRAME_HEADER_BYTES] = 99;
    assert.match(failure([r]).message, /unknown reject reason 99/);
    const u = encodeReject(RejectReason.Version, 'x');
    u[FRAME_HEADER_BYTES + 1] = 0xc3; // a lead byte with no continuation
    assert.match(failure([u]).message, /detail is not valid UTF-8/);
  });

  test('SnapAck: the ok byte must be 0 or 1', () => {
    const a = encodeSnapAck(1, true);
    a[FRAME_HEADER_BYTES + 4] = 2;
    assert.match(failure([a]).message, /ok byte is 2/);
  });

  test('after an error the decoder stays failed', () => {
    const d = new FrameDecoder();
    assert.throws(() => d.push(header(0, 77), () => {}), FrameDecodeError);
    assert.throws(
      () => d.push(encodeSnapAck(1, true), () => assert.fail('no frame after an error')),
      /unknown frame type 77/,
    );
    assert.throws(() => d.end(), /unknown frame type 77/);
  });
});

describe('frame encoders', () => {
  test('bad arguments throw a RangeError naming them', () => {
    assert.throws(() => encodeHello({ version: 1, clusterId: -1, from: 1, to: 2 }), {
      name: 'RangeError',
      message: 'Cannot encode frame: clusterId -1 is not a safe non-negative integer',
    });
    assert.throws(
      () => encodeHello({ version: 1, clusterId: 1, from: 2 ** 53, to: 2 }),
      /from 9007199254740992/,
    );
    assert.throws(
      () => encodeSnapAck(2 ** 32, true),
      /snapId 4294967296 is not an integer in 0..2\^32-1/,
    );
    assert.throws(() => encodeSnapEnd(1, new Uint8Array(31)), /sha256 has 31 bytes, not 32/);
    assert.throws(() => encodeMessagesFrame([]), /needs a message/);
    assert.throws(() => new FrameDecoder({ maxFrameBytes: -1 }), /maxFrameBytes -1/);
  });

  test('a long reject detail is cut on a character boundary', () => {
    const r = decodeChunks([encodeReject(RejectReason.Identity, 'é'.repeat(400))]);
    assert.equal(r.error, undefined);
    const f = r.frames[0]!;
    assert.ok(f.type === FrameType.Reject);
    assert.equal(f.detail, 'é'.repeat(256));
  });

  test('a chunk header plus its data equals encodeSnapChunk', () => {
    const data = new Uint8Array([9, 8, 7]);
    assert.deepEqual(concat([encodeSnapChunkHeader(4, 3), data]), encodeSnapChunk(4, data));
    assert.equal(encodeSnapBegin(1, 0, new Uint8Array(2)).length, FRAME_HEADER_BYTES + 14);
  });
});
