/**
 * Connection: one TCP (or TLS) stream to a peer, from either end. It runs the handshake,
 * decodes frames, checks every message against the authenticated peer before raft can see
 * it, assembles streamed snapshots and tracks write backpressure.
 *
 * Any bad input closes the connection with exactly one log line; nothing here throws to the
 * caller or reaches raft (docs/transport.md, "Failure handling").
 */
import type { Socket } from 'node:net';

import { NETWORK_TYPES } from '../raft/validate.ts';
import { MessageType, MessageTypeNames } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import { HandshakeError, ProtocolError } from './errors.ts';
import {
  FrameDecoder,
  FrameType,
  FrameTypeNames,
  HANDSHAKE_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  RejectReasonNames,
  encodeHello,
  encodeReject,
  encodeSnapAck,
  encodeWelcome,
} from './frame.ts';
import type { Frame, HelloFrame, RejectReason, SnapBeginFrame, WelcomeFrame } from './frame.ts';
import type { ResolvedOptions } from './options.ts';
import { IncomingSnapshot } from './snapshot.ts';

/** ConnRole says which end of the connection this is. */
export const ConnRole = {
  /** This end dialed; it sends Hello and expects Welcome. */
  Dialer: 'dialer',
  /** This end accepted; it expects Hello and answers Welcome or Reject. */
  Acceptor: 'acceptor',
} as const;
/** ConnRole is the role of a connection's local end. */
export type ConnRole = (typeof ConnRole)[keyof typeof ConnRole];

/** ConnState is the lifecycle of a connection: handshake, then open, then closed. */
export type ConnState = 'handshake' | 'open' | 'closed';

/** Refusal is why a Hello is refused: the reason sent in Reject and a short explanation. */
export interface Refusal {
  reason: RejectReason;
  detail: string;
}

/**
 * ConnectionHost is what a Connection reports to: the transport. Its callbacks run on the
 * event loop and must not throw.
 */
export interface ConnectionHost {
  readonly opts: ResolvedOptions;
  /** counters sum write calls and bytes over all connections. */
  readonly counters: { writes: number; bytesWritten: number };
  /** checkHello decides on a Hello received by an acceptor; undefined accepts it. */
  checkHello(conn: Connection, h: HelloFrame): Refusal | undefined;
  /** onOpen is called once, when the handshake succeeds. */
  onOpen(conn: Connection): void;
  /** onClose is called once, when the connection is closed for any reason. */
  onClose(conn: Connection, wasOpen: boolean): void;
  /** onMessages delivers messages that passed every check, in order. */
  onMessages(conn: Connection, msgs: readonly Message[]): void;
  /** onSnapshot delivers an assembled and verified MsgSnap. */
  onSnapshot(conn: Connection, m: Message): void;
  /** onSnapAck reports a SnapAck; it returns false if no such stream was sent here. */
  onSnapAck(conn: Connection, snapId: number, ok: boolean): boolean;
  /** onDrain says that a blocked connection accepts writes again. */
  onDrain(conn: Connection): void;
  /** onRefused reports a Reject received by a dialer, just before the connection closes. */
  onRefused(conn: Connection, reason: RejectReason, detail: string): void;
}

/**
 * WIRE_TYPES are the message types raft sends to other members; anything else (local
 * messages such as MsgHup or MsgStorageAppend) is refused at the transport. MsgSnap is not
 * here: it only arrives as a snapshot stream.
 */
const WIRE_TYPES: ReadonlySet<number> = new Set<number>(
  [...NETWORK_TYPES].filter((t) => t !== MessageType.MsgSnap),
);

/** errorText renders any thrown value for a log line. */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Connection is one stream to a peer; see the file comment. */
export class Connection {
  /** role says whether this end dialed or accepted. */
  readonly role: ConnRole;
  /** socket is the underlying stream (a TLSSocket when TLS is on). */
  readonly socket: Socket;
  /** remote is the other end's address, for log lines. */
  readonly remote: string;
  /** peerId is the peer's member id: known up front when dialing, from Hello when accepting. */
  peerId: number | undefined;
  /** identities are the peer certificate's identities (TLS only). */
  identities: readonly string[] | undefined;
  /** quiet logs a failure before the handshake at debug level (repeated dial failures). */
  quiet = false;
  /** state is the lifecycle position; see ConnState. */
  state: ConnState = 'handshake';
  /** writes counts write calls on the socket; bytesWritten their bytes. */
  writes = 0;
  bytesWritten = 0;
  readonly #host: ConnectionHost;
  readonly #decoder: FrameDecoder;
  #incoming: IncomingSnapshot | undefined;
  #blocked = false;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;

  /** Wraps a socket; the handshake clock starts now. */
  constructor(
    host: ConnectionHost,
    socket: Socket,
    role: ConnRole,
    remote: string,
    peerId?: number,
  ) {
    this.#host = host;
    this.socket = socket;
    this.role = role;
    this.remote = remote;
    this.peerId = peerId;
    this.#decoder = new FrameDecoder({ maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES });
    socket.setNoDelay(true);
    if (host.opts.keepAliveMs > 0) socket.setKeepAlive(true, host.opts.keepAliveMs);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('drain', this.#onDrain);
    socket.on('close', () => this.close('connection closed', 'warning'));
    const ms = host.opts.handshakeTimeoutMs;
    this.#handshakeTimer = setTimeout(() => {
      this.fail(new HandshakeError('timeout', `handshake not completed within ${ms} ms`));
    }, ms);
  }

  /** blocked is true while the socket's buffer is full; wait for onDrain before writing. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** describe names the connection for log lines. */
  describe(): string {
    const id = this.#host.opts.id;
    const peer = this.peerId === undefined ? '' : ` (peer ${this.peerId})`;
    return this.role === ConnRole.Dialer
      ? `raft transport ${id}: connection to peer ${this.peerId} at ${this.remote}`
      : `raft transport ${id}: connection from ${this.remote}${peer}`;
  }

  /** sendHello starts a dialer's handshake once the socket (and TLS) is connected. */
  sendHello(): void {
    if (this.state !== 'handshake') return;
    const o = this.#host.opts;
    this.#write(
      encodeHello({
        version: PROTOCOL_VERSION,
        clusterId: o.clusterId,
        from: o.id,
        to: this.peerId!,
      }),
    );
  }

  /**
   * write sends bytes on an open connection. When the socket's buffer fills, `blocked`
   * turns true until the peer reads (then the host's onDrain runs); a peer that reads
   * nothing for writeTimeoutMs has its connection closed.
   */
  write(data: Uint8Array): void {
    if (this.state === 'closed') return;
    this.#write(data);
  }

  #write(data: Uint8Array): void {
    this.writes++;
    this.bytesWritten += data.length;
    this.#host.counters.writes++;
    this.#host.counters.bytesWritten += data.length;
    if (this.socket.write(data) || this.#blocked) return;
    this.#blocked = true;
    const ms = this.#host.opts.writeTimeoutMs;
    this.#stallTimer = setTimeout(() => {
      this.fail(
        new ProtocolError(`a write has been pending for ${ms} ms: the peer is not reading`),
      );
    }, ms);
  }

  /** refuse answers a handshake with Reject, closes, and logs one line. */
  refuse(r: Refusal): void {
    if (this.state === 'closed') return;
    this.#finish('warning', `refused: ${RejectReasonNames[r.reason]}: ${r.detail}`, false);
    this.socket.end(encodeReject(r.reason, r.detail), () => this.socket.destroy());
  }

  /** fail closes the connection because of err and logs one line (debug if quiet). */
  fail(err: unknown): void {
    const level = this.quiet && this.state === 'handshake' ? 'debug' : 'warning';
    this.close(errorText(err), level);
  }

  /** close closes the connection, logging `reason` once at the given level. */
  close(reason: string, level: 'debug' | 'info' | 'warning' = 'info'): void {
    this.#finish(level, reason, true);
  }

  #finish(level: 'debug' | 'info' | 'warning', reason: string, destroy: boolean): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#stallTimer);
    this.#incoming = undefined;
    this.#host.opts.logger[level](`${this.describe()} closed: ${reason}`);
    if (destroy) this.socket.destroy();
    this.#host.onClose(this, wasOpen);
  }

  #onData = (chunk: Uint8Array): void => {
    if (this.state === 'closed') return;
    try {
      this.#decoder.push(chunk, this.#onFrame);
    } catch (err) {
      this.fail(err);
    }
  };

  #onEnd = (): void => {
    if (this.state === 'closed') return;
    try {
      this.#decoder.end();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.close('closed by the peer', this.state === 'open' ? 'warning' : 'info');
  };

  #onDrain = (): void => {
    if (!this.#blocked) return;
    this.#blocked = false;
    clearTimeout(this.#stallTimer);
    if (this.state === 'open') this.#host.onDrain(this);
  };

  /** onFrame handles one frame; a thrown error closes the connection (see #onData). */
  #onFrame = (f: Frame): void => {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') {
      if (this.role === ConnRole.Acceptor) this.#onHello(f);
      else this.#onWelcome(f);
      return;
    }
    switch (f.type) {
      case FrameType.Messages:
        for (const m of f.messages) this.#checkMessage(m);
        this.#host.onMessages(this, f.messages);
        return;
      case FrameType.SnapBegin:
        this.#onSnapBegin(f);
        return;
      case FrameType.SnapChunk:
        this.#needIncoming(f.type).chunk(f);
        return;
      case FrameType.SnapEnd: {
        const m = this.#needIncoming(f.type).end(f);
        this.#incoming = undefined;
        this.#host.onSnapshot(this, m);
        this.write(encodeSnapAck(f.snapId, true));
        return;
      }
      case FrameType.SnapAck:
        if (!this.#host.onSnapAck(this, f.snapId, f.ok)) {
          throw new ProtocolError(`SnapAck for snapshot ${f.snapId}, which was not sent here`);
        }
        return;
      default:
        throw new ProtocolError(`unexpected ${FrameTypeNames[f.type]} frame after the handshake`);
    }
  };

  #onHello(f: Frame): void {
    if (f.type !== FrameType.Hello) {
      throw new ProtocolError(`expected a Hello frame, got ${FrameTypeNames[f.type]}`);
    }
    this.peerId = f.from;
    const refusal = this.#host.checkHello(this, f);
    if (refusal !== undefined) {
      this.refuse(refusal);
      return;
    }
    const o = this.#host.opts;
    this.#write(
      encodeWelcome({ version: PROTOCOL_VERSION, clusterId: o.clusterId, from: o.id, to: f.from }),
    );
    this.#open();
  }

  #onWelcome(f: Frame): void {
    if (f.type === FrameType.Reject) {
      this.#host.onRefused(this, f.reason, f.detail);
      const name = RejectReasonNames[f.reason];
      throw new HandshakeError(name, `peer refused the connection: ${name}: ${f.detail}`);
    }
    if (f.type !== FrameType.Welcome) {
      throw new ProtocolError(`expected a Welcome frame, got ${FrameTypeNames[f.type]}`);
    }
    const problem = this.#checkWelcome(f);
    if (problem !== undefined) throw new HandshakeError(problem[0], problem[1]);
    this.#open();
  }

  /** checkWelcome returns [reason, message] if a Welcome does not match what was dialed. */
  #checkWelcome(f: WelcomeFrame): [string, string] | undefined {
    const o = this.#host.opts;
    if (f.version !== PROTOCOL_VERSION) {
      return ['version', `peer speaks protocol version ${f.version}, not ${PROTOCOL_VERSION}`];
    }
    if (f.clusterId !== o.clusterId) {
      return ['wrong-cluster', `peer belongs to cluster ${f.clusterId}, not ${o.clusterId}`];
    }
    if (f.from !== this.peerId) {
      return ['wrong-receiver', `peer at ${this.remote} is member ${f.from}, not ${this.peerId}`];
    }
    if (f.to !== o.id) return ['wrong-receiver', `peer welcomed member ${f.to}, not ${o.id}`];
    return undefined;
  }

  #open(): void {
    this.state = 'open';
    clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#decoder.maxFrameBytes = this.#host.opts.maxFrameBytes;
    this.#host.onOpen(this);
  }

  /** checkMessage refuses a message that is not from this peer, to us, of a wire type. */
  #checkMessage(m: Message): void {
    const id = this.#host.opts.id;
    const name = MessageTypeNames[m.type] ?? `type ${m.type}`;
    if (m.from !== this.peerId || m.to !== id) {
      throw new ProtocolError(
        `${name} from ${m.from} to ${m.to} on the connection between ${this.peerId} and ${id}`,
      );
    }
    if (!WIRE_TYPES.has(m.type)) {
      throw new ProtocolError(`${name} is not a message members exchange over the network`);
    }
  }

  #onSnapBegin(f: SnapBeginFrame): void {
    if (this.#incoming !== undefined) {
      throw new ProtocolError(
        `snapshot ${f.snapId} begins inside snapshot ${this.#incoming.snapId}`,
      );
    }
    const m = f.message;
    const id = this.#host.opts.id;
    if (m.type !== MessageType.MsgSnap || m.snapshot === undefined) {
      throw new ProtocolError('a snapshot stream must carry a MsgSnap with a snapshot');
    }
    if (m.from !== this.peerId || m.to !== id) {
      throw new ProtocolError(
        `MsgSnap from ${m.from} to ${m.to} on the connection between ${this.peerId} and ${id}`,
      );
    }
    this.#incoming = new IncomingSnapshot(f, this.#host.opts.maxSnapshotBytes);
  }

  #needIncoming(type: FrameType): IncomingSnapshot {
    if (this.#incoming === undefined) {
      throw new ProtocolError(`${FrameTypeNames[type]} frame outside a snapshot stream`);
    }
    return this.#incoming;
  }
}
