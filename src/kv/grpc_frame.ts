/**
 * gRPC's framing of messages on an HTTP/2 stream (grpc/doc/PROTOCOL-HTTP2.md): each message
 * is a 1-byte compressed flag, a 4-byte big-endian length and the bytes; statuses travel as
 * percent-encoded text; deadlines as grpc-timeout. Pure: no streams, no timers.
 */
import { GrpcCode, KvError } from './errors.ts';

/** PrefixBytes is the size of a message's prefix: flag and length. */
export const PrefixBytes = 5;

/** BigEndian names the byte order of the length prefix (network order). */
const BigEndian = false;

function prefixError(path: string, code: GrpcCode, why: string): KvError {
  return new KvError(code, `raftkv: ${path}: ${why}`);
}

/**
 * UnaryMessageReader takes the DATA of a unary call's request stream in chunks of any size
 * and yields its one message. push() and end() throw a KvError: RESOURCE_EXHAUSTED for a
 * message over maxBytes (told by its prefix, before its bytes are buffered),
 * UNIMPLEMENTED for a compressed message, INVALID_ARGUMENT for a bad flag byte, a second
 * message, or a stream that ends without a whole message.
 */
export class UnaryMessageReader {
  private readonly path: string;
  private readonly maxBytes: number;
  private readonly encoding: string;
  /**
   * first and rest are the chunks pushed and not yet joined; rest is made only for a
   * request in more than one chunk (most come in one DATA frame).
   */
  private first: Uint8Array | undefined = undefined;
  private rest: Uint8Array[] | undefined = undefined;
  private received = 0;
  /** length is the message's length once its prefix is in; -1 before. */
  private length = -1;
  private message: Uint8Array | undefined;

  /** path names the method in errors; encoding is the call's grpc-encoding header. */
  constructor(path: string, maxBytes: number, encoding = 'identity') {
    this.path = path;
    this.maxBytes = maxBytes;
    this.encoding = encoding;
  }

  /** push takes the next bytes of the stream. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.message !== undefined) throw this.secondMessage();
    if (this.first === undefined) this.first = chunk;
    else (this.rest ??= []).push(chunk);
    this.received += chunk.length;
    if (this.length < 0) {
      if (this.received < PrefixBytes) return;
      this.readPrefix();
    }
    const total = PrefixBytes + this.length;
    if (this.received < total) return;
    if (this.received > total) throw this.secondMessage();
    this.message = this.joined().subarray(PrefixBytes);
    this.first = undefined;
  }

  /** end is called when the stream ends; it returns the message. */
  end(): Uint8Array {
    if (this.message !== undefined) return this.message;
    if (this.received === 0) {
      throw prefixError(this.path, GrpcCode.INVALID_ARGUMENT, 'the request has no message');
    }
    const want = this.length < 0 ? `a ${PrefixBytes}-byte prefix` : `${this.length} bytes`;
    const got = Math.max(0, this.received - (this.length < 0 ? 0 : PrefixBytes));
    throw prefixError(
      this.path,
      GrpcCode.INVALID_ARGUMENT,
      `the request ended inside a message: ${got} bytes of ${want}`,
    );
  }

  private readPrefix(): void {
    const head = this.joined();
    this.first = head;
    const view = new DataView(head.buffer, head.byteOffset, PrefixBytes);
    const flag = view.getUint8(0);
    const length = view.getUint32(1, BigEndian);
    if (flag === 1) {
      throw prefixError(
        this.path,
        GrpcCode.UNIMPLEMENTED,
        `compressed messages are not supported (grpc-encoding ${this.encoding}); send them uncompressed`,
      );
    }
    if (flag !== 0) {
      throw prefixError(
        this.path,
        GrpcCode.INVALID_ARGUMENT,
        `malformed message prefix: flag byte ${flag} is neither 0 nor 1`,
      );
    }
    if (length > this.maxBytes) {
      throw prefixError(
        this.path,
        GrpcCode.RESOURCE_EXHAUSTED,
        `request message of ${length} bytes exceeds the limit of ${this.maxBytes} bytes`,
      );
    }
    this.length = length;
  }

  /** joined returns the chunks pushed as one array, and leaves rest empty. */
  private joined(): Uint8Array {
    const first = this.first as Uint8Array;
    const rest = this.rest;
    if (rest === undefined) return first;
    this.rest = undefined;
    const out = new Uint8Array(this.received);
    out.set(first, 0);
    let at = first.length;
    for (const c of rest) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private secondMessage(): KvError {
    return prefixError(
      this.path,
      GrpcCode.INVALID_ARGUMENT,
      'the method is unary but the request has more than one message',
    );
  }
}

/** frameMessage returns msg with its gRPC prefix (uncompressed), in one buffer. */
export function frameMessage(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PrefixBytes + msg.length);
  out[0] = 0;
  out.writeUInt32BE(msg.length, 1);
  out.set(msg, PrefixBytes);
  return out;
}

const plainStatusText = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * encodeStatusMessage percent-encodes text for grpc-message: UTF-8 bytes outside
 * printable ASCII, and '%', become %XX.
 */
export function encodeStatusMessage(text: string): string {
  if (plainStatusText.test(text)) return text;
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const timeoutUnitMs: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

/**
 * parseTimeout reads a grpc-timeout header ("250m", "5S": 1 to 8 digits and a unit) as
 * milliseconds; it throws an INVALID_ARGUMENT KvError naming the value when it is malformed.
 */
export function parseTimeout(value: string): number {
  const unit = timeoutUnitMs[value.slice(-1)];
  const digits = value.slice(0, -1);
  if (unit === undefined || !/^\d{1,8}$/.test(digits)) {
    throw new KvError(
      GrpcCode.INVALID_ARGUMENT,
      `raftkv: grpc-timeout ${JSON.stringify(value)} is not 1 to 8 digits and a unit (H M S m u n)`,
    );
  }
  return Number(digits) * unit;
}
