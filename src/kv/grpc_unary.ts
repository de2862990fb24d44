/**
 * A gRPC unary call as raftkv's HTTP/2 servers run it, whatever carries the bytes: the
 * checks of a new request's headers, the reading of its one message, the service call, and
 * the answer (one message, or a status). grpc_http2.ts (node:http2) and grpc_h2.ts (raftkv's
 * own HTTP/2) differ only in how a stream is answered.
 */
import { Cancel } from './call.ts';
import { GrpcCode, unimplemented } from './errors.ts';
import type { KvError } from './errors.ts';
import { decodeRequest, toStatus } from './grpc.ts';
import type { GrpcMethod } from './grpc.ts';
import { parseTimeout, UnaryMessageReader } from './grpc_frame.ts';
import type { KvService } from './service.ts';

/** RequestHead is what a server reads from a request's headers. */
export interface RequestHead {
  verb: string | undefined;
  path: string;
  contentType: string | undefined;
  timeout: string | undefined;
  encoding: string | undefined;
  /** forwarded: the request carries relay.ts's ForwardedHeader (another member relayed it). */
  forwarded: boolean;
}

/** Refusal answers a request at once: a gRPC status, and the HTTP status to send it with. */
export interface Refusal {
  code: number;
  message: string;
  httpStatus: number;
}

/** isGrpcContentType: "application/grpc", optionally "+proto", "+json" or ";params" after. */
export function isGrpcContentType(v: string | undefined): boolean {
  return v !== undefined && v.startsWith('application/grpc') && !/^application\/grpc[^+;]/.test(v);
}

/**
 * UnaryCall is one call: it takes the request's DATA, calls the service when the request
 * ends, and answers through sendMessage or sendStatus, once. It is its own Cancel, so that a
 * client's RST_STREAM reaches the service without a signal.
 */
export abstract class UnaryCall extends Cancel {
  answered = false;
  readonly method: GrpcMethod;
  private readonly svc: KvService;
  private readonly reader: UnaryMessageReader;
  private readonly timeoutMs: number | undefined;
  private readonly forwarded: boolean;

  constructor(svc: KvService, parts: CallParts) {
    super();
    this.svc = svc;
    this.method = parts.method;
    this.reader = parts.reader;
    this.timeoutMs = parts.timeoutMs;
    this.forwarded = parts.forwarded;
  }

  /** sendMessage answers with the response message (unframed) and status OK. */
  protected abstract sendMessage(msg: Uint8Array): void;
  /** sendStatus answers with a status only. */
  protected abstract sendStatus(code: number, message: string): void;

  /** data takes the next bytes of the request. */
  data(chunk: Uint8Array): void {
    if (this.answered) return;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err);
    }
  }

  /** end: the request is whole; the service is called. */
  end(): void {
    if (this.answered || this.cancelled) return;
    const handler = this.method.handler as NonNullable<GrpcMethod['handler']>;
    let pending: Promise<object>;
    try {
      const msg = this.reader.end();
      const raw = Buffer.isBuffer(msg) ? msg : Buffer.from(msg.buffer, msg.byteOffset, msg.length);
      const req = decodeRequest(this.svc, this.method, raw);
      const call = { cancel: this, timeoutMs: this.timeoutMs, forwarded: this.forwarded };
      pending = handler(req as never, raw, call);
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
      msg = this.method.serialize(res);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (this.answered) return;
    this.answered = true;
    this.sendMessage(msg);
  }

  /** fail answers with the status err maps to. */
  fail(err: unknown): void {
    if (this.answered) return;
    this.answered = true;
    const st = toStatus(err);
    this.sendStatus(st.code ?? GrpcCode.UNKNOWN, st.details ?? '');
  }
}

/** CallParts are what a UnaryCall is made of, once a request's headers passed the checks. */
export interface CallParts {
  method: GrpcMethod;
  reader: UnaryMessageReader;
  timeoutMs: number | undefined;
  forwarded: boolean;
}

/**
 * checkRequest checks a new request's headers: a POST of application/grpc to a unary method
 * the service implements, with a well-formed grpc-timeout. It returns the call's parts, or
 * the refusal to answer with (HTTP 405 or 415 for what is not a gRPC call at all).
 */
export function checkRequest(
  methods: ReadonlyMap<string, GrpcMethod>,
  maxMessageBytes: number,
  h: RequestHead,
): CallParts | Refusal {
  if (h.verb !== 'POST') {
    const why = `raftkv: gRPC calls are POST, not ${h.verb} ${h.path}`;
    return { code: GrpcCode.INVALID_ARGUMENT, message: why, httpStatus: 405 };
  }
  if (!isGrpcContentType(h.contentType)) {
    const why = `raftkv: content-type ${JSON.stringify(h.contentType ?? '')} is not application/grpc`;
    return { code: GrpcCode.INVALID_ARGUMENT, message: why, httpStatus: 415 };
  }
  const method = methods.get(h.path);
  const def = method?.definition;
  if (method?.handler === undefined || def?.requestStream || def?.responseStream) {
    const st = toStatus(unimplemented(h.path));
    return {
      code: st.code ?? GrpcCode.UNIMPLEMENTED,
      message: st.details ?? '',
      httpStatus: 200,
    };
  }
  let timeoutMs: number | undefined;
  try {
    if (h.timeout !== undefined) timeoutMs = parseTimeout(h.timeout);
  } catch (err) {
    const e = err as KvError;
    return { code: e.code, message: e.message, httpStatus: 200 };
  }
  const reader = new UnaryMessageReader(h.path, maxMessageBytes, h.encoding ?? 'identity');
  return { method, reader, timeoutMs, forwarded: h.forwarded };
}

/** isRefusal tells checkRequest's two outcomes apart. */
export function isRefusal(r: CallParts | Refusal): r is Refusal {
  return (r as Refusal).httpStatus !== undefined;
}
