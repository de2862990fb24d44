// Test helpers shared by the transport's tests: sample frames and a decoder driver.
// (Not a test file itself; nothing in the library imports it.)
import * as net from 'node:net';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';

import { EntryType, MessageType, newMessage } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import { FrameDecoder, FrameType, PROTOCOL_VERSION, RejectReason } from './frame.ts';
import type { Frame, FrameDecoderOptions, Handshake } from './frame.ts';
import { encodeHello, encodeWelcome } from './frame.ts';
import { parseAddress } from './options.ts';

/** decodeChunks feeds chunks to a fresh decoder, then end(); it never throws. */
export function decodeChunks(
  chunks: readonly Uint8Array[],
  opts?: FrameDecoderOptions,
): { frames: Frame[]; error: unknown } {
  const d = new FrameDecoder(opts);
  const frames: Frame[] = [];
  try {
    for (const c of chunks) d.push(c, (f) => frames.push(f));
    d.end();
  } catch (error) {
    return { frames, error };
  }
  return { frames, error: undefined };
}

/** msgApp builds a MsgApp with n entries of `size` bytes (entry i filled with i). */
export function msgApp(from: number, to: number, n: number, size: number): Message {
  const entries = Array.from({ length: n }, (_, i) => ({
    term: 3,
    index: 100 + i,
    type: EntryType.EntryNormal,
    data: new Uint8Array(size).fill(i & 0xff),
  }));
  return newMessage({
    type: MessageType.MsgApp,
    from,
    to,
    term: 3,
    logTerm: 3,
    index: 99,
    commit: 98,
    entries,
  });
}

/** sampleFrames has one frame of each type, some with several messages. */
export function sampleFrames(): Frame[] {
  const snapMsg = newMessage({
    type: MessageType.MsgSnap,
    from: 1,
    to: 2,
    term: 4,
    snapshot: {
      metadata: {
        index: 50,
        term: 4,
        confState: {
          voters: [1, 2, 3],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
    },
  });
  return [
    {
      type: FrameType.Hello,
      version: PROTOCOL_VERSION,
      clusterId: 0x1234_5678_9abc,
      from: 1,
      to: 2,
    },
    { type: FrameType.Welcome, version: PROTOCOL_VERSION, clusterId: 7, from: 2, to: 1 },
    {
      type: FrameType.Reject,
      reason: RejectReason.WrongCluster,
      detail: 'cluster 8 is not cluster 7 — ✓',
    },
    { type: FrameType.Messages, messages: [msgApp(1, 2, 3, 40)] },
    {
      type: FrameType.Messages,
      messages: [
        newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 3, commit: 9 }),
        msgApp(1, 2, 2, 10),
        newMessage({ type: MessageType.MsgVote, from: 1, to: 2, term: 5, logTerm: 3, index: 101 }),
      ],
    },
    { type: FrameType.SnapBegin, snapId: 1, totalBytes: 2 ** 40, message: snapMsg },
    { type: FrameType.SnapChunk, snapId: 1, data: new Uint8Array([1, 2, 3, 4, 5]) },
    { type: FrameType.SnapChunk, snapId: 1, data: new Uint8Array(0) },
    { type: FrameType.SnapEnd, snapId: 1, sha256: new Uint8Array(32).fill(0xab) },
    { type: FrameType.SnapAck, snapId: 0xffffffff, ok: true },
    { type: FrameType.SnapAck, snapId: 2, ok: false },
  ];
}

/** RecordingHandler is a TransportHandler that records everything it is given. */
export class RecordingHandler {
  readonly received: Message[] = [];
  readonly unreachable: number[] = [];
  readonly snapshots: [number, boolean][] = [];
  /** onReceive, if set, is called for each message (after it is recorded). */
  onReceive: ((m: Message) => void) | undefined;

  receive(m: Message): void {
    this.received.push(m);
    this.onReceive?.(m);
  }
  reportUnreachable(id: number): void {
    this.unreachable.push(id);
  }
  reportSnapshot(id: number, ok: boolean): void {
    this.snapshots.push([id, ok]);
  }
}

/** CapturingLogger is a Logger that keeps every line (with its level) in `lines`. */
export class CapturingLogger {
  readonly lines: string[] = [];
  /** echo prints each line too (for debugging a test). */
  echo = process.env['TRANSPORT_TEST_LOG'] === '1';
  #add(level: string, m: string): void {
    this.lines.push(`${level} ${m}`);
    if (this.echo) console.error(`${level} ${m}`);
  }
  debug(m: string): void {
    this.#add('DEBUG', m);
  }
  info(m: string): void {
    this.#add('INFO', m);
  }
  warning(m: string): void {
    this.#add('WARN', m);
  }
  error(m: string): void {
    this.#add('ERROR', m);
  }
  fatal(m: string): void {
    this.#add('FATAL', m);
  }
  panic(m: string): void {
    this.#add('PANIC', m);
  }
  /** matching returns the lines (any level but DEBUG) that match re. */
  matching(re: RegExp): string[] {
    return this.lines.filter((l) => !l.startsWith('DEBUG') && re.test(l));
  }
}

/**
 * waitFor polls `cond` every few milliseconds until it returns true, and rejects with an
 * error naming `what` after `timeoutMs` (default 5000) or with signal.reason when aborted.
 */
export function waitFor(
  what: string,
  cond: () => boolean,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const { timeoutMs = 5000, signal } = opts;
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const check = (): void => {
      let ok = false;
      try {
        ok = cond();
      } catch (err) {
        signal?.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (ok) {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      } else if (Date.now() > deadline) {
        signal?.removeEventListener('abort', onAbort);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      } else {
        timer = setTimeout(check, 5);
      }
    };
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

/** heartbeat builds a small MsgHeartbeat from `from` to `to` carrying `commit`. */
export function heartbeat(from: number, to: number, commit = 0): Message {
  return newMessage({ type: MessageType.MsgHeartbeat, from, to, term: 1, commit });
}

/**
 * RawPeer is a hand-driven end of a connection for tests: it writes whatever bytes it is
 * told and records the frames it receives (and whether the other side closed).
 */
export class RawPeer {
  readonly socket: Socket;
  readonly frames: Frame[] = [];
  decodeError: unknown;
  closed = false;
  readonly #decoder = new FrameDecoder({ maxFrameBytes: 64 << 20 });

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Uint8Array) => {
      try {
        this.#decoder.push(chunk, (f) => this.frames.push(f));
      } catch (err) {
        this.decodeError = err;
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (this.closed = true));
  }

  /** connect dials "host:port" (with TLS when options are given) and resolves once ready. */
  static connect(address: string, tlsOpts?: tls.ConnectionOptions): Promise<RawPeer> {
    const { host, port } = parseAddress(address);
    return new Promise((resolve, reject) => {
      const s =
        tlsOpts === undefined
          ? net.connect({ host, port })
          : tls.connect({ host, port, ...tlsOpts });
      s.once(tlsOpts === undefined ? 'connect' : 'secureConnect', () => {
        s.off('error', reject);
        resolve(new RawPeer(s));
      });
      s.once('error', reject);
    });
  }

  /** hello sends a Hello with the given fields (version 1 unless told). */
  hello(h: Omit<Handshake, 'version'> & { version?: number }): void {
    this.socket.write(encodeHello({ version: PROTOCOL_VERSION, ...h }));
  }

  /** welcome sends a Welcome (for a RawPeer that plays the accepting side). */
  welcome(h: Omit<Handshake, 'version'>): void {
    this.socket.write(encodeWelcome({ version: PROTOCOL_VERSION, ...h }));
  }

  write(b: Uint8Array): void {
    this.socket.write(b);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * RawServer accepts connections and wraps each in a RawPeer; `onPeer` may answer them. It
 * stands in for a misbehaving member that a transport dials.
 */
export class RawServer {
  readonly server: net.Server;
  readonly peers: RawPeer[] = [];

  constructor(onPeer: (p: RawPeer) => void) {
    this.server = net.createServer((s) => {
      const p = new RawPeer(s);
      this.peers.push(p);
      onPeer(p);
    });
  }

  listen(): Promise<string> {
    return new Promise((resolve) => {
      this.server.listen(0, '127.0.0.1', () => {
        const a = this.server.address() as net.AddressInfo;
        resolve(`127.0.0.1:${a.port}`);
      });
    });
  }

  close(): Promise<void> {
    for (const p of this.peers) p.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
