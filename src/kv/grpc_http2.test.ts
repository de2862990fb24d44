// GrpcH2Server and GrpcHttp2Server against a raw node:http2 client: framing, headers and stream failures a
// gRPC library never sends. grpc.test.ts covers the API through real gRPC clients.
import assert from 'node:assert/strict';
import { connect, constants } from 'node:http2';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { codec } from './codec.ts';
import { GrpcCode } from './errors.ts';
import { GrpcOverheadBytes } from './grpc.ts';
import { frameMessage, PrefixBytes } from './grpc_frame.ts';
import { putReq, startStack, StubBackend, until } from './testing.ts';
import type { Stack } from './testing.ts';
import type { PutRequest, PutResponse } from './types.ts';

const putCodec = codec<PutRequest>('etcdserverpb.PutRequest');
const putResCodec = codec<PutResponse>('etcdserverpb.PutResponse');
const PUT = '/etcdserverpb.KV/Put';
const MaxRequestBytes = 10_000;

/** Answer is what the client got: headers, body bytes, trailers (or the headers, if none). */
interface Answer {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
}

function grpcHeaders(path: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...extra,
  };
}

/**
 * send opens a stream, writes each chunk (ending the stream after them unless `open`), and
 * resolves with the answer once the stream closes.
 */
function send(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  chunks: Uint8Array[],
  o: { open?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: false });
    let head: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    const body: Buffer[] = [];
    req.on('response', (h) => {
      head = h;
    });
    req.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = t;
    });
    req.on('data', (d: Buffer) => body.push(d));
    req.on('error', reject);
    req.on('close', () =>
      resolve({ headers: head, body: Buffer.concat(body), trailers: trailers ?? head }),
    );
    for (const c of chunks) req.write(c);
    if (o.open !== true) req.end();
  });
}

function assertStatus(a: Answer, code: number, message: RegExp): void {
  assert.equal(a.trailers['grpc-status'], String(code), JSON.stringify(a.trailers));
  assert.match(decodeURIComponent(String(a.trailers['grpc-message'])), message);
}

function prefix(flag: number, length: number): Uint8Array {
  const b = Buffer.alloc(PrefixBytes);
  b[0] = flag;
  b.writeUInt32BE(length, 1);
  return b;
}

// Both of raftkv's own gRPC servers are held to the same table: GrpcH2Server (its own
// HTTP/2, the default) and GrpcHttp2Server (node:http2).
for (const impl of ['h2', 'http2'] as const) {
  describe(`${impl}: malformed calls`, { timeout: 30_000 }, () => {
    let stack: Stack;
    let session: ClientHttp2Session;
    before(async () => {
      stack = await startStack({
        service: { limits: { maxRequestBytes: MaxRequestBytes } },
        server: { publish: false, grpc: { impl } },
      });
      session = connect(stack.url);
    });
    after(async () => {
      session.close();
      await stack.close();
    });

    test('a good call: HEADERS 200, one DATA message, trailers grpc-status 0', async () => {
      const a = await send(session, grpcHeaders(PUT), [
        frameMessage(putCodec.encode(putReq('k', 'v'))),
      ]);
      assert.equal(a.headers[':status'], 200);
      assert.equal(a.headers['content-type'], 'application/grpc');
      assert.equal(a.trailers['grpc-status'], '0');
      assert.equal(a.body.readUInt32BE(1), a.body.length - PrefixBytes);
      const res = putResCodec.decode(a.body.subarray(PrefixBytes));
      assert.ok((res.header?.revision ?? 0) >= 2);
    });

    test('a request split into one-byte DATA frames is read whole', async () => {
      const framed = frameMessage(putCodec.encode(putReq('split', 'v')));
      const a = await send(
        session,
        grpcHeaders(PUT),
        [...framed].map((x) => Buffer.from([x])),
      );
      assert.equal(a.trailers['grpc-status'], '0');
      assert.equal(stack.sm.range({ ...rangeAll, key: Buffer.from('split') }).count, 1);
    });

    test('malformed length prefix (flag byte) is INVALID_ARGUMENT', async () => {
      const a = await send(session, grpcHeaders(PUT), [prefix(7, 1), Buffer.from([0])]);
      assertStatus(a, GrpcCode.INVALID_ARGUMENT, /\/etcdserverpb\.KV\/Put: .*flag byte 7/);
    });

    test('a truncated message or prefix, and no message, are INVALID_ARGUMENT', async () => {
      const msg = putCodec.encode(putReq('k', 'v'));
      const cut = await send(session, grpcHeaders(PUT), [
        prefix(0, msg.length),
        msg.subarray(0, 2),
      ]);
      assertStatus(cut, GrpcCode.INVALID_ARGUMENT, /ended inside a message: 2 bytes of \d+ bytes/);
      const head = await send(session, grpcHeaders(PUT), [Buffer.from([0, 0])]);
      assertStatus(head, GrpcCode.INVALID_ARGUMENT, /2 bytes of a 5-byte prefix/);
      const none = await send(session, grpcHeaders(PUT), []);
      assertStatus(none, GrpcCode.INVALID_ARGUMENT, /has no message/);
    });

    test('an oversize message is RESOURCE_EXHAUSTED as soon as its prefix arrives', async () => {
      const limit = MaxRequestBytes + GrpcOverheadBytes;
      // The stream stays open: the server answers on the prefix alone.
      const a = await send(session, grpcHeaders(PUT), [prefix(0, limit + 1)], { open: true });
      assertStatus(
        a,
        GrpcCode.RESOURCE_EXHAUSTED,
        new RegExp(`${limit + 1} bytes exceeds the limit of ${limit}`),
      );
    });

    test('a compressed message is UNIMPLEMENTED, naming the encoding', async () => {
      const h = grpcHeaders(PUT, { 'grpc-encoding': 'gzip' });
      const a = await send(session, h, [prefix(1, 3), Buffer.from([1, 2, 3])]);
      assertStatus(
        a,
        GrpcCode.UNIMPLEMENTED,
        /compressed messages are not supported \(grpc-encoding gzip\)/,
      );
      assert.equal(a.trailers['grpc-accept-encoding'], 'identity');
    });

    test('an unknown or streaming method is UNIMPLEMENTED, naming it', async () => {
      const a = await send(session, grpcHeaders('/no.Such/Method'), [prefix(0, 0)]);
      assertStatus(a, GrpcCode.UNIMPLEMENTED, /^raftkv does not implement \/no\.Such\/Method$/);
      const w = await send(session, grpcHeaders('/etcdserverpb.Watch/Watch'), [], { open: true });
      assertStatus(w, GrpcCode.UNIMPLEMENTED, /\/etcdserverpb\.Watch\/Watch/);
    });

    test('a wrong content-type is HTTP 415, a GET is HTTP 405', async () => {
      const h = grpcHeaders(PUT, { 'content-type': 'application/json' });
      const a = await send(session, h, [Buffer.from('{}')]);
      assert.equal(a.headers[':status'], 415);
      assertStatus(
        a,
        GrpcCode.INVALID_ARGUMENT,
        /content-type "application\/json" is not application\/grpc/,
      );
      const g = await send(session, { ...grpcHeaders(PUT), ':method': 'GET' }, [], { open: true });
      assert.equal(g.headers[':status'], 405);
      const plus = await send(
        session,
        grpcHeaders(PUT, { 'content-type': 'application/grpc+proto' }),
        [frameMessage(putCodec.encode(putReq('plus', 'v')))],
      );
      assert.equal(plus.trailers['grpc-status'], '0');
    });

    test('a malformed grpc-timeout is INVALID_ARGUMENT', async () => {
      const a = await send(session, grpcHeaders(PUT, { 'grpc-timeout': '5 seconds' }), []);
      assertStatus(a, GrpcCode.INVALID_ARGUMENT, /grpc-timeout "5 seconds"/);
    });

    test('fuzz: any DATA, in any chunks, is answered with a status that is not INTERNAL', async () => {
      const paths = [PUT, '/etcdserverpb.KV/Range', '/etcdserverpb.KV/Txn', '/no.Such/Method'];
      const good = frameMessage(putCodec.encode(putReq('f', 'v')));
      const body = fc.oneof(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }),
        // A good message with bytes changed, cut or appended.
        fc
          .tuple(fc.nat(good.length), fc.uint8Array({ maxLength: 8 }), fc.boolean())
          .map(([at, extra, cut]) => [
            cut ? good.subarray(0, at) : Buffer.concat([good.subarray(0, at), extra]),
          ]),
      );
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...paths), body, async (path, chunks) => {
          const a = await send(session, grpcHeaders(path), chunks);
          const code = Number(a.trailers['grpc-status']);
          assert.ok(Number.isInteger(code), JSON.stringify(a.trailers));
          assert.notEqual(code, GrpcCode.INTERNAL, String(a.trailers['grpc-message']));
          assert.notEqual(code, GrpcCode.UNKNOWN, String(a.trailers['grpc-message']));
          if (code !== 0) assert.ok(String(a.trailers['grpc-message']).length > 0);
        }),
        { numRuns: Number(process.env['FUZZ_RUNS'] ?? 300) },
      );
    });

    test('the connection keeps serving after all that', async () => {
      const a = await send(session, grpcHeaders(PUT), [
        frameMessage(putCodec.encode(putReq('z', '1'))),
      ]);
      assert.equal(a.trailers['grpc-status'], '0');
    });
  });

  const rangeAll = {
    key: Buffer.from(''),
    rangeEnd: Buffer.from(''),
    limit: 0,
    revision: 0,
    sortOrder: 0,
    sortTarget: 0,
    serializable: true,
    keysOnly: false,
    countOnly: true,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  };

  describe(`${impl}: cancel and deadline`, { timeout: 30_000 }, () => {
    let stack: Stack;
    let stub: StubBackend;
    let session: ClientHttp2Session;
    before(async () => {
      stack = await startStack({
        backend: (sm) => (stub = new StubBackend(sm)),
        server: { publish: false, grpc: { impl } },
      });
      session = connect(stack.url);
    });
    after(async () => {
      session.close();
      await stack.close();
    });

    test('a client RST_STREAM mid-request cancels the call in the service', async () => {
      stub.hold();
      try {
        const failed = stack.service.proposalStats.failed;
        const req = session.request(grpcHeaders(PUT));
        req.on('error', () => undefined);
        req.end(frameMessage(putCodec.encode(putReq('cancelled', 'v'))));
        await until(() => stack.service.proposalStats.pending === 1);
        req.close(constants.NGHTTP2_CANCEL);
        // The service stops waiting at once: its proposal ends failed while still held.
        await until(() => stack.service.proposalStats.pending === 0);
        assert.equal(stack.service.proposalStats.failed, failed + 1);
      } finally {
        stub.release();
      }
    });

    test('a client deadline (grpc-timeout) that passes is DEADLINE_EXCEEDED', async () => {
      stub.hold();
      try {
        const t0 = performance.now();
        const h = grpcHeaders(PUT, { 'grpc-timeout': '100m' });
        const a = await send(session, h, [frameMessage(putCodec.encode(putReq('late', 'v')))]);
        const ms = performance.now() - t0;
        assertStatus(a, GrpcCode.DEADLINE_EXCEEDED, /client deadline exceeded/);
        assert.ok(ms >= 95 && ms < 2000, `answered after ${ms} ms`);
      } finally {
        stub.release();
      }
    });

    test('a handler that throws at once is INTERNAL, and the server lives on', async () => {
      const status = stub.status.bind(stub);
      stub.status = () => {
        throw new Error('boom');
      };
      try {
        const a = await send(session, grpcHeaders('/etcdserverpb.Maintenance/Status'), [
          frameMessage(new Uint8Array()),
        ]);
        assertStatus(a, GrpcCode.INTERNAL, /internal error: boom/);
      } finally {
        stub.status = status;
      }
      const ok = await send(session, grpcHeaders('/etcdserverpb.Maintenance/Status'), [
        frameMessage(new Uint8Array()),
      ]);
      assert.equal(ok.trailers['grpc-status'], '0');
    });

    test('a deadline longer than the call changes nothing', async () => {
      const h = grpcHeaders(PUT, { 'grpc-timeout': '10S' });
      const a = await send(session, h, [frameMessage(putCodec.encode(putReq('soon', 'v')))]);
      assert.equal(a.trailers['grpc-status'], '0');
    });
  });
}

describe('KvServer: choosing the gRPC server', () => {
  test('RAFTKV_GRPC_SERVER picks grpc-js; a value that names neither server is refused', async () => {
    const saved = process.env['RAFTKV_GRPC_SERVER'];
    try {
      process.env['RAFTKV_GRPC_SERVER'] = 'grpc-js';
      const stack = await startStack({
        backend: (sm) => new StubBackend(sm),
        server: { publish: false },
      });
      const session = connect(stack.url);
      try {
        // grpc-js's answer to an unknown method is its own text, not GrpcHttp2Server's.
        const a = await send(session, grpcHeaders('/no.Such/Method'), [prefix(0, 0)]);
        assert.equal(a.trailers['grpc-status'], String(GrpcCode.UNIMPLEMENTED));
        assert.doesNotMatch(String(a.trailers['grpc-message']), /^raftkv does not implement/);
      } finally {
        session.close();
        await stack.close();
      }
      process.env['RAFTKV_GRPC_SERVER'] = 'grpc';
      await assert.rejects(
        startStack({ backend: (sm) => new StubBackend(sm), server: { publish: false } }),
        /RAFTKV_GRPC_SERVER="grpc" is none of "h2", "http2" and "grpc-js"/,
      );
    } finally {
      if (saved === undefined) delete process.env['RAFTKV_GRPC_SERVER'];
      else process.env['RAFTKV_GRPC_SERVER'] = saved;
    }
  });
});
