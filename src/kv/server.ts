/**
 * KvServer: one client port serving the etcd v3 gRPC API and the JSON API (http.ts), like
 * etcd's client port. A net.Server accepts each connection and reads its first bytes: a
 * connection that opens with the HTTP/2 preface ("PRI * HTTP/2.0...") is handed, with those
 * bytes put back, to the gRPC server (grpc_http2.ts, or grpc-js's through its connection
 * injector when asked); any other goes to a node:http server. See docs/raftkv.md.
 *
 * A `serve` command builds one on a Node:
 *
 * ```ts
 * const sm = new KvStateMachine();
 * const node = await Node.start({ id, storage, transport, stateMachine: sm, peers });
 * const service = new KvService({ backend: nodeBackend(node, { clusterId }), stateMachine: sm });
 * const server = await KvServer.listen({ service, host, port, name });
 * ```
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { dashboardRoutes } from './dashboard/routes.ts';
import { Telemetry } from './dashboard/telemetry.ts';
import { createGrpcServer } from './grpc.ts';
import type { GrpcServerOptions } from './grpc.ts';
import { GrpcH2Server } from './grpc_h2.ts';
import { GrpcHttp2Server } from './grpc_http2.ts';
import type { GrpcHttp2Options } from './grpc_http2.ts';
import { httpHandler } from './http.ts';
import { GrpcRelay } from './relay.ts';
import type { KvService } from './service.ts';

/** Http2Preface is how every HTTP/2 (so every gRPC) connection starts (RFC 9113 §3.4). */
export const Http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Protocol is what a connection speaks, decided from its first bytes. */
export const Protocol = { Http2: 'http2', Http1: 'http1' } as const;
/** Protocol is the name of a protocol. */
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

/**
 * sniff decides the protocol from the first bytes of a connection: undefined while they
 * are a proper prefix of the HTTP/2 preface (more bytes are needed).
 */
export function sniff(head: Uint8Array): Protocol | undefined {
  const n = Math.min(head.length, Http2Preface.length);
  for (let i = 0; i < n; i++) if (head[i] !== Http2Preface[i]) return Protocol.Http1;
  return n === Http2Preface.length ? Protocol.Http2 : undefined;
}

/** GrpcImpl names a server of the gRPC API. */
export const GrpcImpl = {
  /** H2: GrpcH2Server, unary calls on raftkv's own HTTP/2 server (the default). */
  H2: 'h2',
  /** Http2: GrpcHttp2Server, unary calls straight on node:http2. */
  Http2: 'http2',
  /** GrpcJs: @grpc/grpc-js's Server. */
  GrpcJs: 'grpc-js',
} as const;
/** GrpcImpl is the name of a server of the gRPC API. */
export type GrpcImpl = (typeof GrpcImpl)[keyof typeof GrpcImpl];

/** KvGrpcOptions choose and tune the server of the gRPC API. */
export interface KvGrpcOptions extends GrpcServerOptions, GrpcHttp2Options {
  /** impl is the server. Default GrpcImpl.H2, or $RAFTKV_GRPC_SERVER when set. */
  impl?: GrpcImpl;
}

/** GrpcAcceptor is a gRPC server as KvServer uses it. */
interface GrpcAcceptor {
  accept(socket: Socket): void;
  close(): void;
}

/**
 * defaultGrpcImpl is GrpcImpl.H2 unless the environment variable RAFTKV_GRPC_SERVER names
 * another (`RAFTKV_GRPC_SERVER=grpc-js raftkv serve ...`): a way back without a rebuild, and
 * how bench/kv-vs-etcd.sh compares the two end to end.
 */
function defaultGrpcImpl(): GrpcImpl {
  const v = process.env['RAFTKV_GRPC_SERVER'];
  if (v === undefined || v === '') return GrpcImpl.H2;
  if (v === GrpcImpl.H2 || v === GrpcImpl.Http2 || v === GrpcImpl.GrpcJs) return v;
  throw new RangeError(
    `RAFTKV_GRPC_SERVER=${JSON.stringify(v)} is none of "h2", "http2" and "grpc-js"`,
  );
}

function grpcAcceptor(svc: KvService, o: KvGrpcOptions = {}): GrpcAcceptor {
  const impl = o.impl ?? defaultGrpcImpl();
  if (impl === GrpcImpl.H2) return new GrpcH2Server(svc, o);
  if (impl === GrpcImpl.Http2) return new GrpcHttp2Server(svc, o);
  const server = createGrpcServer(svc, o);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  return {
    accept: (socket) => injector.injectConnection(socket),
    close: () => {
      injector.destroy();
      server.forceShutdown();
    },
  };
}

/** KvServerOptions configures KvServer.listen(). */
export interface KvServerOptions {
  service: KvService;
  /** host to listen on. Default 127.0.0.1. */
  host?: string;
  /** port to listen on; 0 picks a free one. Default 2379. */
  port?: number;
  /** name is this member's name, published with its client URL. Default "raftkv-<id>". */
  name?: string;
  /** clientURLs are published as where clients reach this member. Default [this.url]. */
  clientURLs?: readonly string[];
  /** publish: propose this member's attributes once listening. Default true. */
  publish?: boolean;
  /** sniffTimeoutMs: a connection that sends too few bytes to tell is closed. Default 10000. */
  sniffTimeoutMs?: number;
  /**
   * grpc chooses and tunes the gRPC server. Its `relay` defaults to a GrpcRelay of the
   * server's own (closed with it): membership changes sent to a member that does not lead
   * are relayed to the leader.
   */
  grpc?: KvGrpcOptions;
  /**
   * httpRoutes sees every HTTP/1.1 request before the JSON API and returns true when it
   * answered it (the runner's /admin/ routes); false passes the request on.
   */
  httpRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * telemetry feeds /metrics and the dashboard at / (docs/dashboard.md); the server attaches
   * its service to it. Default: one of its own that sees only the service (the raft state
   * it reports, no replication progress, traffic or disk timings), closed with the server.
   */
  telemetry?: Telemetry;
}

/**
 * KvServer serves one member's client port. Create it with listen(); close() stops it
 * (it does not close the backend, which belongs to whoever started it).
 */
export class KvServer {
  readonly service: KvService;
  /** telemetry is what /metrics and the dashboard report. */
  readonly telemetry: Telemetry;
  private readonly ownsTelemetry: boolean;
  private readonly net: NetServer;
  private readonly http: HttpServer;
  private readonly grpc: GrpcAcceptor;
  /** relay carries membership changes to the leader when this member does not lead. */
  private readonly relay: GrpcRelay;
  private readonly sockets = new Set<Socket>();
  private readonly stop = new AbortController();
  private readonly sniffTimeoutMs: number;
  private publishing: Promise<void> = Promise.resolve();

  private constructor(o: KvServerOptions) {
    this.service = o.service;
    this.sniffTimeoutMs = o.sniffTimeoutMs ?? 10_000;
    this.relay = new GrpcRelay({ from: o.service.backend.id });
    this.grpc = grpcAcceptor(o.service, { relay: this.relay, ...o.grpc });
    this.ownsTelemetry = o.telemetry === undefined;
    this.telemetry = (o.telemetry ?? new Telemetry()).attach({ service: o.service });
    const api = httpHandler(o.service);
    const dashboard = dashboardRoutes(this.telemetry, o.service);
    const routes = o.httpRoutes;
    this.http = createHttpServer((req, res) => {
      if (routes?.(req, res) === true) return;
      if (!dashboard(req, res)) api(req, res);
    });
    this.net = createNetServer((s) => this.accept(s));
  }

  /** listen starts a server and resolves once its port accepts connections. */
  static async listen(o: KvServerOptions): Promise<KvServer> {
    const s = new KvServer(o);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        if (s.ownsTelemetry) s.telemetry.close();
        reject(err);
      };
      s.net.once('error', onError);
      s.net.listen(o.port ?? 2379, o.host ?? '127.0.0.1', () => {
        s.net.off('error', onError);
        resolve();
      });
    });
    if (o.publish ?? true) {
      const name = o.name ?? `raftkv-${o.service.backend.id}`;
      s.publishing = s.publish(name, o.clientURLs ?? [s.url]);
    }
    return s;
  }

  /** address is the address the server listens on. */
  get address(): AddressInfo {
    return this.net.address() as AddressInfo;
  }

  /** port is the port the server listens on. */
  get port(): number {
    return this.address.port;
  }

  /** url is the client URL of this server ("http://127.0.0.1:2379"). */
  get url(): string {
    const a = this.address;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /**
   * published resolves once this member's attributes are applied (or the server closed
   * before that).
   */
  published(): Promise<void> {
    return this.publishing;
  }

  /** close stops accepting, ends every connection and resolves when the port is free. */
  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort(new Error('KvServer closed'));
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    this.grpc.close();
    this.relay.close();
    this.http.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    if (this.ownsTelemetry) this.telemetry.close();
    await Promise.all([closed, this.publishing]);
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.sniffTimeoutMs);
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const proto = sniff(head);
      if (proto === undefined) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      this.handOver(socket, proto);
    };
    socket.on('data', onData);
    socket.once('close', () => clearTimeout(timer));
  }

  private handOver(socket: Socket, proto: Protocol): void {
    if (proto === Protocol.Http2) {
      this.grpc.accept(socket);
      return;
    }
    this.http.emit('connection', socket);
    socket.resume();
  }

  private async publish(name: string, clientUrls: readonly string[]): Promise<void> {
    const signal = this.stop.signal;
    for (let backoffMs = 50; !signal.aborted; backoffMs = Math.min(backoffMs * 2, 2000)) {
      try {
        await this.service.publish(name, clientUrls, { signal });
        return;
      } catch {
        // No leader yet, or a timeout: try again until the server closes.
      }
      await delay(backoffMs, undefined, { signal }).catch(() => undefined);
    }
  }
}
