// H2Connection against a raw frame-level client: what a well-behaved HTTP/2 client does
// (settings, pings, flow control, header blocks split over CONTINUATION, bytes in any
// chunking) and what a broken one does (each protocol error and its code).
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  ClientPreface,
  DefaultWindow,
  Flag,
  FrameHeaderBytes,
  FrameType,
  H2Connection,
  H2Error,
  PingAckDelayMs,
  SettingId,
} from './connection.ts';
import type { H2Handler, H2Options, H2Stream } from './connection.ts';
import { encodeHeaders, HpackDecoder } from './hpack.ts';
import { until } from '../testing.ts';

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

function frame(type: number, flags: number, id: number, payload: Uint8Array = new Uint8Array()) {
  const b = Buffer.alloc(FrameHeaderBytes + payload.length);
  b.writeUIntBE(payload.length, 0, 3);
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(id, 5);
  b.set(payload, FrameHeaderBytes);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

function settings(pairs: [number, number][]): Buffer {
  const p = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([k, v], i) => {
    p.writeUInt16BE(k, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FrameType.Settings, 0, 0, p);
}

function request(path = '/svc/Echo', extra: [string, string][] = []): Uint8Array {
  return encodeHeaders([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ]);
}

/** Client is a raw HTTP/2 client: it writes bytes and collects the server's frames. */
class Client {
  readonly frames: Frame[] = [];
  readonly hpack = new HpackDecoder();
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= FrameHeaderBytes) {
        const len = this.buf.readUIntBE(0, 3);
        if (this.buf.length < FrameHeaderBytes + len) break;
        this.frames.push({
          type: this.buf[3]!,
          flags: this.buf[4]!,
          id: this.buf.readUInt32BE(5) & 0x7fffffff,
          payload: this.buf.subarray(FrameHeaderBytes, FrameHeaderBytes + len),
        });
        this.buf = this.buf.subarray(FrameHeaderBytes + len);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(...b: Uint8Array[]): void {
    this.socket.write(Buffer.concat(b));
  }

  /** until waits (bounded) for a frame matching pred and returns it. */
  async until(pred: (f: Frame) => boolean, what: string, ms = 3000): Promise<Frame> {
    const deadline = performance.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (this.closed) throw new Error(`closed before ${what}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async goaway(): Promise<{ code: number; lastId: number; reason: string }> {
    const g = await this.until((f) => f.type === FrameType.GoAway, 'GOAWAY');
    return {
      lastId: g.payload.readUInt32BE(0),
      code: g.payload.readUInt32BE(4),
      reason: g.payload.subarray(8).toString('utf8'),
    };
  }

  async closedSocket(): Promise<void> {
    await until(() => this.closed, 3000, 'the socket closed');
  }

  dataOf(id: number): Buffer {
    return Buffer.concat(
      this.frames.filter((f) => f.type === FrameType.Data && f.id === id).map((f) => f.payload),
    );
  }
}

/** EchoHandler answers every request with its body (or `bodyFor`) and a trailer. */
class EchoHandler implements H2Handler {
  requests: { stream: H2Stream; headers: readonly string[] }[] = [];
  closes: number[] = [];
  bodyFor: ((req: Buffer) => Uint8Array) | undefined = undefined;
  hold = false;

  onRequest(stream: H2Stream, headers: readonly string[]): void {
    this.requests.push({ stream, headers });
    const chunks: Buffer[] = [];
    stream.onData = (c) => chunks.push(Buffer.from(c));
    stream.onEnd = () => {
      if (this.hold) return;
      const req = Buffer.concat(chunks);
      stream.respond(
        encodeHeaders([[':status', '200']]),
        this.bodyFor?.(req) ?? req,
        encodeHeaders([['grpc-status', '0']]),
      );
    };
    stream.onClose = (code) => this.closes.push(code);
  }
}

describe('H2Connection', { timeout: 30_000 }, () => {
  let server: Server;
  let port = 0;
  let handler: EchoHandler;
  let opts: H2Options = {};
  const clients: Client[] = [];

  before(async () => {
    server = createServer((s) => new H2Connection(s, handler, opts));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    for (const c of clients) c.socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function open(o: H2Options = {}, clientSettings: [number, number][] = []) {
    handler = new EchoHandler();
    opts = o;
    const s = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => s.once('connect', resolve));
    const c = new Client(s);
    clients.push(c);
    c.write(ClientPreface, settings(clientSettings));
    await c.until((f) => f.type === FrameType.Settings && (f.flags & Flag.Ack) === 0, 'SETTINGS');
    return c;
  }

  test('settings both ways: the server announces its limits and acknowledges ours', async () => {
    const c = await open({ maxConcurrentStreams: 7, streamWindow: 100_000 });
    const s = c.frames.find((f) => f.type === FrameType.Settings && f.flags === 0)!;
    const got = new Map<number, number>();
    for (let i = 0; i < s.payload.length; i += 6) {
      got.set(s.payload.readUInt16BE(i), s.payload.readUInt32BE(i + 2));
    }
    assert.equal(got.get(SettingId.MaxConcurrentStreams), 7);
    assert.equal(got.get(SettingId.InitialWindowSize), 100_000);
    await c.until((f) => f.type === FrameType.Settings && f.flags === Flag.Ack, 'SETTINGS ACK');
  });

  test('a request is answered: HEADERS, DATA, trailers that end the stream', async () => {
    const c = await open();
    c.write(
      frame(FrameType.Headers, Flag.EndHeaders, 1, request()),
      frame(FrameType.Data, Flag.EndStream, 1, Buffer.from('hello')),
    );
    const t = await c.until(
      (f) => f.type === FrameType.Headers && f.id === 1 && (f.flags & Flag.EndStream) !== 0,
      'trailers',
    );
    assert.deepEqual(c.hpack.decode(t.payload), ['grpc-status', '0']);
    assert.equal(c.dataOf(1).toString(), 'hello');
    const req = handler.requests[0]!;
    assert.deepEqual(req.headers.slice(0, 6), [
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      '/svc/Echo',
    ]);
    assert.equal(c.frames.filter((f) => f.type === FrameType.RstStream).length, 0);
  });

  test('bytes in any chunking, one at a time included, make the same requests', async () => {
    const c = await open();
    const bytes = Buffer.concat([
      frame(FrameType.Ping, 0, 0, Buffer.from('12345678')),
      frame(FrameType.Headers, 0, 3, request().subarray(0, 5)),
      frame(FrameType.Continuation, Flag.EndHeaders, 3, request().subarray(5)),
      frame(FrameType.Data, Flag.Padded, 3, Buffer.from([3, 0x61, 0x62, 0, 0, 0])),
      frame(FrameType.Data, Flag.EndStream, 3, Buffer.from('c')),
    ]);
    for (const b of bytes) c.write(Buffer.from([b]));
    await c.until(
      (f) => f.type === FrameType.Headers && f.id === 3 && (f.flags & Flag.EndStream) !== 0,
      'trailers',
    );
    assert.equal(c.dataOf(3).toString(), 'abc');
    const pong = await c.until((f) => f.type === FrameType.Ping, 'PING ACK');
    assert.equal(pong.flags, Flag.Ack);
    assert.equal(pong.payload.toString(), '12345678');
  });

  test('a PING is answered at once when no call is open, within PingAckDelayMs while one is', async () => {
    const c = await open();
    c.write(frame(FrameType.Ping, 0, 0, Buffer.from('idle....')));
    await c.until((f) => f.type === FrameType.Ping && f.payload.toString() === 'idle....', 'ACK');
    handler.hold = true;
    // As grpc-go does: a PING, then the next request, in one write.
    const t0 = performance.now();
    c.write(
      frame(FrameType.Ping, 0, 0, Buffer.from('busy....')),
      frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 1, request()),
    );
    await c.until((f) => f.type === FrameType.Ping && f.payload.toString() === 'busy....', 'ACK');
    assert.ok(performance.now() - t0 >= PingAckDelayMs - 1, 'the ACK waited for an answer');
    assert.equal(handler.requests.length, 1);
    assert.ok(!c.frames.some((f) => f.type === FrameType.Headers && f.id === 1));
  });

  test('a body larger than the client window waits for WINDOW_UPDATE, in frames <= 16 KiB', async () => {
    const c = await open();
    const big = Buffer.alloc(100_000, 7);
    handler.bodyFor = () => big;
    c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 1, request()));
    await c.until(() => c.dataOf(1).length === DefaultWindow, 'a full window of DATA');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.dataOf(1).length, DefaultWindow, 'nothing past the window');
    assert.ok(
      c.frames.filter((f) => f.type === FrameType.Data).every((f) => f.payload.length <= 16_384),
    );
    c.write(frame(FrameType.WindowUpdate, 0, 1, u32(100_000)));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.dataOf(1).length, DefaultWindow, 'the connection window holds it too');
    c.write(frame(FrameType.WindowUpdate, 0, 0, u32(100_000)));
    await c.until(
      (f) => f.type === FrameType.Headers && f.id === 1 && (f.flags & Flag.EndStream) !== 0,
      'trailers',
    );
    assert.ok(c.dataOf(1).equals(big));
  });

  test('INITIAL_WINDOW_SIZE from the client applies to open streams, and MAX_FRAME_SIZE is used', async () => {
    const c = await open({}, [[SettingId.InitialWindowSize, 10]]);
    handler.bodyFor = () => Buffer.alloc(40_000, 1);
    c.write(frame(FrameType.WindowUpdate, 0, 0, u32(1_000_000)));
    c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 1, request()));
    await c.until(() => c.dataOf(1).length === 10, '10 bytes');
    c.write(
      settings([
        [SettingId.InitialWindowSize, 1_000_000],
        [SettingId.MaxFrameSize, 32_768],
      ]),
    );
    await c.until(
      (f) => f.type === FrameType.Headers && f.id === 1 && (f.flags & Flag.EndStream) !== 0,
      'trailers',
    );
    assert.equal(c.dataOf(1).length, 40_000);
    assert.ok(c.frames.some((f) => f.type === FrameType.Data && f.payload.length > 16_384));
  });

  test('the server gives its receive windows back as it reads', async () => {
    const c = await open({ streamWindow: 20_000, connectionWindow: 40_000 });
    handler.bodyFor = () => Buffer.from('ok');
    c.write(frame(FrameType.Headers, Flag.EndHeaders, 1, request()));
    for (let i = 0; i < 10; i++) c.write(frame(FrameType.Data, 0, 1, Buffer.alloc(8_000)));
    c.write(frame(FrameType.Data, Flag.EndStream, 1, Buffer.alloc(1)));
    await c.until(
      (f) => f.type === FrameType.Headers && f.id === 1 && (f.flags & Flag.EndStream) !== 0,
      'trailers',
    );
    assert.ok(c.frames.some((f) => f.type === FrameType.WindowUpdate && f.id === 1));
    assert.ok(c.frames.some((f) => f.type === FrameType.WindowUpdate && f.id === 0));
  });

  test('DATA past the stream window resets that stream only (FLOW_CONTROL_ERROR)', async () => {
    const c = await open({ streamWindow: 16_000 });
    c.write(frame(FrameType.Headers, Flag.EndHeaders, 1, request()));
    c.write(frame(FrameType.Data, 0, 1, Buffer.alloc(16_001)));
    const r = await c.until((f) => f.type === FrameType.RstStream && f.id === 1, 'RST_STREAM');
    assert.equal(r.payload.readUInt32BE(0), H2Error.FlowControlError);
    assert.deepEqual(handler.closes, [H2Error.FlowControlError]);
    c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 3, request()));
    await c.until(
      (f) => f.type === FrameType.Headers && f.id === 3 && (f.flags & Flag.EndStream) !== 0,
      'the next call',
    );
  });

  test('a client RST_STREAM closes the stream and tells the handler', async () => {
    const c = await open();
    handler.hold = true;
    c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 1, request()));
    await until(() => handler.requests.length === 1);
    c.write(frame(FrameType.RstStream, 0, 1, u32(H2Error.Cancel)));
    await until(() => handler.closes.length === 1);
    assert.deepEqual(handler.closes, [H2Error.Cancel]);
    handler.requests[0]!.stream.respond(encodeHeaders([[':status', '200']]));
    c.write(frame(FrameType.Ping, 0, 0, Buffer.alloc(8)));
    await c.until((f) => f.type === FrameType.Ping, 'PING ACK');
    assert.ok(
      !c.frames.some((f) => f.type === FrameType.Headers && f.id === 1),
      'no answer after the reset',
    );
  });

  test('streams past MAX_CONCURRENT_STREAMS are refused (REFUSED_STREAM)', async () => {
    const c = await open({ maxConcurrentStreams: 2 });
    handler.hold = true;
    for (const id of [1, 3, 5])
      c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, id, request()));
    const r = await c.until((f) => f.type === FrameType.RstStream, 'RST_STREAM');
    assert.equal(r.id, 5);
    assert.equal(r.payload.readUInt32BE(0), H2Error.RefusedStream);
    assert.equal(handler.requests.length, 2);
  });

  test('an answer before the request ended is followed by RST_STREAM(NO_ERROR), later DATA ignored', async () => {
    const c = await open();
    handler.hold = true;
    c.write(frame(FrameType.Headers, Flag.EndHeaders, 1, request()));
    await until(() => handler.requests.length === 1);
    handler.requests[0]!.stream.respond(
      encodeHeaders([
        [':status', '200'],
        ['grpc-status', '3'],
      ]),
    );
    const r = await c.until((f) => f.type === FrameType.RstStream && f.id === 1, 'RST_STREAM');
    assert.equal(r.payload.readUInt32BE(0), H2Error.NoError);
    c.write(frame(FrameType.Data, Flag.EndStream, 1, Buffer.from('late')));
    c.write(frame(FrameType.Ping, 0, 0, Buffer.alloc(8)));
    await c.until((f) => f.type === FrameType.Ping, 'PING ACK: the connection lives');
  });

  test('a header list past the limit is answered HTTP 431, the connection lives on', async () => {
    const c = await open({ maxHeaderListSize: 200 });
    c.write(
      frame(
        FrameType.Headers,
        Flag.EndHeaders | Flag.EndStream,
        1,
        request('/svc/Echo', [['x-big', 'y'.repeat(300)]]),
      ),
    );
    const h = await c.until((f) => f.type === FrameType.Headers && f.id === 1, 'answer');
    assert.deepEqual(c.hpack.decode(h.payload), [':status', '431']);
    c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 3, request()));
    await c.until(
      (f) => f.type === FrameType.Headers && f.id === 3 && (f.flags & Flag.EndStream) !== 0,
      'the next call',
    );
  });

  test('malformed requests (missing :path, uppercase name, connection header) are reset', async () => {
    const c = await open();
    const bad = [
      encodeHeaders([
        [':method', 'POST'],
        [':scheme', 'http'],
      ]),
      encodeHeaders([
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', '/a'],
        ['connection', 'close'],
      ]),
      encodeHeaders([
        [':method', 'POST'],
        ['a', 'b'],
        [':scheme', 'http'],
        [':path', '/a'],
      ]),
    ];
    bad.forEach((b, i) =>
      c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 1 + 2 * i, b)),
    );
    for (const id of [1, 3, 5]) {
      const r = await c.until((f) => f.type === FrameType.RstStream && f.id === id, `RST ${id}`);
      assert.equal(r.payload.readUInt32BE(0), H2Error.ProtocolError);
    }
    assert.equal(handler.requests.length, 0);
  });

  // Connection errors: each sends GOAWAY with its code, then the socket closes.
  const connectionErrors: [string, () => Buffer[], number][] = [
    [
      'a frame past MAX_FRAME_SIZE',
      () => [frame(FrameType.Data, 0, 1, Buffer.alloc(16_385))],
      H2Error.FrameSizeError,
    ],
    [
      'DATA on an idle stream',
      () => [frame(FrameType.Data, 0, 1, Buffer.from('x'))],
      H2Error.ProtocolError,
    ],
    [
      'DATA on stream 0',
      () => [frame(FrameType.Data, 0, 0, Buffer.from('x'))],
      H2Error.ProtocolError,
    ],
    [
      'an even stream id',
      () => [frame(FrameType.Headers, Flag.EndHeaders, 2, request())],
      H2Error.ProtocolError,
    ],
    [
      'a header block that is not HPACK',
      () => [frame(FrameType.Headers, Flag.EndHeaders, 1, Buffer.from([0x80]))],
      H2Error.CompressionError,
    ],
    [
      'a frame inside a header block',
      () => [
        frame(FrameType.Headers, 0, 1, request().subarray(0, 3)),
        frame(FrameType.Ping, 0, 0, Buffer.alloc(8)),
      ],
      H2Error.ProtocolError,
    ],
    [
      'CONTINUATION without HEADERS',
      () => [frame(FrameType.Continuation, Flag.EndHeaders, 1, request())],
      H2Error.ProtocolError,
    ],
    [
      'PUSH_PROMISE',
      () => [frame(FrameType.PushPromise, 0, 1, Buffer.alloc(4))],
      H2Error.ProtocolError,
    ],
    [
      'a PING of 7 bytes',
      () => [frame(FrameType.Ping, 0, 0, Buffer.alloc(7))],
      H2Error.FrameSizeError,
    ],
    [
      'SETTINGS of 5 bytes',
      () => [frame(FrameType.Settings, 0, 0, Buffer.alloc(5))],
      H2Error.FrameSizeError,
    ],
    [
      'INITIAL_WINDOW_SIZE past 2^31-1',
      () => [settings([[SettingId.InitialWindowSize, 0x80000000]])],
      H2Error.FlowControlError,
    ],
    [
      'MAX_FRAME_SIZE under 16384',
      () => [settings([[SettingId.MaxFrameSize, 100]])],
      H2Error.ProtocolError,
    ],
    [
      'WINDOW_UPDATE of 0 on the connection',
      () => [frame(FrameType.WindowUpdate, 0, 0, u32(0))],
      H2Error.ProtocolError,
    ],
    [
      'a connection window past 2^31-1',
      () => [frame(FrameType.WindowUpdate, 0, 0, u32(0x7fffffff))],
      H2Error.FlowControlError,
    ],
    [
      'RST_STREAM on an idle stream',
      () => [frame(FrameType.RstStream, 0, 9, u32(0))],
      H2Error.ProtocolError,
    ],
    [
      'padding longer than the frame',
      () => [frame(FrameType.Headers, 0x8 | Flag.EndHeaders, 1, Buffer.from([9, 1]))],
      H2Error.ProtocolError,
    ],
  ];
  for (const [what, bytes, code] of connectionErrors) {
    test(`connection error: ${what}`, async () => {
      const c = await open();
      c.write(...bytes());
      const g = await c.goaway();
      assert.equal(g.code, code, `${what}: ${g.reason}`);
      assert.ok(g.reason.length > 0);
      await c.closedSocket();
    });
  }

  test('fuzz: any frames, in any chunking, end in a GOAWAY or a connection that still answers', async () => {
    const frameArb = fc.oneof(
      // Frames that are valid on their own.
      fc.constant(frame(FrameType.Headers, Flag.EndHeaders, 0, request())),
      fc.constant(frame(FrameType.Ping, 0, 0, Buffer.alloc(8))),
      fc.constant(frame(FrameType.WindowUpdate, 0, 0, u32(1000))),
      fc.constant(settings([[SettingId.InitialWindowSize, 70_000]])),
      // Any type, flags, stream and payload.
      fc
        .record({
          type: fc.integer({ min: 0, max: 12 }),
          flags: fc.integer({ min: 0, max: 255 }),
          id: fc.integer({ min: 0, max: 9 }),
          payload: fc.uint8Array({ maxLength: 40 }),
        })
        .map((f) => frame(f.type, f.flags, f.id, f.payload)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb, { maxLength: 12 }),
        fc.integer({ min: 1, max: 64 }),
        async (frames, chunk) => {
          const c = await open();
          // Stream ids: HEADERS templates get increasing odd ids, so some requests are valid.
          let next = 1;
          const bytes = Buffer.concat(
            frames.map((f) => {
              if (f[3] === FrameType.Headers && f.readUInt32BE(5) === 0) {
                const g = Buffer.from(f);
                g.writeUInt32BE(next, 5);
                next += 2;
                return g;
              }
              return f;
            }),
          );
          for (let i = 0; i < bytes.length; i += chunk) c.write(bytes.subarray(i, i + chunk));
          c.write(frame(FrameType.Ping, 0, 0, Buffer.from('last....')));
          await c.until(
            (f) =>
              f.type === FrameType.GoAway ||
              (f.type === FrameType.Ping && f.payload.toString() === 'last....'),
            'GOAWAY or the last PING ACK',
            5000,
          );
          const g = c.frames.find((f) => f.type === FrameType.GoAway);
          if (g !== undefined) {
            assert.ok(g.payload.readUInt32BE(4) !== H2Error.InternalError, 'never INTERNAL_ERROR');
            await c.closedSocket();
          }
          c.socket.destroy();
        },
      ),
      { numRuns: 150 },
    );
  });

  test('not the preface: GOAWAY and close; first frame not SETTINGS: the same', async () => {
    const s = connect(port, '127.0.0.1');
    handler = new EchoHandler();
    const c = new Client(s);
    clients.push(c);
    c.write(Buffer.from('PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n'));
    assert.equal((await c.goaway()).code, H2Error.ProtocolError);
    const s2 = connect(port, '127.0.0.1');
    const c2 = new Client(s2);
    clients.push(c2);
    c2.write(ClientPreface, frame(FrameType.Ping, 0, 0, Buffer.alloc(8)));
    assert.equal((await c2.goaway()).code, H2Error.ProtocolError);
  });

  test('when the socket goes away, open streams hear onClose(CANCEL)', async () => {
    const c = await open();
    handler.hold = true;
    c.write(frame(FrameType.Headers, Flag.EndHeaders | Flag.EndStream, 1, request()));
    await until(() => handler.requests.length === 1);
    c.socket.destroy();
    await until(() => handler.closes.length === 1);
    assert.deepEqual(handler.closes, [H2Error.Cancel]);
  });
});
