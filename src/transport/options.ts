/**
 * Options of the TCP transport, their defaults, and peer address parsing.
 */
import { consoleLogger } from '../raft/logger.ts';
import type { Logger } from '../raft/logger.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './frame.ts';

/** PemInput is a PEM certificate or key, as text or bytes. */
export type PemInput = string | Uint8Array;

/**
 * TransportTlsOptions turns on TLS with mutual authentication. Both sides present a
 * certificate signed by `ca`, and both check that the other's certificate names an identity
 * in `allowedPeers`: a certificate from the same CA is not enough on its own.
 *
 * An identity is the certificate's subject CN or one of its SAN URIs. A SAN URI of the form
 * `raft://<clusterId>/<memberId>` (decimal numbers) also binds the certificate to that
 * member: it is accepted only from (or for) that member id of that cluster.
 */
export interface TransportTlsOptions {
  /** key is this member's private key (PEM). */
  key: PemInput;
  /** cert is this member's certificate chain (PEM). */
  cert: PemInput;
  /** ca holds the certificate authorities trusted for peers (PEM). */
  ca: PemInput | readonly PemInput[];
  /** allowedPeers lists the identities (CN or SAN URI) of the members allowed to connect. */
  allowedPeers: readonly string[];
}

/** BackoffOptions shape the delay between attempts to reach a peer. */
export interface BackoffOptions {
  /** initialMs is the delay before the first retry (before jitter); default 100. */
  initialMs?: number;
  /** maxMs caps the delay (before jitter); default 5000. */
  maxMs?: number;
}

/** TcpTransportOptions configure a TcpTransport. Only `id` and `clusterId` are required. */
export interface TcpTransportOptions {
  /** id is this member's raft id (a safe integer > 0). */
  id: number;
  /** clusterId identifies the cluster; handshakes from another cluster are refused. */
  clusterId: number;
  /** listen is the address to accept peers on, "host:port"; default "127.0.0.1:0". */
  listen?: string;
  /** tls turns on TLS with mutual authentication and an allow-list of peers. */
  tls?: TransportTlsOptions;
  /** maxFrameBytes limits one frame's body, in both directions; default 16 MiB. */
  maxFrameBytes?: number;
  /** maxQueueMessages bounds the messages waiting for one peer; default 4096. */
  maxQueueMessages?: number;
  /** maxQueueBytes bounds the encoded bytes waiting for one peer; default 64 MiB. */
  maxQueueBytes?: number;
  /** maxSnapshotBytes limits the data of one snapshot, sent or received; default 1 GiB. */
  maxSnapshotBytes?: number;
  /** snapshotChunkBytes is the size of one snapshot chunk on the wire; default 1 MiB. */
  snapshotChunkBytes?: number;
  /** backoff shapes reconnection attempts (exponential with jitter). */
  backoff?: BackoffOptions;
  /** handshakeTimeoutMs closes connections that do not complete the handshake; default 5000. */
  handshakeTimeoutMs?: number;
  /** writeTimeoutMs closes a connection whose write stays pending that long; default 30000. */
  writeTimeoutMs?: number;
  /** keepAliveMs enables TCP keep-alive probes after that much idle time; default 5000. */
  keepAliveMs?: number;
  /**
   * probeIntervalMs: a member dials a peer with a lower id (which normally dials it) when
   * it has messages for it and no connection for this long, at most once per interval, so
   * that a member removed while cut off hears the others refuse it; default 5000, 0 never.
   */
  probeIntervalMs?: number;
  /**
   * batching (default true) sends everything queued for a peer in one write. false sends
   * each message as its own frame with its own write: for benchmarks and debugging.
   */
  batching?: boolean;
  /** logger receives one line per refused or lost connection; default consoleLogger. */
  logger?: Logger;
  /** random returns a number in [0, 1) for backoff jitter; default Math.random. */
  random?: () => number;
}

/** ResolvedOptions are TcpTransportOptions with every default filled in. */
export interface ResolvedOptions {
  id: number;
  clusterId: number;
  listen: string;
  tls: TransportTlsOptions | undefined;
  maxFrameBytes: number;
  maxQueueMessages: number;
  maxQueueBytes: number;
  maxSnapshotBytes: number;
  snapshotChunkBytes: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  handshakeTimeoutMs: number;
  writeTimeoutMs: number;
  keepAliveMs: number;
  probeIntervalMs: number;
  batching: boolean;
  logger: Logger;
  random: () => number;
}

/** checkInt throws a RangeError naming the option unless v is an integer in [min, max]. */
function checkInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new RangeError(
      `Invalid transport option ${name}: ${v} is not an integer in ${min}..${max}`,
    );
  }
  return v;
}

/**
 * resolveOptions fills in the defaults and checks every number, throwing a RangeError (or a
 * TypeError for a bad listen address) that names the option.
 */
export function resolveOptions(o: TcpTransportOptions): ResolvedOptions {
  const MAX = Number.MAX_SAFE_INTEGER;
  const maxFrameBytes = checkInt(
    'maxFrameBytes',
    o.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    64,
    0xffffffff,
  );
  const listen = o.listen ?? '127.0.0.1:0';
  parseAddress(listen);
  if (o.tls !== undefined && o.tls.allowedPeers.length === 0) {
    throw new RangeError('Invalid transport option tls.allowedPeers: the allow-list is empty');
  }
  return {
    id: checkInt('id', o.id, 1, MAX),
    clusterId: checkInt('clusterId', o.clusterId, 0, MAX),
    listen,
    tls: o.tls,
    maxFrameBytes,
    maxQueueMessages: checkInt('maxQueueMessages', o.maxQueueMessages ?? 4096, 1, MAX),
    maxQueueBytes: checkInt('maxQueueBytes', o.maxQueueBytes ?? 64 * 1024 * 1024, 1, MAX),
    maxSnapshotBytes: checkInt('maxSnapshotBytes', o.maxSnapshotBytes ?? 1024 ** 3, 0, MAX),
    snapshotChunkBytes: checkInt(
      'snapshotChunkBytes',
      o.snapshotChunkBytes ?? Math.min(1024 * 1024, maxFrameBytes - 4),
      1,
      maxFrameBytes - 4,
    ),
    backoffInitialMs: checkInt('backoff.initialMs', o.backoff?.initialMs ?? 100, 1, MAX),
    backoffMaxMs: checkInt('backoff.maxMs', o.backoff?.maxMs ?? 5000, 1, MAX),
    handshakeTimeoutMs: checkInt('handshakeTimeoutMs', o.handshakeTimeoutMs ?? 5000, 1, MAX),
    writeTimeoutMs: checkInt('writeTimeoutMs', o.writeTimeoutMs ?? 30_000, 1, MAX),
    keepAliveMs: checkInt('keepAliveMs', o.keepAliveMs ?? 5000, 0, MAX),
    probeIntervalMs: checkInt('probeIntervalMs', o.probeIntervalMs ?? 5000, 0, MAX),
    batching: o.batching ?? true,
    logger: o.logger ?? consoleLogger,
    random: o.random ?? Math.random,
  };
}

/** PeerAddress is a parsed "host:port". */
export interface PeerAddress {
  host: string;
  port: number;
}

/**
 * parseAddress parses "host:port", "[ipv6]:port" or ":port" (all interfaces). It throws a
 * TypeError naming the input when the address is malformed.
 */
export function parseAddress(address: string): PeerAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(address);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new TypeError(`Invalid address ${JSON.stringify(address)}: expected "host:port"`);
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

/** formatAddress is the inverse of parseAddress. */
export function formatAddress(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
