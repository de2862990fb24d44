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
import { GrpcOverheadBytes, grpcMethods } from './grpc.ts';
import type { GrpcMethod, RelayOption } from './grpc.ts';
import { ForwardedHeader } from './relay.ts';
import { encodeStatusMessage, frameMessage } from './grpc_frame.ts';
import { checkRequest, isRefusal, UnaryCall } from './grpc_unary.ts';
import type { CallParts } from './grpc_unary.ts';
import type { KvService } from './service.ts';

/** GrpcHttp2Options tune a GrpcHttp2Server. */
export interface GrpcHttp2Options extends RelayOption {
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

/** StreamCall is a unary call on a node:http2 stream. */
class StreamCall extends UnaryCall {
  private readonly stream: ServerHttp2Stream;

  constructor(svc: KvService, stream: ServerHttp2Stream, parts: CallParts) {
    super(svc, parts);
    this.stream = stream;
  }

  protected sendMessage(msg: Uint8Array): void {
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

  protected sendStatus(code: number, message: string): void {
    answerStatus(this.stream, code, message);
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
    this.methods = grpcMethods(svc, o.relay);
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
  private open(stream: ServerHttp2Stream, h: IncomingHttpHeaders): StreamCall | undefined {
    const r = checkRequest(this.methods, this.maxMessageBytes, {
      verb: one(h[HTTP2_HEADER_METHOD]),
      path: one(h[HTTP2_HEADER_PATH]) ?? '',
      contentType: one(h[HTTP2_HEADER_CONTENT_TYPE]),
      timeout: one(h['grpc-timeout']),
      encoding: one(h['grpc-encoding']),
      forwarded: h[ForwardedHeader] !== undefined,
    });
    if (isRefusal(r)) {
      answerStatus(stream, r.code, r.message, r.httpStatus);
      return undefined;
    }
    return new StreamCall(this.svc, stream, r);
  }
}
