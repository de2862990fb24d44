/**
 * GrpcH2Server: the etcd v3 gRPC API, unary calls only, on raftkv's own HTTP/2 server
 * (h2/connection.ts) instead of node:http2. The calls themselves run as on GrpcHttp2Server
 * (grpc_unary.ts): same checks, same statuses, same cancellation. What changes is the cost
 * of a call: no stream objects, no header objects, the response's header blocks encoded
 * once (bench/grpc.ts measures the three servers).
 */
import type { Socket } from 'node:net';
import { GrpcOverheadBytes, grpcMethods } from './grpc.ts';
import type { GrpcMethod, RelayOption } from './grpc.ts';
import { ForwardedHeader } from './relay.ts';
import { encodeStatusMessage, frameMessage } from './grpc_frame.ts';
import { checkRequest, isRefusal, UnaryCall } from './grpc_unary.ts';
import type { CallParts, RequestHead } from './grpc_unary.ts';
import { H2Connection, H2Error } from './h2/connection.ts';
import type { H2Handler, H2Stream } from './h2/connection.ts';
import { encodeHeaders } from './h2/hpack.ts';
import type { KvService } from './service.ts';

/** GrpcH2Options tune a GrpcH2Server. */
export interface GrpcH2Options extends RelayOption {
  /** maxConcurrentStreams per connection (HTTP/2 SETTINGS). Default 4096. */
  maxConcurrentStreams?: number;
  /**
   * maxMessageBytes bounds a request message. Default: the service's maxRequestBytes plus
   * GrpcOverheadBytes, like etcd.
   */
  maxMessageBytes?: number;
}

/** The answer's fixed header blocks, HPACK-encoded once. */
const OkHeaders = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
const OkTrailers = encodeHeaders([['grpc-status', '0']]);

/** statusBlock is a trailers-only answer: HTTP status, gRPC status and message. */
function statusBlock(code: number, message: string, httpStatus = 200): Uint8Array {
  return encodeHeaders([
    [':status', String(httpStatus)],
    ['content-type', 'application/grpc'],
    ['grpc-status', String(code)],
    ['grpc-message', encodeStatusMessage(message)],
    ['grpc-accept-encoding', 'identity'],
  ]);
}

/** H2Call is a unary call on an H2Stream. */
class H2Call extends UnaryCall {
  private readonly stream: H2Stream;

  constructor(svc: KvService, stream: H2Stream, parts: CallParts) {
    super(svc, parts);
    this.stream = stream;
  }

  protected sendMessage(msg: Uint8Array): void {
    this.stream.respond(OkHeaders, frameMessage(msg), OkTrailers);
  }

  protected sendStatus(code: number, message: string): void {
    this.stream.respond(statusBlock(code, message));
  }
}

/** readHead picks what checkRequest needs out of a request's headers. */
function readHead(h: readonly string[]): RequestHead {
  const head: RequestHead = {
    verb: undefined,
    path: '',
    contentType: undefined,
    timeout: undefined,
    encoding: undefined,
    forwarded: false,
  };
  for (let i = 0; i < h.length; i += 2) {
    const v = h[i + 1] as string;
    switch (h[i]) {
      case ':method':
        head.verb ??= v;
        break;
      case ':path':
        if (head.path === '') head.path = v;
        break;
      case 'content-type':
        head.contentType ??= v;
        break;
      case 'grpc-timeout':
        head.timeout ??= v;
        break;
      case 'grpc-encoding':
        head.encoding ??= v;
        break;
      case ForwardedHeader:
        head.forwarded = true;
        break;
    }
  }
  return head;
}

/**
 * GrpcH2Server serves the etcd v3 gRPC API on connections handed to accept(). Error
 * contract: every call is answered with a gRPC status; a request the server cannot take
 * (not POST, not application/grpc) with an HTTP error status as well; HTTP/2 protocol
 * errors end the stream or the connection as RFC 9113 says (h2/connection.ts).
 */
export class GrpcH2Server implements H2Handler {
  private readonly svc: KvService;
  private readonly methods: Map<string, GrpcMethod>;
  private readonly maxMessageBytes: number;
  private readonly maxStreams: number;
  private readonly conns = new Set<H2Connection>();

  constructor(svc: KvService, o: GrpcH2Options = {}) {
    this.svc = svc;
    this.methods = grpcMethods(svc, o.relay);
    this.maxMessageBytes = o.maxMessageBytes ?? svc.limits.maxRequestBytes + GrpcOverheadBytes;
    this.maxStreams = o.maxConcurrentStreams ?? 4096;
  }

  /** accept serves an HTTP/2 connection (its preface may have been read and unshifted). */
  accept(socket: Socket): void {
    const conn = new H2Connection(socket, this, { maxConcurrentStreams: this.maxStreams });
    this.conns.add(conn);
    socket.once('close', () => this.conns.delete(conn));
  }

  /** close ends every connection at once (in-flight calls are not answered). */
  close(): void {
    for (const c of this.conns) c.close();
    this.conns.clear();
  }

  /** onRequest is H2Handler's: a new call. */
  onRequest(stream: H2Stream, headers: readonly string[]): void {
    const r = checkRequest(this.methods, this.maxMessageBytes, readHead(headers));
    if (isRefusal(r)) {
      stream.respond(statusBlock(r.code, r.message, r.httpStatus));
      return;
    }
    const call = new H2Call(this.svc, stream, r);
    stream.onData = (chunk) => call.data(chunk);
    stream.onEnd = () => call.end();
    stream.onClose = (code) => {
      if (!call.answered) {
        const why = code === H2Error.Cancel ? 'client cancelled' : `stream reset (${code})`;
        call.cancel(new Error(`${call.method.definition.path}: ${why}`));
      }
    };
  }
}
