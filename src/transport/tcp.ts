/**
 * TcpTransport: the Node's Transport over TCP, optionally TLS with mutual authentication.
 *
 * One long-lived connection per pair of members carries both directions; the member with
 * the lower id dials, the other accepts, and a newer authenticated connection replaces an
 * older one. Everything queued for a peer goes out in one write (appends are pipelined:
 * nothing waits for a reply). docs/transport.md describes the protocol and its limits.
 */
import * as net from 'node:net';
import type { Server, Socket } from 'node:net';
import * as tls from 'node:tls';
import type { TLSSocket } from 'node:tls';

import type { Transport, TransportHandler } from '../node/interfaces.ts';
import { MessageType } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import { backoffDelay } from './backoff.ts';
import { Connection, ConnRole } from './connection.ts';
import type { ConnectionHost, Refusal } from './connection.ts';
import { HandshakeError, TransportError, TransportErrorCode } from './errors.ts';
import { PROTOCOL_VERSION, RejectReason } from './frame.ts';
import type { HelloFrame } from './frame.ts';
import { formatAddress, parseAddress, resolveOptions } from './options.ts';
import type { ResolvedOptions, TcpTransportOptions } from './options.ts';
import { Peer } from './peer.ts';
import type { PeerHost, PeerStats } from './peer.ts';
import { RefusalTracker } from './refusal.ts';
import type { RefusalListener } from './refusal.ts';
import { certificateIdentities, checkPeerIdentity } from './tls.ts';

/** TransportStats sums up a transport's traffic, for tests, benchmarks and dashboards. */
export interface TransportStats {
  /** writes counts write calls on sockets (each is normally one write syscall). */
  writes: number;
  /** bytesWritten is the total handed to sockets, frame headers included. */
  bytesWritten: number;
  /** messagesReceived counts messages handed to raft. */
  messagesReceived: number;
  /** peers has one entry per known peer. */
  peers: PeerStats[];
}

/** TransportState is the lifecycle of a TcpTransport. */
type TransportState = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/** Host is the transport's side of the Connection and Peer callbacks. */
type Host = ConnectionHost & PeerHost;

/**
 * TcpTransport implements Transport over TCP or TLS; see the file comment.
 *
 * Error contract: the constructor, addPeer and removePeer throw a RangeError or TypeError
 * for bad arguments (naming them). start() rejects with a TransportError (code
 * ERR_TRANSPORT_LISTEN) if it cannot listen, or with `signal.reason` if aborted. send()
 * never throws; reports to the handler (reportUnreachable, reportSnapshot) and to refusal
 * listeners (onRefusal) are made asynchronously, never from inside send(), and never after
 * close() was called.
 */
export class TcpTransport implements Transport {
  readonly #opts: ResolvedOptions;
  readonly #host: Host;
  readonly #allowed: ReadonlySet<string>;
  readonly #peers = new Map<number, Peer>();
  /** Members removed from the configuration: their handshakes get "removed-member". */
  readonly #removed = new Set<number>();
  /** Every socket not yet closed (accepted raw sockets and dialed sockets). */
  readonly #sockets = new Set<Socket>();
  /** Every connection not yet closed. */
  readonly #conns = new Set<Connection>();
  /** Peers whose latest handshake answer was removed-member. */
  readonly #refusals = new RefusalTracker();
  readonly #refusalListeners = new Set<RefusalListener>();
  #handler: TransportHandler | undefined;
  #server: Server | undefined;
  #state: TransportState = 'new';
  #listenAddress: string | undefined;
  /** Settles when a start() in progress has finished listening (or failed to). */
  #starting: Promise<void> | undefined;
  #messagesReceived = 0;
  readonly #counters = { writes: 0, bytesWritten: 0 };
  #pendingUnreachable = new Set<number>();
  #pendingSnapshots: [number, boolean][] = [];
  #reportsScheduled = false;
  #socketsGone: (() => void) | undefined;
  readonly #closed: Promise<void>;
  #resolveClosed!: () => void;

  /** Creates a transport; nothing listens or dials until start(). */
  constructor(options: TcpTransportOptions) {
    this.#opts = resolveOptions(options);
    this.#allowed = new Set(this.#opts.tls?.allowedPeers ?? []);
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#host = this.#makeHost();
  }

  /** id is this member's raft id. */
  get id(): number {
    return this.#opts.id;
  }

  /**
   * start attaches the handler, listens, and dials the peers this member dials (those with
   * a higher id). It resolves once listening.
   */
  async start(handler: TransportHandler, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state !== 'new')
      throw new Error(`Cannot start transport ${this.id}: it was already started`);
    opts.signal?.throwIfAborted();
    this.#handler = handler;
    this.#state = 'starting';
    const server = this.#createServer();
    this.#server = server;
    const listening = this.#listen(server, opts.signal);
    this.#starting = listening.then(
      () => undefined,
      () => undefined,
    );
    try {
      await listening;
    } catch (err) {
      this.#state = 'closed';
      this.#resolveClosed();
      throw err;
    }
    if (this.#state !== 'starting') return; // close() was called meanwhile and finishes the job
    const addr = server.address() as net.AddressInfo;
    this.#listenAddress = formatAddress({ host: addr.address, port: addr.port });
    this.#state = 'running';
    server.on('error', (err) => {
      this.#opts.logger.error(`raft transport ${this.id}: listener failed: ${err.message}`);
      void this.close();
    });
    for (const peer of this.#peers.values()) this.#dial(peer);
  }

  /** listenAddress is the bound address, "host:port" (with the real port if 0 was asked). */
  listenAddress(): string {
    if (this.#listenAddress === undefined) {
      throw new Error(`Cannot get the address of transport ${this.id}: it is not listening`);
    }
    return this.#listenAddress;
  }

  /** send queues each message for its peer (m.to); see the class comment for errors. */
  send(msgs: readonly Message[]): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    for (const m of msgs) {
      const peer = this.#peers.get(m.to);
      if (peer === undefined) {
        this.#opts.logger.debug(`raft transport ${this.id}: no peer ${m.to}, message dropped`);
        if (m.type === MessageType.MsgSnap) this.#reportSnapshot(m.to, false);
        this.#reportUnreachable(m.to);
      } else if (m.type === MessageType.MsgSnap) {
        peer.sendSnapshot(m);
      } else {
        peer.enqueue(m);
        if (peer.conn === undefined) this.#probe(peer);
      }
    }
  }

  /**
   * onRefusal calls `listener` with every handshake a peer refuses (see PeerRefusal): a
   * member removed while cut off learns so from its peers' `removed-member` answers. It
   * returns a function that removes the listener.
   */
  onRefusal(listener: RefusalListener): () => void {
    this.#refusalListeners.add(listener);
    return () => this.#refusalListeners.delete(listener);
  }

  /**
   * addPeer adds a member at "host:port", or changes its address. Adding this member's own
   * id does nothing. Throws a RangeError for a bad id and a TypeError for a bad address.
   */
  addPeer(id: number, address: string): void {
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new RangeError(`Cannot add peer: id ${id} is not a safe integer > 0`);
    }
    parseAddress(address);
    if (id === this.id) return;
    this.#removed.delete(id);
    const existing = this.#peers.get(id);
    if (existing !== undefined) {
      if (existing.address === address) return;
      existing.address = address;
      if (this.#dials(id)) {
        existing.dialing?.close('peer address changed');
        existing.conn?.close('peer address changed');
      }
      return;
    }
    const peer = new Peer(this.#host, id, address);
    this.#peers.set(id, peer);
    if (this.#state === 'running') this.#dial(peer);
  }

  /** removePeer forgets a member; its later handshakes are refused as "removed-member". */
  removePeer(id: number): void {
    const peer = this.#peers.get(id);
    this.#removed.add(id);
    this.#refusals.forget(id);
    if (peer === undefined) return;
    this.#peers.delete(id);
    peer.shutdown('member removed', 'info');
  }

  /** close stops listening, closes every connection and timer, then resolves. */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return this.#closed;
    const wasNew = this.#state === 'new';
    this.#state = 'closing';
    await this.#starting; // a listen in progress completes first, so that it is closed below
    for (const peer of this.#peers.values()) peer.shutdown('transport closing', 'debug');
    for (const c of [...this.#conns]) c.close('transport closing', 'debug');
    for (const s of this.#sockets) s.destroy();
    const serverClosed = new Promise<void>((resolve) => {
      if (this.#server === undefined || !this.#server.listening) resolve();
      else this.#server.close(() => resolve());
    });
    const socketsGone = new Promise<void>((resolve) => {
      if (this.#sockets.size === 0) resolve();
      else this.#socketsGone = resolve;
    });
    await Promise.all([serverClosed, socketsGone]);
    this.#state = 'closed';
    if (wasNew) this.#opts.logger.debug(`raft transport ${this.id}: closed before start`);
    this.#resolveClosed();
    return this.#closed;
  }

  /** closed resolves when the transport has stopped, through close() or a listener failure. */
  closed(): Promise<void> {
    return this.#closed;
  }

  /** stats returns counters and per-peer queue sizes. */
  stats(): TransportStats {
    return {
      writes: this.#counters.writes,
      bytesWritten: this.#counters.bytesWritten,
      messagesReceived: this.#messagesReceived,
      peers: [...this.#peers.values()].map((p) => p.stats()),
    };
  }

  /** dials says whether this member dials peer `id` (the lower id dials). */
  #dials(id: number): boolean {
    return this.id < id;
  }

  #createServer(): Server {
    const t = this.#opts.tls;
    const server =
      t === undefined
        ? net.createServer()
        : tls.createServer({
            key: toPem(t.key),
            cert: toPem(t.cert),
            ca: toPemList(t.ca),
            requestCert: true,
            // The chain is checked in #accept, so that a refusal gets a clear log line;
            // an unverified socket is destroyed there before anything is read from it.
            rejectUnauthorized: false,
            minVersion: 'TLSv1.2',
            handshakeTimeout: this.#opts.handshakeTimeoutMs,
          });
    server.on('connection', (socket: Socket) => {
      this.#track(socket);
      if (t === undefined) this.#accept(socket);
    });
    if (t !== undefined) {
      server.on('secureConnection', (socket: TLSSocket) => this.#accept(socket));
      server.on('tlsClientError', (err: Error & { reason?: string }, socket: TLSSocket) => {
        const from = socket.remoteAddress === undefined ? 'a peer' : remoteOf(socket);
        this.#opts.logger.warning(
          `raft transport ${this.id}: TLS handshake from ${from} failed: ${err.reason ?? err.message}`,
        );
      });
    }
    return server;
  }

  #listen(server: Server, signal: AbortSignal | undefined): Promise<void> {
    const { host, port } = parseAddress(this.#opts.listen);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        server.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
      };
      const onError = (err: Error): void => {
        done();
        reject(
          new TransportError(
            TransportErrorCode.Listen,
            `Cannot listen on ${this.#opts.listen}: ${err.message}`,
            { cause: err },
          ),
        );
      };
      const onAbort = (): void => {
        done();
        server.close();
        // STYLE.md 9: reject with signal.reason, whatever it is.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(signal!.reason);
      };
      server.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      server.listen(port, host === '' ? undefined : host, () => {
        done();
        resolve();
      });
    });
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0 && this.#socketsGone !== undefined) {
        this.#socketsGone();
        this.#socketsGone = undefined;
      }
    });
  }

  #accept(socket: Socket): void {
    if (this.#state !== 'running') {
      socket.destroy();
      return;
    }
    const remote = remoteOf(socket);
    if (this.#opts.tls !== undefined && !(socket as TLSSocket).authorized) {
      const ts = socket as TLSSocket;
      const presented = Object.keys(ts.getPeerCertificate()).length > 0;
      const why = presented
        ? `certificate not trusted (${String(ts.authorizationError)})`
        : 'no client certificate';
      this.#opts.logger.warning(
        `raft transport ${this.id}: TLS connection from ${remote} refused: ${why}`,
      );
      socket.destroy();
      return;
    }
    const conn = new Connection(this.#host, socket, ConnRole.Acceptor, remote);
    this.#conns.add(conn);
    if (this.#opts.tls === undefined) return;
    const ids = certificateIdentities((socket as TLSSocket).getPeerCertificate());
    conn.identities = ids;
    const why = checkPeerIdentity(ids, this.#allowed, this.#opts.clusterId, undefined);
    if (why !== undefined) conn.refuse({ reason: RejectReason.Identity, detail: why });
  }

  #dial(peer: Peer): void {
    peer.retryTimer = undefined;
    if (this.#state !== 'running' || !this.#dials(peer.id)) return;
    if (peer.conn !== undefined || peer.dialing !== undefined) return;
    this.#connect(peer, peer.attempts > 0);
  }

  /**
   * probe dials a peer that this member does not dial (a lower id) when raft has messages
   * for it and it has not dialed in for probeIntervalMs, at most once per interval. Its
   * Welcome makes an ordinary connection; its Reject tells a member removed while cut off
   * (which may never dial anyone) that it was removed.
   */
  #probe(peer: Peer): void {
    const every = this.#opts.probeIntervalMs;
    if (this.#state !== 'running' || this.#dials(peer.id) || every === 0) return;
    if (peer.conn !== undefined || peer.dialing !== undefined) return;
    const now = performance.now();
    if (now - peer.disconnectedAt < every || now - peer.probedAt < every) return;
    peer.probedAt = now;
    try {
      this.#connect(peer, true);
    } catch (err) {
      // send() never throws (a TLS context that cannot be built, say): the probe is logged.
      this.#opts.logger.warning(
        `raft transport ${this.id}: cannot probe peer ${peer.id}: ${String(err)}`,
      );
    }
  }

  /** connect dials peer; `quiet` logs a failure before the handshake at debug level. */
  #connect(peer: Peer, quiet: boolean): void {
    const { host, port } = parseAddress(peer.address);
    const t = this.#opts.tls;
    let socket: Socket;
    if (t === undefined) {
      socket = net.connect({ host, port });
      socket.once('connect', () => conn.sendHello());
    } else {
      socket = tls.connect({
        host,
        port,
        key: toPem(t.key),
        cert: toPem(t.cert),
        ca: toPemList(t.ca),
        minVersion: 'TLSv1.2',
        // The allow-list replaces the host name check: peers are named by identity.
        checkServerIdentity: (_host, cert) => {
          const ids = certificateIdentities(cert);
          const why = checkPeerIdentity(ids, this.#allowed, this.#opts.clusterId, peer.id);
          return why === undefined ? undefined : new HandshakeError('identity', why);
        },
      });
      socket.once('secureConnect', () => conn.sendHello());
    }
    this.#track(socket);
    const conn = new Connection(this.#host, socket, ConnRole.Dialer, peer.address, peer.id);
    this.#conns.add(conn);
    conn.quiet = quiet;
    peer.dialing = conn;
  }

  #scheduleRedial(peer: Peer): void {
    if (this.#state !== 'running' || !this.#dials(peer.id) || this.#peers.get(peer.id) !== peer) {
      return;
    }
    if (peer.conn !== undefined || peer.dialing !== undefined || peer.retryTimer !== undefined) {
      return;
    }
    const o = this.#opts;
    const delay = backoffDelay(peer.attempts, o.backoffInitialMs, o.backoffMaxMs, o.random);
    peer.attempts++;
    peer.retryTimer = setTimeout(() => this.#dial(peer), delay);
  }

  #checkHello(conn: Connection, h: HelloFrame): Refusal | undefined {
    const o = this.#opts;
    if (h.version !== PROTOCOL_VERSION) {
      return {
        reason: RejectReason.Version,
        detail: `protocol version ${h.version} is not ${PROTOCOL_VERSION}`,
      };
    }
    if (h.clusterId !== o.clusterId) {
      return {
        reason: RejectReason.WrongCluster,
        detail: `cluster ${h.clusterId} is not cluster ${o.clusterId}`,
      };
    }
    if (h.to !== o.id) {
      return {
        reason: RejectReason.WrongReceiver,
        detail: `this is member ${o.id}, not member ${h.to}`,
      };
    }
    if (this.#removed.has(h.from)) {
      return {
        reason: RejectReason.RemovedMember,
        detail: `member ${h.from} was removed from the cluster`,
      };
    }
    if (!this.#peers.has(h.from)) {
      return { reason: RejectReason.UnknownMember, detail: `member ${h.from} is not a known peer` };
    }
    if (o.tls !== undefined) {
      const why = checkPeerIdentity(conn.identities ?? [], this.#allowed, o.clusterId, h.from);
      if (why !== undefined) return { reason: RejectReason.Identity, detail: why };
    }
    return undefined;
  }

  #makeHost(): Host {
    return {
      opts: this.#opts,
      counters: this.#counters,
      checkHello: (conn, h) => this.#checkHello(conn, h),
      onOpen: (conn) => {
        const peer = this.#peers.get(conn.peerId!);
        if (peer === undefined || this.#state !== 'running') {
          conn.close('member removed');
          return;
        }
        this.#refusals.forget(peer.id);
        peer.attach(conn);
      },
      onClose: (conn, wasOpen) => {
        this.#conns.delete(conn);
        const peer = conn.peerId === undefined ? undefined : this.#peers.get(conn.peerId);
        if (peer === undefined) return;
        peer.detach(conn, wasOpen);
        this.#scheduleRedial(peer);
      },
      onMessages: (_conn, msgs) => {
        for (const m of msgs) this.#deliver(m);
      },
      onSnapshot: (_conn, m) => this.#deliver(m),
      onSnapAck: (conn, snapId, ok) =>
        this.#peers.get(conn.peerId!)?.onSnapAck(conn, snapId, ok) ?? false,
      onDrain: (conn) => {
        const peer = this.#peers.get(conn.peerId!);
        if (peer?.conn === conn) peer.flush();
      },
      onRefused: (conn, reason, detail) => {
        const id = conn.peerId;
        if (id === undefined || !this.#peers.has(id)) return;
        const r = this.#refusals.refused(id, reason, detail, this.#peers.size);
        queueMicrotask(() => {
          if (this.#state !== 'running') return;
          for (const l of this.#refusalListeners) {
            try {
              l(r);
            } catch (err) {
              this.#opts.logger.error(
                `raft transport ${this.id}: a refusal listener threw: ${String(err)}`,
              );
            }
          }
        });
      },
      reportUnreachable: (id) => this.#reportUnreachable(id),
      reportSnapshot: (id, ok) => this.#reportSnapshot(id, ok),
    };
  }

  #deliver(m: Message): void {
    if (this.#state !== 'running') return;
    this.#messagesReceived++;
    try {
      this.#handler!.receive(m);
    } catch (err) {
      this.#opts.logger.error(
        `raft transport ${this.id}: the handler threw on receive: ${String(err)}`,
      );
    }
  }

  #reportUnreachable(id: number): void {
    this.#pendingUnreachable.add(id);
    this.#scheduleReports();
  }

  #reportSnapshot(id: number, ok: boolean): void {
    this.#pendingSnapshots.push([id, ok]);
    this.#scheduleReports();
  }

  /** scheduleReports delivers queued reports in a microtask, never inside send(). */
  #scheduleReports(): void {
    if (this.#reportsScheduled) return;
    this.#reportsScheduled = true;
    queueMicrotask(() => {
      this.#reportsScheduled = false;
      const snaps = this.#pendingSnapshots;
      const unreachable = this.#pendingUnreachable;
      this.#pendingSnapshots = [];
      this.#pendingUnreachable = new Set();
      const h = this.#handler;
      if (h === undefined || this.#state === 'closing' || this.#state === 'closed') return;
      try {
        for (const [id, ok] of snaps) h.reportSnapshot(id, ok);
        for (const id of unreachable) h.reportUnreachable(id);
      } catch (err) {
        this.#opts.logger.error(
          `raft transport ${this.id}: the handler threw on a report: ${String(err)}`,
        );
      }
    });
  }
}

/** remoteOf renders a socket's remote address for log lines. */
function remoteOf(socket: Socket): string {
  return formatAddress({ host: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 });
}

/** toPem hands PEM input to node:tls (a Buffer view for bytes). */
function toPem(x: string | Uint8Array): string | Buffer {
  return typeof x === 'string' ? x : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

/** toPemList converts one or many PEM inputs. */
function toPemList(x: string | Uint8Array | readonly (string | Uint8Array)[]): (string | Buffer)[] {
  return (
    Array.isArray(x) ? (x as readonly (string | Uint8Array)[]) : [x as string | Uint8Array]
  ).map(toPem);
}
