/**
 * The transport layer: a pure frame codec and a TCP/TLS implementation of the Node's
 * Transport interface (docs/transport.md).
 */
export * from './errors.ts';
export * from './frame.ts';
export { backoffDelay } from './backoff.ts';
export { formatAddress, parseAddress } from './options.ts';
export type {
  BackoffOptions,
  PeerAddress,
  PemInput,
  TcpTransportOptions,
  TransportTlsOptions,
} from './options.ts';
export type { PeerStats } from './peer.ts';
export { removedByMajority } from './refusal.ts';
export type { PeerRefusal, RefusalListener } from './refusal.ts';
export { TcpTransport } from './tcp.ts';
export type { TransportStats } from './tcp.ts';
export { certificateIdentities, checkPeerIdentity } from './tls.ts';
