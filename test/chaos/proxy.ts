/**
 * The fault-injecting TCP proxy of the chaos runner: one PeerProxy in front of each member's
 * peer port. Every member's `--peers` (and its `--advertise-peer-addr`) names the proxies, so
 * every raft connection goes through one.
 *
 * A connection carries both directions between two members (the member with the lower id
 * dials, docs/transport.md), so the proxy reads the dialer's first frame, Hello, to learn who
 * talks to whom: bytes from the dialer travel the directed link `from → to`, bytes back travel
 * `to → from`. Each direction is split into transport frames (a u32 length and a type byte,
 * src/transport/frame.ts) and each frame meets the FaultTable's rule for its link:
 *
 * - **blackhole**: frames are held, not delivered, while the rule lasts; the proxy stops
 *   reading the sender once it holds `maxHeldBytes`, so the sender's socket fills as under a
 *   silent partition (iptables DROP). When the rule goes, held frames flow again, late, as TCP
 *   would deliver them after a short partition; or, healed with a reset (PeerProxy.reset),
 *   the connection is closed and what it held is lost, as when TCP has given up. A one-way
 *   partition is a blackhole on one direction only.
 * - **delay**: each frame leaves `delayMs` (plus up to `jitterMs`) after it arrived, in order.
 * - **drop**: a Messages frame (raft messages) is discarded with probability `dropPm`/1000.
 *   Only whole Messages frames are dropped: a stream never has a hole that the transport could
 *   not have seen from a lossy network (handshake and snapshot frames always pass).
 *
 * Frames are forwarded as the bytes that arrived, never re-encoded. `onFrame` observers see
 * each frame as it is forwarded (the snapshot fault kills a member in the middle of a stream).
 */
import * as net from 'node:net';
import { FRAME_HEADER_BYTES, FrameType } from '../../src/transport/frame.ts';

/** LinkRule is what happens to frames on one directed link. */
export interface LinkRule {
  /** blackhole holds every frame until the rule is removed. */
  blackhole?: boolean;
  /** delayMs delays each frame; jitterMs adds a uniformly random extra delay. */
  delayMs?: number;
  jitterMs?: number;
  /** dropPm is the per mille of Messages frames discarded. */
  dropPm?: number;
}

/** FaultTable holds the rule of every directed link; proxies consult it frame by frame. */
export class FaultTable {
  readonly #rules = new Map<string, LinkRule>();
  readonly #listeners = new Set<() => void>();

  /** set replaces the rule of link from → to. */
  set(from: number, to: number, rule: LinkRule): void {
    this.#rules.set(`${from}>${to}`, rule);
    this.#changed();
  }

  /** get returns the rule of link from → to, if any. */
  get(from: number, to: number): LinkRule | undefined {
    return this.#rules.get(`${from}>${to}`);
  }

  /** heal removes every rule; held frames flow again. */
  heal(): void {
    this.#rules.clear();
    this.#changed();
  }

  /** describe lists the rules, for logs: "1>2 blackhole, 2>1 delay 50±20ms". */
  describe(): string {
    const parts: string[] = [];
    for (const [link, r] of this.#rules) {
      const what: string[] = [];
      if (r.blackhole === true) what.push('blackhole');
      if ((r.delayMs ?? 0) > 0) what.push(`delay ${r.delayMs}±${r.jitterMs ?? 0}ms`);
      if ((r.dropPm ?? 0) > 0) what.push(`drop ${(r.dropPm ?? 0) / 10}%`);
      parts.push(`${link} ${what.join('+')}`);
    }
    return parts.length === 0 ? 'none' : parts.join(', ');
  }

  /** onChange registers a listener called after every change; it returns the unsubscriber. */
  onChange(f: () => void): () => void {
    this.#listeners.add(f);
    return () => this.#listeners.delete(f);
  }

  #changed(): void {
    for (const f of this.#listeners) f();
  }
}

/** ProxyFrame is a frame as an onFrame observer sees it. */
export interface ProxyFrame {
  from: number;
  to: number;
  type: number;
  bytes: number;
}

/** ProxyStats count what a proxy did. */
export interface ProxyStats {
  connections: number;
  frames: number;
  dropped: number;
  /** held is the number of bytes waiting in the proxy now (delayed or blackholed). */
  held: number;
  /** heldMax is the largest number of bytes held in one direction at once. */
  heldMax: number;
}

/** ProxyOptions configure a PeerProxy. */
export interface ProxyOptions {
  /** target is the member's real peer address, "127.0.0.1:port". */
  target: string;
  table: FaultTable;
  /** random returns a number in [0, 1); the runner passes a seeded generator. */
  random: () => number;
  /** port to listen on, on 127.0.0.1; default any free port. */
  port?: number;
  /** maxHeldBytes: above this, the proxy stops reading the sender. Default 4 MiB. */
  maxHeldBytes?: number;
  /** maxFrameBytes: a larger frame header closes the connection. Default 64 MiB. */
  maxFrameBytes?: number;
}

interface Queued {
  frame: Buffer;
  type: number;
  due: number;
}

/** Pipe moves the frames of one direction of a connection from src to dst. */
class Pipe {
  readonly #queue: Queued[] = [];
  #pending: Buffer = Buffer.alloc(0);
  #held = 0;
  #timer: NodeJS.Timeout | undefined;
  #waitingDrain = false;
  #lastDue = 0;
  /** ended: the sender half-closed; end dst once everything queued has left. */
  #ended = false;

  constructor(
    readonly conn: ProxyConn,
    readonly src: net.Socket,
    readonly dst: net.Socket,
    readonly dialerSide: boolean,
  ) {
    src.on('data', (chunk: Buffer) => this.#onData(chunk));
    src.on('end', () => {
      this.#ended = true;
      this.pump();
    });
    dst.on('drain', () => {
      this.#waitingDrain = false;
      this.pump();
    });
  }

  /** link is the directed link this pipe carries, once the Hello has been seen. */
  link(): [number, number] | undefined {
    const c = this.conn;
    if (c.from === undefined || c.to === undefined) return undefined;
    return this.dialerSide ? [c.from, c.to] : [c.to, c.from];
  }

  #rule(): LinkRule | undefined {
    const l = this.link();
    return l === undefined ? undefined : this.conn.proxy.table.get(l[0], l[1]);
  }

  #onData(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (this.#pending.length >= FRAME_HEADER_BYTES) {
      const len = this.#pending.readUInt32BE(0);
      if (len > this.conn.proxy.maxFrameBytes) {
        this.conn.destroy();
        return;
      }
      const size = FRAME_HEADER_BYTES + len;
      if (this.#pending.length < size) break;
      const frame = this.#pending.subarray(0, size);
      this.#pending = this.#pending.subarray(size);
      this.#onFrame(frame);
    }
  }

  #onFrame(frame: Buffer): void {
    const type = frame[4] as number;
    if (this.dialerSide && this.conn.from === undefined && type === FrameType.Hello) {
      // Hello body: version u16, clusterId u64, from u64, to u64 (big-endian).
      const body = FRAME_HEADER_BYTES;
      if (frame.length >= body + 26) {
        this.conn.from = Number(frame.readBigUInt64BE(body + 10));
        this.conn.to = Number(frame.readBigUInt64BE(body + 18));
      }
    }
    const rule = this.#rule();
    const proxy = this.conn.proxy;
    if (type === FrameType.Messages && (rule?.dropPm ?? 0) > 0) {
      if (proxy.random() * 1000 < (rule?.dropPm ?? 0)) {
        proxy.stats.dropped++;
        return;
      }
    }
    const delay = (rule?.delayMs ?? 0) + proxy.random() * (rule?.jitterMs ?? 0);
    const due = Math.max(this.#lastDue, performance.now() + delay);
    this.#lastDue = due;
    this.#queue.push({ frame, type, due });
    this.#held += frame.length;
    proxy.stats.held += frame.length;
    proxy.stats.heldMax = Math.max(proxy.stats.heldMax, this.#held);
    if (this.#held > proxy.maxHeldBytes) this.src.pause();
    this.pump();
  }

  /** pump forwards every frame that is due and not blackholed. */
  pump(): void {
    if (this.conn.closed || this.#waitingDrain) return;
    const proxy = this.conn.proxy;
    while (this.#queue.length > 0) {
      if (this.#rule()?.blackhole === true) return;
      const head = this.#queue[0] as Queued;
      const wait = head.due - performance.now();
      if (wait > 0) {
        if (this.#timer === undefined) {
          this.#timer = setTimeout(() => {
            this.#timer = undefined;
            this.pump();
          }, Math.ceil(wait));
        }
        return;
      }
      this.#queue.shift();
      this.#held -= head.frame.length;
      proxy.stats.held -= head.frame.length;
      proxy.stats.frames++;
      const ok = this.dst.write(head.frame);
      const l = this.link();
      if (l !== undefined) {
        proxy.observe({ from: l[0], to: l[1], type: head.type, bytes: head.frame.length });
      }
      if (this.conn.closed) return;
      if (this.#held <= proxy.maxHeldBytes / 4 && this.src.isPaused()) this.src.resume();
      if (!ok) {
        this.#waitingDrain = true;
        return;
      }
    }
    if (this.#ended) this.dst.end();
    else if (this.src.isPaused()) this.src.resume();
  }

  /** stop drops whatever is queued and cancels the timer. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
    this.conn.proxy.stats.held -= this.#held;
    this.#held = 0;
  }
}

/** ProxyConn is one proxied connection: the dialer's socket and the one to the member. */
class ProxyConn {
  from: number | undefined;
  to: number | undefined;
  closed = false;
  readonly #pipes: Pipe[];

  constructor(
    readonly proxy: PeerProxy,
    readonly client: net.Socket,
    readonly upstream: net.Socket,
  ) {
    this.#pipes = [new Pipe(this, client, upstream, true), new Pipe(this, upstream, client, false)];
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', () => this.destroy());
      s.on('close', () => this.destroy());
    }
  }

  pump(): void {
    for (const p of this.#pipes) p.pump();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.#pipes) p.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.forget(this);
  }
}

/** PeerProxy is the proxy in front of one member's peer port; see the file comment. */
export class PeerProxy {
  readonly table: FaultTable;
  readonly random: () => number;
  readonly maxHeldBytes: number;
  readonly maxFrameBytes: number;
  readonly stats: ProxyStats = { connections: 0, frames: 0, dropped: 0, held: 0, heldMax: 0 };
  readonly #server: net.Server;
  readonly #conns = new Set<ProxyConn>();
  readonly #observers = new Set<(f: ProxyFrame) => void>();
  readonly #target: { host: string; port: number };
  readonly #unsubscribe: () => void;

  private constructor(server: net.Server, o: ProxyOptions) {
    this.#server = server;
    this.table = o.table;
    this.random = o.random;
    this.maxHeldBytes = o.maxHeldBytes ?? 4 * 1024 * 1024;
    this.maxFrameBytes = o.maxFrameBytes ?? 64 * 1024 * 1024;
    const i = o.target.lastIndexOf(':');
    this.#target = { host: o.target.slice(0, i), port: Number(o.target.slice(i + 1)) };
    this.#unsubscribe = o.table.onChange(() => {
      for (const c of this.#conns) c.pump();
    });
    server.on('connection', (client) => this.#accept(client));
  }

  /** listen starts a proxy on 127.0.0.1 and resolves once it listens. */
  static async listen(o: ProxyOptions): Promise<PeerProxy> {
    const server = net.createServer({ allowHalfOpen: true });
    const proxy = new PeerProxy(server, o);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return proxy;
  }

  /** address is where the proxy listens: "127.0.0.1:port". */
  get address(): string {
    return `127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  /** onFrame registers an observer of forwarded frames; it returns the unsubscriber. */
  onFrame(f: (frame: ProxyFrame) => void): () => void {
    this.#observers.add(f);
    return () => this.#observers.delete(f);
  }

  /** observe tells the observers about a forwarded frame (Pipe calls it). */
  observe(f: ProxyFrame): void {
    for (const o of this.#observers) o(f);
  }

  /** forget drops a closed connection (ProxyConn calls it). */
  forget(c: ProxyConn): void {
    this.#conns.delete(c);
  }

  /** resetAll closes every connection through this proxy. */
  resetAll(): void {
    for (const c of [...this.#conns]) c.destroy();
  }

  /**
   * reset closes the connections between members a and b for which cut(a, b) is true,
   * dropping what they hold: a partition that lasted long enough for TCP to give up.
   */
  reset(cut: (a: number, b: number) => boolean): void {
    for (const c of [...this.#conns]) {
      if (c.from !== undefined && c.to !== undefined && cut(c.from, c.to)) c.destroy();
    }
  }

  /** close stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#unsubscribe();
    this.resetAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    this.stats.connections++;
    const upstream = net.connect({
      port: this.#target.port,
      host: this.#target.host,
      allowHalfOpen: true,
    });
    this.#conns.add(new ProxyConn(this, client, upstream));
  }
}
