/**
 * Relaying a leader-only gRPC call to the leader. Raft changes the membership only on the
 * leader (src/node/membership.ts), so a member that does not lead hands Cluster.MemberAdd,
 * MemberRemove and MemberPromote to the leader over the leader's client port, with the same
 * method, the request's bytes as they arrived and what is left of its time, and answers its
 * client with what the leader answered. When to relay and how often to try is KvService's
 * atLeader; this file only makes the call.
 *
 * A relayed call carries the ForwardedHeader metadata: a member that gets one while it does
 * not lead answers "not leader" instead of relaying it on, so that a call never loops.
 */
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { Etcd, GrpcCode, KvError } from './errors.ts';
import type { LeaderAddress } from './service.ts';
import { RelayErrorCode } from './service.ts';
import type { AbortLike } from '../node/waiter.ts';
import { Deferred } from './wait.ts';

/**
 * ForwardedHeader is the metadata key that marks a relayed call; its value is the id of the
 * member that relayed it (decimal).
 */
export const ForwardedHeader = 'raftkv-forwarded';

/**
 * LeaderUnreachableError: the call could not be sent to the leader (no usable client URL, or
 * no connection within the connect timeout), so it was not served there and may be tried
 * again. Its code is RelayErrorCode.Unreachable.
 */
export class LeaderUnreachableError extends Error {
  override readonly name = 'LeaderUnreachableError';
  readonly code = RelayErrorCode.Unreachable;
  /** leader is the id of the member that could not be reached. */
  readonly leader: number;

  constructor(leader: number, why: string, options?: { cause?: unknown }) {
    super(`raftkv: leader ${leader.toString(16)} is unreachable: ${why}`, options);
    this.leader = leader;
  }
}

/** RelayRequest is one call to relay. */
export interface RelayRequest {
  /** leader is where to send it. */
  leader: LeaderAddress;
  /** method is the gRPC method (its path and response decoder). */
  method: MethodDefinition<object, object>;
  /** raw is the request message as the client sent it. */
  raw: Uint8Array;
  /** timeoutMs is what is left of the request's time; it becomes the call's deadline. */
  timeoutMs: number;
  /** signal cancels the call; the relay then rejects with signal.reason. */
  signal: AbortLike;
}

/**
 * LeaderRelay sends a call to the leader. Error contract: unary() rejects with a KvError
 * holding the status the leader answered (code and message unchanged), or one grpc-js made
 * when the connection failed during the call; with an error of code
 * RelayErrorCode.Unreachable (LeaderUnreachableError) when the call was not sent; and with
 * `signal.reason` once the signal aborts.
 */
export interface LeaderRelay {
  unary(r: RelayRequest): Promise<object>;
}

/** GrpcRelayOptions configure a GrpcRelay. */
export interface GrpcRelayOptions {
  /** from is this member's id, sent as the ForwardedHeader's value. */
  from: number;
  /** connectTimeoutMs bounds the wait for a connection to the leader. Default 1000. */
  connectTimeoutMs?: number;
}

/**
 * DeadlineSlackMs is added to the relayed call's deadline, so that the relaying member's own
 * limit passes first and its answer (timeout, no leader, deadline) is the one the client gets.
 */
const DeadlineSlackMs = 100;

const { READY, TRANSIENT_FAILURE, SHUTDOWN } = grpc.connectivityState;

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);

/**
 * GrpcRelay is the LeaderRelay of a KvServer, on grpc-js: one channel per leader client URL,
 * kept until close(). A channel that failed to connect is dropped, so that the next call
 * connects afresh instead of waiting out grpc-js's reconnect backoff.
 */
export class GrpcRelay implements LeaderRelay {
  private readonly from: string;
  private readonly connectTimeoutMs: number;
  private readonly clients = new Map<string, grpc.Client>();
  private closed = false;

  constructor(o: GrpcRelayOptions) {
    this.from = String(o.from);
    this.connectTimeoutMs = o.connectTimeoutMs ?? 1000;
  }

  /** size is the number of channels held, for tests. */
  get size(): number {
    return this.clients.size;
  }

  /** unary implements LeaderRelay. */
  async unary(r: RelayRequest): Promise<object> {
    if (this.closed) throw Etcd.stopped();
    const url = r.leader.clientURLs.find((u) => u.startsWith('http://'));
    if (url === undefined) {
      throw new LeaderUnreachableError(r.leader.id, 'it has published no http:// client URL');
    }
    const client = this.client(url);
    await this.connect(url, client, r);
    return this.call(client, r);
  }

  /** close closes every channel; later calls reject with "server stopped". */
  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(url: string): grpc.Client {
    let c = this.clients.get(url);
    if (c === undefined) {
      c = new grpc.Client(new URL(url).host, grpc.credentials.createInsecure());
      this.clients.set(url, c);
    }
    return c;
  }

  private drop(url: string, client: grpc.Client): void {
    if (this.clients.get(url) === client) this.clients.delete(url);
    client.close();
  }

  /** connect resolves once the channel is READY; see LeaderUnreachableError. */
  private connect(url: string, client: grpc.Client, r: RelayRequest): Promise<void> {
    const ch = client.getChannel();
    const waitMs = Math.min(r.timeoutMs, this.connectTimeoutMs);
    const deadline = Date.now() + waitMs;
    const d = new Deferred<void>(r.signal);
    const fail = (why: string): void => {
      if (d.settled) return;
      this.drop(url, client);
      d.reject(new LeaderUnreachableError(r.leader.id, `${url}: ${why}`));
    };
    const check = (): void => {
      if (d.settled) return;
      const state = ch.getConnectivityState(true);
      if (state === READY) d.resolve();
      else if (state === TRANSIENT_FAILURE || state === SHUTDOWN) fail('cannot connect');
      else {
        ch.watchConnectivityState(state, deadline, (err) => {
          if (err === undefined) check();
          else fail(`no connection within ${Math.round(waitMs)} ms`);
        });
      }
    };
    check();
    return d.promise;
  }

  private call(client: grpc.Client, r: RelayRequest): Promise<object> {
    const running: { call?: grpc.ClientUnaryCall } = {};
    const d = new Deferred<object>(r.signal, () => running.call?.cancel());
    if (d.settled) return d.promise;
    const md = new grpc.Metadata();
    md.set(ForwardedHeader, this.from);
    const m = r.method;
    running.call = client.makeUnaryRequest<Uint8Array, object>(
      m.path,
      asBuffer,
      (b) => m.responseDeserialize(b),
      r.raw,
      md,
      { deadline: Date.now() + r.timeoutMs + DeadlineSlackMs },
      (err, res) => {
        if (err === null && res !== undefined) d.resolve(res);
        else d.reject(toKvError(err, m.path));
      },
    );
    return d.promise;
  }
}

/** toKvError keeps a gRPC status as it came: the leader's code and message. */
function toKvError(err: grpc.ServiceError | null, path: string): KvError {
  if (err === null)
    return new KvError(GrpcCode.INTERNAL, `raftkv: ${path}: the leader answered no message`);
  return new KvError(err.code as number as GrpcCode, err.details, { cause: err });
}
