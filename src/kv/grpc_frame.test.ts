import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { GrpcCode, KvError } from './errors.ts';
import {
  encodeStatusMessage,
  frameMessage,
  parseTimeout,
  PrefixBytes,
  UnaryMessageReader,
} from './grpc_frame.ts';

const P = '/etcdserverpb.KV/Put';

function prefix(flag: number, length: number): Uint8Array {
  const b = new Uint8Array(PrefixBytes);
  const v = new DataView(b.buffer);
  v.setUint8(0, flag);
  v.setUint32(1, length, false);
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function kvError(code: number, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof KvError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  };
}

/** read pushes the chunks to a reader and ends it. */
function read(chunks: Uint8Array[], max = 1024): Uint8Array {
  const r = new UnaryMessageReader(P, max);
  for (const c of chunks) r.push(c);
  return r.end();
}

describe('UnaryMessageReader', () => {
  test('reads a message whole, byte by byte and on any split', () => {
    const msg = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    const framed = new Uint8Array(frameMessage(msg));
    assert.deepEqual(framed.subarray(0, PrefixBytes), prefix(0, 7));
    assert.deepEqual(read([framed]), msg);
    assert.deepEqual(read([...framed].map((x) => new Uint8Array([x]))), msg);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (m, cuts) => {
          const f = new Uint8Array(frameMessage(m));
          const at = [...new Set(cuts.map((c) => c % (f.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let from = 0;
          for (const c of [...at, f.length]) {
            chunks.push(f.subarray(from, c));
            from = c;
          }
          assert.deepEqual(read(chunks, 300), m);
        },
      ),
    );
  });

  test('an empty message is a message', () => {
    assert.deepEqual(read([prefix(0, 0)]), new Uint8Array());
  });

  test('no message, a cut prefix, a cut message', () => {
    assert.throws(() => read([]), kvError(GrpcCode.INVALID_ARGUMENT, /has no message/));
    assert.throws(
      () => read([new Uint8Array([0, 0, 0])]),
      kvError(GrpcCode.INVALID_ARGUMENT, /ended inside a message: 3 bytes of a 5-byte prefix/),
    );
    assert.throws(
      () => read([prefix(0, 10), new Uint8Array([1, 2, 3])]),
      kvError(GrpcCode.INVALID_ARGUMENT, /ended inside a message: 3 bytes of 10 bytes/),
    );
  });

  test('a bad flag byte, a compressed message, an oversize one, a second one', () => {
    assert.throws(
      () => read([prefix(7, 1), new Uint8Array([1])]),
      kvError(GrpcCode.INVALID_ARGUMENT, /flag byte 7 is neither 0 nor 1/),
    );
    const r = new UnaryMessageReader(P, 1024, 'gzip');
    assert.throws(
      () => r.push(prefix(1, 1)),
      kvError(
        GrpcCode.UNIMPLEMENTED,
        /compressed messages are not supported \(grpc-encoding gzip\)/,
      ),
    );
    // The limit is checked on the prefix, before the body is buffered.
    assert.throws(
      () => new UnaryMessageReader(P, 1024).push(prefix(0, 1025)),
      kvError(GrpcCode.RESOURCE_EXHAUSTED, /1025 bytes exceeds the limit of 1024 bytes/),
    );
    assert.throws(
      () => read([concat(prefix(0, 1), new Uint8Array([9]), prefix(0, 0))]),
      kvError(GrpcCode.INVALID_ARGUMENT, /more than one message/),
    );
    assert.throws(
      () => read([prefix(0, 1), new Uint8Array([9]), new Uint8Array([0])]),
      kvError(GrpcCode.INVALID_ARGUMENT, /more than one message/),
    );
  });
});

describe('grpc-message and grpc-timeout', () => {
  test('encodeStatusMessage percent-encodes what is not printable ASCII, and %', () => {
    assert.equal(
      encodeStatusMessage('etcdserver: key is not provided'),
      'etcdserver: key is not provided',
    );
    assert.equal(encodeStatusMessage('100% é\n'), '100%25 %C3%A9%0A');
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = encodeStatusMessage(s);
        assert.match(e, /^[\x20-\x7e]*$/);
        const bytes = Buffer.from(
          e.replace(/%([0-9A-F]{2})|[^%]/g, (m: string, hex: string | undefined) =>
            hex === undefined ? m : String.fromCharCode(parseInt(hex, 16)),
          ),
          'latin1',
        );
        assert.equal(bytes.toString('utf8'), Buffer.from(s, 'utf8').toString('utf8'));
      }),
    );
  });

  test('parseTimeout reads every unit and refuses malformed values', () => {
    assert.equal(parseTimeout('2H'), 7_200_000);
    assert.equal(parseTimeout('3M'), 180_000);
    assert.equal(parseTimeout('5S'), 5000);
    assert.equal(parseTimeout('250m'), 250);
    assert.equal(parseTimeout('1500u'), 1.5);
    assert.equal(parseTimeout('2000000n'), 2);
    for (const bad of ['', 'S', '5', '5s', '-5S', '123456789S', '1.5S', ' 5S']) {
      assert.throws(
        () => parseTimeout(bad),
        kvError(GrpcCode.INVALID_ARGUMENT, /grpc-timeout .* is not 1 to 8 digits/),
        bad,
      );
    }
  });
});
