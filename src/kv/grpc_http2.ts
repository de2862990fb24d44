/**
 * GrpcHttp2Server: the etcd v3 gRPC API served straight on node:http2, unary calls only
 * (grpc/doc/PROTOCOL-HTTP2.md). raftkv serves no streaming method, so a gRPC library's
 * general machinery (call objects, metadata, interceptors, per-call timers and signals) is
 * cost without use; bench/grpc.ts measures this server against grpc-js's.
 *
 * A call is a POST to /<service>/<method> with content-type application/grpc and one
 * length-prefixed message (grpc_frame.ts). It is answered with HEADERS (:status 200), one
 * DATA message and trailers carrying grpc-status; a failure is answered "trailers only"
 * (one HEADERS frame that ends the stream). A deadline (grpc-timeout) and the client's
 * RST_STREAM reach KvService as CallOptions, without an AbortSignal or timer per call.
 */
import { constants, createServer } from 'node:http2';
import type {
  Http2Server,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
  ServerHttp2Session,
  ServerHttp2Stream,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import { Cancel } from './call.ts';
import { GrpcCode, KvError, unimplemented } from './errors.ts';
import { decodeRequest, GrpcOverheadBytes, grpcMethods, toStatus } from './grpc.ts';
import type { GrpcMethod } from './grpc.ts';
import {
  encodeStatusMessage,
  frameMessage,
  parseTimeout,
  UnaryMessageReader,
} from './grpc_frame.ts';
import type { KvService } from './service.ts';

/** GrpcHttp2Options tune a GrpcHttp2Server. */
export interface GrpcHttp2Options {
  /** maxConcurrentStreams per connection (HTTP/2 SETTINGS). Default 4096. */
  maxConcurrentStreams?: number;
  /**
   * maxSessionMemoryMB bounds what one connection may hold in node:http2's buffers, in MB.
   * Past it node:http2 refuses new streams (ENHANCE_YOUR_CALM) and the connection degrades,
   * so it is set well above what maxConcurrentStreams calls of usual size need. Default 256.
   */
  maxSessionMemoryMB?: number;
  /**
   * maxMessageBytes bounds a request message. Default: the service's maxRequestBytes plus
   * GrpcOverheadBytes, like etcd.
   */
  maxMessageBytes?: number;
}

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_PATH } = constants;
const { HTTP2_HEADER_METHOD } = constants;

/** OkHeaders open every successful response (node:http2 copies headers it is given). */
const OkHeaders: OutgoingHttpHeaders = {
  [HTTP2_HEADER_STATUS]: 200,
  [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
};
const OkTrailers: OutgoingHttpHeaders = { 'grpc-status': '0' };

function one(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : v?.[0];
}

function isGrpcContentType(v: string | undefined): boolean {
  // "application/grpc", optionally "+proto" or "+json" or ";params" after it.
  return v !== undefined && v.startsWith('application/grpc') && !/^application\/grpc[^+;]/.test(v);
}

/**
 * UnaryCall is one call on one stream. It is its own Cancel, so that a client's RST_STREAM
 * reaches the service without a signal.
 */
class UnaryCall extends Cancel {
  answered = false;
  readonly stream: ServerHttp2Stream;
  readonly method: GrpcMethod;
  readonly reader: UnaryMessageReader;
  readonly timeoutMs: number | undefined;
  private readonly svc: KvService;

  constructor(
    svc: KvService,
    stream: ServerHttp2Stream,
    method: GrpcMethod,
    reader: UnaryMessageReader,
    timeoutMs: number | undefined,
  ) {
    super();
    this.svc = svc;
    this.stream = stream;
    this.method = method;
    this.reader = reader;
    this.timeoutMs = timeoutMs;
  }

  data(chunk: Buffer): void {
    if (this.answered) return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err);
    }
  }

  end(): void {
    if (this.answered || this.cancelled) return;
    const m = this.method.definition;
    const handler = this.method.handler as NonNullable<GrpcMethod['handler']>;
    let pending: Promise<object>;
    try {
      const msg = this.reader.end();
      const raw = Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.length);
      const req = decodeRequest(this.svc, m, raw);
      pending = handler(req as never, raw, { cancel: this, timeoutMs: this.timeoutMs });
    } catch (err) {
      this.fail(err);
      return;
    }
    pending.then(
      (res) => this.succeed(res),
      (err: unknown) => {
        if (!this.cancelled) this.fail(err);
      },
    );
  }

  private succeed(res: object): void {
    let msg: Uint8Array;
    try {
      msg = this.method.definition.responseSerialize(res);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.answered) return;
    this.answered = true;
    const s = this.stream;
    if (s.destroyed || s.closed) return;
    try {
      s.respond(OkHeaders, { waitForTrailers: true });
      s.once('wantTrailers', () => s.sendTrailers(OkTrailers));
      s.end(frameMessage(msg));
    } catch {
      // The stream closed under us (its session went away): nobody is left to answer.
      s.destroy();
    }
  }

  fail(err: unknown): void {
    if (this.answered) return;
    this.answered = true;
    const st = toStatus(err);
    answerStatus(this.stream, st.code ?? GrpcCode.UNKNOWN, st.details ?? '');
  }
}

/** answerStatus ends a stream with a trailers-only response carrying a gRPC status. */
function answerStatus(s: ServerHttp2Stream, code: number, message: string, httpStatus = 200) {
  if (s.destroyed || s.closed || s.headersSent) return;
  try {
    s.respond(
      {
        [HTTP2_HEADER_STATUS]: httpStatus,
        [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        'grpc-status': String(code),
        'grpc-message': encodeStatusMessage(message),
        'grpc-accept-encoding': 'identity',
      },
      { endStream: true },
    );
    // The request's remaining DATA, if any, is of no use: stop it (RST_STREAM NO_ERROR,
    // RFC 9113 §8.1), after the answer.
    if (!s.readableEnded) s.close(constants.NGHTTP2_NO_ERROR);
  } catch {
    s.destroy();
  }
}

/**
 * GrpcHttp2Server serves the etcd v3 gRPC API on connections handed to accept(). Error
 * contract: every call is answered with a gRPC status; a request the server cannot take
 * (not POST, not application/grpc) with an HTTP error status as well.
 */
export class GrpcHttp2Server {
  private readonly svc: KvService;
  private readonly h2: Http2Server;
  private readonly methods: Map<string, GrpcMethod>;
  private readonly maxMessageBytes: number;
  private readonly sessions = new Set<ServerHttp2Session>();

  constructor(svc: KvService, o: GrpcHttp2Options = {}) {
    this.svc = svc;
    this.methods = grpcMethods(svc);
    this.maxMessageBytes = o.maxMessageBytes ?? svc.limits.maxRequestBytes + GrpcOverheadBytes;
    this.h2 = createServer({
      settings: { maxConcurrentStreams: o.maxConcurrentStreams ?? 4096 },
      maxSessionMemory: o.maxSessionMemoryMB ?? 256,
    });
    this.h2.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('error', () => session.destroy());
      session.once('close', () => this.sessions.delete(session));
    });
    this.h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      this.onStream(stream, headers),
    );
  }

  /** accept serves an HTTP/2 connection (its preface may have been read and unshifted). */
  accept(socket: Duplex): void {
    this.h2.emit('connection', socket);
  }

  /** close ends every connection at once (in-flight calls are not answered). */
  close(): void {
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
  }

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => undefined);
    const call = this.open(stream, headers);
    if (call === undefined) return;
    stream.on('data', (chunk: Buffer) => call.data(chunk));
    stream.once('end', () => call.end());
    stream.once('close', () => {
      if (!call.answered)
        call.cancel(new Error(`${call.method.definition.path}: client cancelled`));
    });
  }

  /** open checks a new stream's headers and starts its call, or answers it at once. */
  private open(stream: ServerHttp2Stream, h: IncomingHttpHeaders): UnaryCall | undefined {
    const path = one(h[HTTP2_HEADER_PATH]) ?? '';
    const verb = one(h[HTTP2_HEADER_METHOD]);
    if (verb !== 'POST') {
      const why = `raftkv: gRPC calls are POST, not ${verb} ${path}`;
      answerStatus(stream, GrpcCode.INVALID_ARGUMENT, why, 405);
      return undefined;
    }
    const type = one(h[HTTP2_HEADER_CONTENT_TYPE]);
    if (!isGrpcContentType(type)) {
      const why = `raftkv: content-type ${JSON.stringify(type ?? '')} is not application/grpc`;
      answerStatus(stream, GrpcCode.INVALID_ARGUMENT, why, 415);
      return undefined;
    }
    const method = this.methods.get(path);
    const def = method?.definition;
    if (method?.handler === undefined || def?.requestStream || def?.responseStream) {
      const st = toStatus(unimplemented(path));
      answerStatus(stream, st.code ?? GrpcCode.UNIMPLEMENTED, st.details ?? '');
      return undefined;
    }
    let timeoutMs: number | undefined;
    const timeout = one(h['grpc-timeout']);
    try {
      if (typeof timeout === 'string') timeoutMs = parseTimeout(timeout);
    } catch (err) {
      const e = err as KvError;
      answerStatus(stream, e.code, e.message);
      return undefined;
    }
    const encoding = one(h['grpc-encoding']) ?? 'identity';
    const reader = new UnaryMessageReader(path, this.maxMessageBytes, encoding);
    return new UnaryCall(this.svc, stream, method, reader, timeoutMs);
  }
}
