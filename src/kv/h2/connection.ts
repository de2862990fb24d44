/**
 * H2Connection: the server side of one cleartext HTTP/2 connection (RFC 9113), as much of it
 * as gRPC's unary calls need: requests arrive as HEADERS (+ CONTINUATION) and DATA, each is
 * answered with a header block, an optional body and optional trailers. No server push, no
 * priorities, no TLS (raftkv's client port is cleartext).
 *
 * Why not node:http2: every stream there is a Duplex with its own header objects, listeners
 * and session bookkeeping; bench/grpc.ts measures what a call costs on each.
 *
 * What it does keep of the protocol:
 * - SETTINGS both ways (ours: MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE,
 *   MAX_HEADER_LIST_SIZE; theirs: INITIAL_WINDOW_SIZE and MAX_FRAME_SIZE are obeyed), PING
 *   answered, GOAWAY sent on a connection error and on close.
 * - Flow control both ways: what the client sends is counted against the windows we
 *   advertised and given back with WINDOW_UPDATE as it is handed on; what we send waits for
 *   the client's windows. Output is written in one write per run of callbacks (see frame()).
 * - HPACK state kept in step for every header block, including those of streams we refuse.
 * - Errors: a connection error (RFC 9113 §5.4.1) sends GOAWAY with its code and a reason and
 *   closes the socket, and every open stream hears onClose; a stream error resets that
 *   stream only. Backpressure: when more than maxQueuedBytes of output waits (a client that
 *   does not read), the connection stops reading until it drains.
 */
import type { Socket } from 'node:net';
import { encodeHeaders, HpackDecoder, HpackError } from './hpack.ts';

/** FrameType is an HTTP/2 frame type (RFC 9113 §6). */
export const FrameType = {
  Data: 0x0,
  Headers: 0x1,
  Priority: 0x2,
  RstStream: 0x3,
  Settings: 0x4,
  PushPromise: 0x5,
  Ping: 0x6,
  GoAway: 0x7,
  WindowUpdate: 0x8,
  Continuation: 0x9,
} as const;
/** FrameType is one of the FrameType values. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Flag bits of the frame header. */
export const Flag = {
  EndStream: 0x1,
  Ack: 0x1,
  EndHeaders: 0x4,
  Padded: 0x8,
  Priority: 0x20,
} as const;

/** H2Error is an HTTP/2 error code (RFC 9113 §7). */
export const H2Error = {
  NoError: 0x0,
  ProtocolError: 0x1,
  InternalError: 0x2,
  FlowControlError: 0x3,
  SettingsTimeout: 0x4,
  StreamClosed: 0x5,
  FrameSizeError: 0x6,
  RefusedStream: 0x7,
  Cancel: 0x8,
  CompressionError: 0x9,
  EnhanceYourCalm: 0xb,
} as const;
/** H2Error is one of the H2Error values. */
export type H2Error = (typeof H2Error)[keyof typeof H2Error];

/** SettingId names the SETTINGS parameters (RFC 9113 §6.5.2). */
export const SettingId = {
  HeaderTableSize: 0x1,
  EnablePush: 0x2,
  MaxConcurrentStreams: 0x3,
  InitialWindowSize: 0x4,
  MaxFrameSize: 0x5,
  MaxHeaderListSize: 0x6,
} as const;

/** ClientPreface opens every HTTP/2 connection (RFC 9113 §3.4). */
export const ClientPreface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** FrameHeaderBytes is the size of a frame header. */
export const FrameHeaderBytes = 9;
/** DefaultWindow is every flow-control window's size before SETTINGS or WINDOW_UPDATE. */
export const DefaultWindow = 65_535;
/** MaxWindow is the largest a flow-control window may be (2^31 - 1). */
export const MaxWindow = 0x7fff_ffff;
/** DefaultMaxFrameSize is SETTINGS_MAX_FRAME_SIZE's initial value, and the one we keep. */
export const DefaultMaxFrameSize = 16_384;
const MaxFrameSizeLimit = 16_777_215;
const SettingBytes = 6;
/** PingAckDelayMs: the longest a PING ACK waits for an answer to go out with. */
export const PingAckDelayMs = 10;
const PingBytes = 8;
const StreamIdMask = 0x7fff_ffff;

/** H2Options tune an H2Connection. */
export interface H2Options {
  /** maxConcurrentStreams we allow the client (SETTINGS); more are refused. Default 4096. */
  maxConcurrentStreams?: number;
  /** streamWindow: our SETTINGS_INITIAL_WINDOW_SIZE. Default 1 MiB. */
  streamWindow?: number;
  /** connectionWindow: the connection's receive window. Default 16 MiB. */
  connectionWindow?: number;
  /** maxHeaderListSize: a request's headers (RFC 9113 size) past it get HTTP 431. Default 64 KiB. */
  maxHeaderListSize?: number;
  /** maxQueuedBytes: output waiting past it pauses reading. Default 16 MiB. */
  maxQueuedBytes?: number;
}

/** H2Handler hears a connection's requests. */
export interface H2Handler {
  /**
   * onRequest is called with a new stream and its request headers, a flat list of names
   * and values ([name0, value0, name1, ...], names lowercase, pseudo-headers first). It sets
   * the stream's onData/onEnd/onClose before it returns; the request's end comes later, even
   * for a request without a body.
   */
  onRequest(stream: H2Stream, headers: readonly string[]): void;
}

/**
 * H2Stream is one request and its response. The handler reads the request through onData
 * and onEnd and answers once with respond(); onClose tells it that the stream ended before
 * its answer was sent (the client reset it, or the connection went away).
 */
export class H2Stream {
  readonly id: number;
  /** onData receives the request's body, in chunks of any size. */
  onData: ((chunk: Uint8Array) => void) | undefined = undefined;
  /** onEnd: the request is complete. */
  onEnd: (() => void) | undefined = undefined;
  /** onClose: the stream is gone without (all of) its answer; code is the HTTP/2 error. */
  onClose: ((code: number) => void) | undefined = undefined;
  /** remoteEnded: the client sent END_STREAM. */
  remoteEnded = false;
  /** responded: respond() was called. */
  responded = false;
  /** closed: nothing more is sent or handed on (answered and flushed, or reset). */
  closed = false;
  /** sendWindow: bytes the client's stream window still takes. */
  sendWindow: number;
  /** recvWindow: bytes our stream window still takes. */
  recvWindow: number;
  /** The answer's body still to send, from bodyOff, and its trailers. */
  body: Uint8Array | undefined = undefined;
  bodyOff = 0;
  trailers: Uint8Array | undefined = undefined;
  private readonly conn: H2Connection;

  constructor(conn: H2Connection, id: number, sendWindow: number, recvWindow: number) {
    this.conn = conn;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /**
   * respond answers the request: `headers` (an HPACK block from encodeHeaders), then `body`
   * in DATA frames as the client's windows allow, then `trailers`, which end the stream.
   * Without body and trailers the headers end the stream ("trailers only"). A second call,
   * or one after the stream closed, does nothing.
   */
  respond(headers: Uint8Array, body?: Uint8Array, trailers?: Uint8Array): void {
    if (this.responded || this.closed) return;
    this.responded = true;
    this.conn.answer(this, headers, body, trailers);
  }
}

/** ConnectionError ends the connection with an HTTP/2 error code. */
class ConnectionError extends Error {
  readonly code: H2Error;
  constructor(code: H2Error, message: string) {
    super(message);
    this.code = code;
  }
}

/** HeaderBlock is a header block being assembled from HEADERS and CONTINUATION frames. */
interface HeaderBlock {
  id: number;
  endStream: boolean;
  parts: Buffer[];
  size: number;
}

const StatusTooLarge = encodeHeaders([[':status', '431']]);
const Empty = Buffer.alloc(0);

/**
 * H2Connection serves one socket. Error contract: protocol violations never throw out of
 * it; they close the connection (GOAWAY) or reset a stream, as RFC 9113 says. A handler that
 * throws from onRequest/onData/onEnd is a bug: the connection closes with INTERNAL_ERROR.
 */
export class H2Connection {
  private readonly socket: Socket;
  private readonly handler: H2Handler;
  private readonly maxStreams: number;
  private readonly streamWindow: number;
  private readonly connectionWindow: number;
  private readonly maxQueued: number;
  private readonly hpack: HpackDecoder;
  private readonly maxHeaderList: number;
  private readonly streams = new Map<number, H2Stream>();
  /** blocked are the streams whose answer waits for a window, in arrival order. */
  private readonly blocked = new Set<H2Stream>();
  private pending: Buffer = Empty;
  private prefaceSeen = false;
  private settingsSeen = false;
  private headerBlock: HeaderBlock | undefined = undefined;
  /** lastStreamId: the highest stream the client opened (every lower one is closed or open). */
  private lastStreamId = 0;
  private peerInitialWindow = DefaultWindow;
  private peerMaxFrame = DefaultMaxFrameSize;
  private connSendWindow = DefaultWindow;
  private connRecvWindow: number;
  /** blockedBytes: body bytes waiting for windows. */
  private blockedBytes = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  private lazyTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** eager: a frame that is not lazy waits in the queue. */
  private eager = false;
  private paused = false;
  private dead = false;
  private readonly flushNow = (): void => this.flush();
  private readonly flushLazy = (): void => this.flush(true);

  constructor(socket: Socket, handler: H2Handler, o: H2Options = {}) {
    this.socket = socket;
    this.handler = handler;
    this.maxStreams = o.maxConcurrentStreams ?? 4096;
    this.streamWindow = o.streamWindow ?? 1 << 20;
    this.connectionWindow = o.connectionWindow ?? 16 << 20;
    this.maxQueued = o.maxQueuedBytes ?? 16 << 20;
    this.maxHeaderList = o.maxHeaderListSize ?? 64 << 10;
    this.hpack = new HpackDecoder({ maxHeaderListSize: this.maxHeaderList });
    this.connRecvWindow = this.connectionWindow;
    this.sendSettings();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.once('close', () => this.teardown(H2Error.Cancel));
    socket.on('error', () => socket.destroy());
    socket.resume();
  }

  /** openStreams is the number of streams not yet closed. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** close sends GOAWAY (NO_ERROR) and closes the socket; open streams hear onClose. */
  close(): void {
    if (this.dead) return;
    this.goaway(H2Error.NoError, '');
  }

  // ---- reading ------------------------------------------------------------------------

  private onBytes(chunk: Buffer): void {
    if (this.dead) return;
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      let off = 0;
      if (!this.prefaceSeen) {
        const n = Math.min(buf.length, ClientPreface.length);
        if (!buf.subarray(0, n).equals(ClientPreface.subarray(0, n))) {
          throw new ConnectionError(H2Error.ProtocolError, 'not the HTTP/2 client preface');
        }
        if (n < ClientPreface.length) {
          this.pending = buf;
          return;
        }
        this.prefaceSeen = true;
        off = ClientPreface.length;
      }
      while (!this.dead && buf.length - off >= FrameHeaderBytes) {
        const len = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
        if (len > DefaultMaxFrameSize) {
          throw new ConnectionError(
            H2Error.FrameSizeError,
            `frame of ${len} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${DefaultMaxFrameSize}`,
          );
        }
        if (buf.length - off < FrameHeaderBytes + len) break;
        const type = buf[off + 3]!;
        const flags = buf[off + 4]!;
        const id = buf.readUInt32BE(off + 5) & StreamIdMask;
        const start = off + FrameHeaderBytes;
        off = start + len;
        this.onFrame(type, flags, id, buf.subarray(start, off));
      }
      buf = buf.subarray(off);
      this.pending = buf.length === 0 ? Empty : Buffer.from(buf);
    } catch (err) {
      if (err instanceof ConnectionError) {
        this.goaway(err.code, err.message);
        return;
      }
      // A handler's bug: this connection cannot go on, the process can.
      this.goaway(H2Error.InternalError, 'internal error');
    }
  }

  private onFrame(type: number, flags: number, id: number, p: Buffer): void {
    if (this.headerBlock !== undefined && type !== FrameType.Continuation) {
      throw new ConnectionError(H2Error.ProtocolError, 'header block interrupted by another frame');
    }
    if (!this.settingsSeen && type !== FrameType.Settings) {
      throw new ConnectionError(H2Error.ProtocolError, 'the first frame is not SETTINGS');
    }
    switch (type) {
      case FrameType.Data:
        return this.onData(flags, id, p);
      case FrameType.Headers:
        return this.onHeaders(flags, id, p);
      case FrameType.Continuation:
        return this.onContinuation(flags, id, p);
      case FrameType.Settings:
        return this.onSettings(flags, id, p);
      case FrameType.Ping:
        return this.onPing(flags, id, p);
      case FrameType.WindowUpdate:
        return this.onWindowUpdate(id, p);
      case FrameType.RstStream:
        return this.onRstStream(id, p);
      case FrameType.Priority:
        if (id === 0) throw new ConnectionError(H2Error.ProtocolError, 'PRIORITY on stream 0');
        if (p.length !== 5)
          throw new ConnectionError(H2Error.FrameSizeError, 'PRIORITY not 5 bytes');
        return;
      case FrameType.GoAway:
        if (id !== 0) throw new ConnectionError(H2Error.ProtocolError, 'GOAWAY on a stream');
        return;
      case FrameType.PushPromise:
        throw new ConnectionError(H2Error.ProtocolError, 'a client may not send PUSH_PROMISE');
      default:
        return; // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  private onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.ProtocolError, 'SETTINGS on a stream');
    if ((flags & Flag.Ack) !== 0) {
      if (p.length !== 0)
        throw new ConnectionError(H2Error.FrameSizeError, 'SETTINGS ACK with a payload');
      return;
    }
    if (p.length % SettingBytes !== 0) {
      throw new ConnectionError(H2Error.FrameSizeError, `SETTINGS of ${p.length} bytes`);
    }
    this.settingsSeen = true;
    for (let i = 0; i < p.length; i += SettingBytes) {
      const key = p.readUInt16BE(i);
      const value = p.readUInt32BE(i + 2);
      if (key === SettingId.InitialWindowSize) {
        if (value > MaxWindow) {
          throw new ConnectionError(H2Error.FlowControlError, `INITIAL_WINDOW_SIZE ${value}`);
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MaxWindow) {
            throw new ConnectionError(H2Error.FlowControlError, 'a stream window past 2^31-1');
          }
        }
      } else if (key === SettingId.MaxFrameSize) {
        if (value < DefaultMaxFrameSize || value > MaxFrameSizeLimit) {
          throw new ConnectionError(H2Error.ProtocolError, `MAX_FRAME_SIZE ${value}`);
        }
        this.peerMaxFrame = value;
      } else if (key === SettingId.EnablePush && value > 1) {
        throw new ConnectionError(H2Error.ProtocolError, `ENABLE_PUSH ${value}`);
      }
      // HEADER_TABLE_SIZE: our encoder never uses the dynamic table. Others: not ours.
    }
    this.frame(FrameType.Settings, Flag.Ack, 0, undefined);
    this.resumeBlocked();
  }

  private onPing(flags: number, id: number, p: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2Error.ProtocolError, 'PING on a stream');
    if (p.length !== PingBytes)
      throw new ConnectionError(H2Error.FrameSizeError, 'PING not 8 bytes');
    if ((flags & Flag.Ack) !== 0) return;
    // While calls are open their answers follow soon: the ACK goes out with the next one
    // (grpc-go pings when it receives DATA, just before its next request, so this saves a
    // write per call), or after PingAckDelayMs at the latest. See flush().
    this.frame(FrameType.Ping, Flag.Ack, 0, Buffer.from(p), true);
  }

  private onWindowUpdate(id: number, p: Buffer): void {
    if (p.length !== 4)
      throw new ConnectionError(H2Error.FrameSizeError, 'WINDOW_UPDATE not 4 bytes');
    const inc = p.readUInt32BE(0) & StreamIdMask;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(H2Error.ProtocolError, 'WINDOW_UPDATE of 0');
      if (this.connSendWindow + inc > MaxWindow) {
        throw new ConnectionError(H2Error.FlowControlError, 'connection window past 2^31-1');
      }
      this.connSendWindow += inc;
      this.resumeBlocked();
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id > this.lastStreamId) {
        throw new ConnectionError(H2Error.ProtocolError, `WINDOW_UPDATE on idle stream ${id}`);
      }
      return; // A stream that closed meanwhile.
    }
    if (inc === 0) return this.resetStream(s, H2Error.ProtocolError);
    if (s.sendWindow + inc > MaxWindow) return this.resetStream(s, H2Error.FlowControlError);
    s.sendWindow += inc;
    if (this.blocked.has(s)) this.pump(s);
  }

  private onRstStream(id: number, p: Buffer): void {
    if (p.length !== 4) throw new ConnectionError(H2Error.FrameSizeError, 'RST_STREAM not 4 bytes');
    if (id === 0) throw new ConnectionError(H2Error.ProtocolError, 'RST_STREAM on stream 0');
    if (id > this.lastStreamId) {
      throw new ConnectionError(H2Error.ProtocolError, `RST_STREAM on idle stream ${id}`);
    }
    const s = this.streams.get(id);
    if (s !== undefined) this.closeStream(s, p.readUInt32BE(0));
  }

  private onData(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.ProtocolError, 'DATA on stream 0');
    // All of a DATA frame, padding included, counts against the windows (RFC 9113 §6.9.1).
    if (p.length > this.connRecvWindow) {
      throw new ConnectionError(H2Error.FlowControlError, 'DATA past the connection window');
    }
    this.connRecvWindow -= p.length;
    if (this.connRecvWindow <= this.connectionWindow / 2) {
      this.frame(FrameType.WindowUpdate, 0, 0, u32(this.connectionWindow - this.connRecvWindow));
      this.connRecvWindow = this.connectionWindow;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (id > this.lastStreamId) {
        throw new ConnectionError(H2Error.ProtocolError, `DATA on idle stream ${id}`);
      }
      return; // A stream we reset or answered early: what is still in flight is dropped.
    }
    if (s.remoteEnded) return this.resetStream(s, H2Error.StreamClosed);
    if (p.length > s.recvWindow) return this.resetStream(s, H2Error.FlowControlError);
    s.recvWindow -= p.length;
    const data = unpad(flags, p);
    const end = (flags & Flag.EndStream) !== 0;
    if (data.length > 0) s.onData?.(data);
    if (end) {
      s.remoteEnded = true;
      if (!s.closed) s.onEnd?.();
    } else if (!s.closed && s.recvWindow <= this.streamWindow / 2) {
      this.frame(FrameType.WindowUpdate, 0, id, u32(this.streamWindow - s.recvWindow));
      s.recvWindow = this.streamWindow;
    }
  }

  private onHeaders(flags: number, id: number, p: Buffer): void {
    if (id === 0) throw new ConnectionError(H2Error.ProtocolError, 'HEADERS on stream 0');
    let frag = unpad(flags, p);
    if ((flags & Flag.Priority) !== 0) {
      if (frag.length < 5) throw new ConnectionError(H2Error.FrameSizeError, 'HEADERS too short');
      frag = frag.subarray(5);
    }
    const endStream = (flags & Flag.EndStream) !== 0;
    if ((flags & Flag.EndHeaders) !== 0) return this.onHeaderBlock(id, endStream, frag);
    this.headerBlock = { id, endStream, parts: [Buffer.from(frag)], size: frag.length };
  }

  private onContinuation(flags: number, id: number, p: Buffer): void {
    const hb = this.headerBlock;
    if (hb === undefined || hb.id !== id) {
      throw new ConnectionError(H2Error.ProtocolError, 'CONTINUATION without its HEADERS');
    }
    hb.size += p.length;
    // A header block is bounded by what the decoder would accept, with room for HPACK.
    if (hb.size > 4 * this.maxHeaderList) {
      throw new ConnectionError(H2Error.EnhanceYourCalm, `header block past ${hb.size} bytes`);
    }
    hb.parts.push(Buffer.from(p));
    if ((flags & Flag.EndHeaders) === 0) return;
    this.headerBlock = undefined;
    this.onHeaderBlock(id, hb.endStream, Buffer.concat(hb.parts, hb.size));
  }

  private onHeaderBlock(id: number, endStream: boolean, block: Uint8Array): void {
    let headers: string[] | undefined;
    let tooLarge = false;
    try {
      headers = this.hpack.decode(block);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      if (err.code !== 'HEADER_LIST_TOO_LARGE') {
        throw new ConnectionError(H2Error.CompressionError, err.message);
      }
      tooLarge = true;
    }
    const s = this.streams.get(id);
    if (s !== undefined) {
      // Trailers: they must end the stream; their content is of no use to a unary call.
      if (s.remoteEnded || !endStream) return this.resetStream(s, H2Error.ProtocolError);
      s.remoteEnded = true;
      if (!s.closed) s.onEnd?.();
      return;
    }
    // HEADERS on a closed stream: trailers still in flight when we answered early and
    // reset the stream. Decoded above, so the HPACK table stays in step; dropped.
    if (id <= this.lastStreamId) return;
    if (id % 2 === 0) throw new ConnectionError(H2Error.ProtocolError, `even stream id ${id}`);
    this.lastStreamId = id;
    if (this.streams.size >= this.maxStreams) {
      this.frame(FrameType.RstStream, 0, id, u32(H2Error.RefusedStream));
      return;
    }
    const stream = new H2Stream(this, id, this.peerInitialWindow, this.streamWindow);
    stream.remoteEnded = endStream;
    this.streams.set(id, stream);
    if (tooLarge || headers === undefined) {
      stream.respond(StatusTooLarge);
      return;
    }
    if (!wellFormed(headers)) return this.resetStream(stream, H2Error.ProtocolError);
    this.handler.onRequest(stream, headers);
    if (endStream && !stream.closed) stream.onEnd?.();
  }

  // ---- writing ------------------------------------------------------------------------

  /** answer is H2Stream.respond's work: HEADERS now, the body as windows allow, trailers. */
  answer(s: H2Stream, headers: Uint8Array, body?: Uint8Array, trailers?: Uint8Array): void {
    if (this.dead) return;
    const only = body === undefined && trailers === undefined;
    this.headerFrames(s.id, headers, only);
    if (only) return this.finish(s);
    s.body = body;
    s.trailers = trailers;
    if (body !== undefined) this.blockedBytes += body.length;
    this.pump(s);
  }

  /** pump sends what the windows allow of s's body, then its trailers. */
  private pump(s: H2Stream): void {
    const body = s.body;
    if (body !== undefined) {
      while (s.bodyOff < body.length) {
        const n = Math.min(
          body.length - s.bodyOff,
          s.sendWindow,
          this.connSendWindow,
          this.peerMaxFrame,
        );
        if (n <= 0) {
          this.blocked.add(s);
          return;
        }
        this.frame(FrameType.Data, 0, s.id, body.subarray(s.bodyOff, s.bodyOff + n));
        s.bodyOff += n;
        s.sendWindow -= n;
        this.connSendWindow -= n;
        this.blockedBytes -= n;
      }
      s.body = undefined;
    }
    this.blocked.delete(s);
    if (s.trailers !== undefined) this.headerFrames(s.id, s.trailers, true);
    else this.frame(FrameType.Data, Flag.EndStream, s.id, undefined);
    s.trailers = undefined;
    this.finish(s);
    this.maybeResume();
  }

  private resumeBlocked(): void {
    for (const s of this.blocked) {
      if (this.connSendWindow <= 0) return;
      if (s.sendWindow > 0) this.pump(s);
    }
  }

  /** finish: s's answer is queued whole. A request still arriving is stopped (§8.1). */
  private finish(s: H2Stream): void {
    if (!s.remoteEnded) this.frame(FrameType.RstStream, 0, s.id, u32(H2Error.NoError));
    s.closed = true;
    this.streams.delete(s.id);
  }

  /** resetStream ends s with RST_STREAM(code): a stream error. */
  private resetStream(s: H2Stream, code: H2Error): void {
    this.frame(FrameType.RstStream, 0, s.id, u32(code));
    this.closeStream(s, code);
  }

  private closeStream(s: H2Stream, code: number): void {
    if (this.blocked.delete(s) && s.body !== undefined) {
      this.blockedBytes -= s.body.length - s.bodyOff;
    }
    s.body = undefined;
    this.streams.delete(s.id);
    if (s.closed) return;
    s.closed = true;
    s.onClose?.(code);
  }

  /** headerFrames sends a header block as HEADERS plus CONTINUATIONs as frame size needs. */
  private headerFrames(id: number, block: Uint8Array, endStream: boolean): void {
    const es = endStream ? Flag.EndStream : 0;
    if (block.length <= this.peerMaxFrame) {
      this.frame(FrameType.Headers, es | Flag.EndHeaders, id, block);
      return;
    }
    let off = 0;
    let type: FrameType = FrameType.Headers;
    while (off < block.length) {
      const n = Math.min(block.length - off, this.peerMaxFrame);
      const last = off + n === block.length;
      const flags = (type === FrameType.Headers ? es : 0) | (last ? Flag.EndHeaders : 0);
      this.frame(type, flags, id, block.subarray(off, off + n));
      type = FrameType.Continuation;
      off += n;
    }
  }

  private sendSettings(): void {
    const settings: [number, number][] = [
      [SettingId.MaxConcurrentStreams, this.maxStreams],
      [SettingId.InitialWindowSize, this.streamWindow],
      [SettingId.MaxHeaderListSize, this.maxHeaderList],
      [SettingId.EnablePush, 0],
    ];
    const p = Buffer.allocUnsafe(settings.length * SettingBytes);
    settings.forEach(([k, v], i) => {
      p.writeUInt16BE(k, i * SettingBytes);
      p.writeUInt32BE(v, i * SettingBytes + 2);
    });
    this.frame(FrameType.Settings, 0, 0, p);
    if (this.connectionWindow > DefaultWindow) {
      this.frame(FrameType.WindowUpdate, 0, 0, u32(this.connectionWindow - DefaultWindow));
    }
  }

  /**
   * frame queues one frame. The queue is written in one write once the callbacks and
   * microtasks under way are done (process.nextTick): the answers made by one batch of
   * applied entries go out together, and ahead of what waits for setImmediate (the peer
   * transport's flush, the WAL's next batch). A lazy frame waits for the next flush, or
   * PingAckDelayMs.
   */
  private frame(
    type: FrameType,
    flags: number,
    id: number,
    payload: Uint8Array | undefined,
    lazy = false,
  ): void {
    const len = payload?.length ?? 0;
    const small = len <= 256;
    const h = Buffer.allocUnsafe(small ? FrameHeaderBytes + len : FrameHeaderBytes);
    h[0] = len >>> 16;
    h[1] = (len >>> 8) & 0xff;
    h[2] = len & 0xff;
    h[3] = type;
    h[4] = flags;
    h.writeUInt32BE(id, 5);
    this.out.push(h);
    this.outBytes += h.length;
    if (payload !== undefined && len > 0) {
      if (small) h.set(payload, FrameHeaderBytes);
      else {
        this.out.push(Buffer.from(payload.buffer, payload.byteOffset, len));
        this.outBytes += len;
      }
    }
    if (!lazy) this.eager = true;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flushNow);
  }

  /**
   * flush writes the queue. A queue of lazy frames only, while calls are open, waits for
   * the next answer or PingAckDelayMs (the timer's flush writes it whatever).
   */
  private flush(fromTimer = false): void {
    this.flushScheduled = false;
    if (!this.eager && !fromTimer && this.streams.size > 0 && this.out.length > 0) {
      this.lazyTimer ??= setTimeout(this.flushLazy, PingAckDelayMs);
      return;
    }
    this.eager = false;
    if (this.lazyTimer !== undefined) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
    }
    if (this.out.length === 0 || this.socket.destroyed) return;
    const b =
      this.out.length === 1 ? (this.out[0] as Buffer) : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    this.socket.write(b);
    this.maybePause();
  }

  private maybePause(): void {
    if (this.paused || this.socket.writableLength + this.blockedBytes <= this.maxQueued) return;
    this.paused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.socket.writableLength + this.blockedBytes > this.maxQueued) return;
    this.paused = false;
    this.socket.resume();
  }

  /** goaway ends the connection: GOAWAY(code), then the socket closes once written. */
  private goaway(code: H2Error, reason: string): void {
    if (this.dead) return;
    const debug = Buffer.from(reason, 'utf8');
    const p = Buffer.allocUnsafe(8 + debug.length);
    p.writeUInt32BE(this.lastStreamId, 0);
    p.writeUInt32BE(code, 4);
    debug.copy(p, 8);
    this.frame(FrameType.GoAway, 0, 0, p);
    this.flush();
    this.teardown(code);
    this.socket.end();
    this.socket.destroySoon();
  }

  private teardown(code: number): void {
    if (this.dead) return;
    this.dead = true;
    if (this.lazyTimer !== undefined) clearTimeout(this.lazyTimer);
    const open = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of open) {
      if (s.closed) continue;
      s.closed = true;
      s.onClose?.(code === H2Error.NoError ? H2Error.Cancel : code);
    }
  }
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

/** unpad strips a PADDED frame's pad length byte and padding (a connection error if bad). */
function unpad(flags: number, p: Buffer): Buffer {
  if ((flags & Flag.Padded) === 0) return p;
  if (p.length < 1)
    throw new ConnectionError(H2Error.FrameSizeError, 'PADDED frame without its length');
  const pad = p[0]!;
  if (pad >= p.length) {
    throw new ConnectionError(
      H2Error.ProtocolError,
      `padding of ${pad} bytes in a ${p.length}-byte frame`,
    );
  }
  return p.subarray(1, p.length - pad);
}

const ConnectionHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * wellFormed checks a request's headers as RFC 9113 §8.2-8.3 asks of a server: lowercase
 * names, pseudo-headers first and only known ones, :method and :path present (:scheme too,
 * unless CONNECT), no connection-specific header, te only "trailers".
 */
function wellFormed(h: readonly string[]): boolean {
  let regular = false;
  let method = false;
  let path = false;
  let scheme = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    if (name.length === 0) return false;
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return false;
      if (name === ':method') method = true;
      else if (name === ':path') path = h[i + 1] !== '';
      else if (name === ':scheme') scheme = true;
      else if (name !== ':authority') return false;
      continue;
    }
    regular = true;
    if (name !== name.toLowerCase()) return false;
    if (ConnectionHeaders.has(name)) return false;
    if (name === 'te' && h[i + 1] !== 'trailers') return false;
  }
  return method && path && scheme;
}
