/**
 * The chaos runner's client of one raftkv member, over both client APIs:
 *
 * - gRPC, with @grpc/grpc-js and the copy of etcd's rpc.proto that the `etcd3` npm client
 *   ships (an independent reading of the wire format, as src/kv/proto.test.ts uses it). Not
 *   the `etcd3` client itself: by default it retries calls that failed with a recoverable
 *   error (a put that reached the leader before the error would be applied twice, which a
 *   history checker sees as a write out of nowhere) and stops calling a member for 5 s after
 *   three failures; turning that off takes cockatiel, which is not a dependency here.
 * - the JSON API with node:http, which never retries a request on its own.
 *
 * Every call has a deadline and no retry: the runner decides what an error means.
 */
import * as http from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const etcd3Protos = join(dirname(require.resolve('etcd3/package.json')), 'proto');
const pkg = loadSync(['rpc.proto'], {
  includeDirs: [etcd3Protos],
  keepCase: true,
  longs: Number,
  defaults: true,
  oneofs: true,
});

function method(service: string, name: string): MethodDefinition<object, object> {
  const s = pkg[`etcdserverpb.${service}`] as ServiceDefinition;
  const m = s[name];
  if (m === undefined) throw new Error(`client: no method ${service}.${name}`);
  return m;
}

const Compare = { Equal: 0, Version: 0, Value: 3 } as const;

/** Api names a client API. */
export const Api = { Grpc: 'grpc', Http: 'http' } as const;
/** Api is one of the Api values. */
export type Api = (typeof Api)[keyof typeof Api];

/** Header is the part of a response header the runner reads. */
export interface Header {
  revision: number;
  member_id: number;
  raft_term: number;
}

/** KeyState is a key as read: its value (null if absent) and its mod revision. */
export interface KeyState {
  value: string | null;
  modRevision: number;
}

/** MemberStatus is the part of Maintenance.Status (GET /status) the runner reads. */
export interface MemberStatus {
  leader: number;
  raft_term: number;
  raft_index: number;
  raft_applied_index: number;
  is_learner: boolean;
  header: { member_id: number; revision: number };
}

/** MemberInfo is one member of Cluster.MemberList. */
export interface MemberInfo {
  ID: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** CallError is a failed call: `code` is the gRPC code name or HTTP status, when known. */
export class CallError extends Error {
  override readonly name = 'CallError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

interface RangeResponse {
  header: Header;
  kvs: { key: Buffer; value: Buffer; mod_revision: number }[];
}

/** MemberClient talks to one member's client port; see the file comment. */
export class MemberClient {
  readonly url: string;
  readonly #grpc: grpc.Client;
  readonly #agent: http.Agent;
  readonly #host: string;
  readonly #port: number;

  /** url is the member's client URL, "http://127.0.0.1:port". */
  constructor(url: string) {
    this.url = url;
    const u = new URL(url);
    this.#host = u.hostname;
    this.#port = Number(u.port);
    this.#grpc = new grpc.Client(u.host, grpc.credentials.createInsecure(), {
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 500,
      'grpc.enable_retries': 0,
    });
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** close releases the channel and the pooled connections. */
  close(): void {
    this.#grpc.close();
    this.#agent.destroy();
  }

  /**
   * unary makes one call. With waitForReady the call waits, within its deadline, for the
   * channel to connect; without, it fails at once while the channel backs off after a
   * refused connection (grpc-js's "No connection established"), as a client's would.
   */
  #unary<T>(
    service: string,
    name: string,
    req: object,
    timeoutMs: number,
    waitForReady = false,
  ): Promise<T> {
    const m = method(service, name);
    return new Promise<T>((resolve, reject) => {
      this.#grpc.makeUnaryRequest<object, object>(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        req,
        new grpc.Metadata({ waitForReady }),
        { deadline: Date.now() + timeoutMs },
        (err, res) => {
          if (err !== null) {
            reject(new CallError(grpc.status[err.code] ?? String(err.code), err.details));
          } else resolve(res as T);
        },
      );
    });
  }

  #http<T>(
    methodName: string,
    path: string,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<{ status: number; body: T }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.#host,
          port: this.#port,
          method: methodName,
          path,
          agent: this.#agent,
          signal: AbortSignal.timeout(timeoutMs),
          headers: body === undefined ? {} : { 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new CallError('io', e.message, { cause: e })));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T });
            } catch (e) {
              reject(
                new CallError('bad-json', `${path}: not JSON: ${text.slice(0, 80)}`, { cause: e }),
              );
            }
          });
        },
      );
      req.on('error', (e) => reject(new CallError('io', e.message, { cause: e })));
      req.end(body);
    });
  }

  #httpError(path: string, r: { status: number; body: unknown }): CallError {
    const b = r.body as { code?: string; error?: string };
    return new CallError(b.code ?? String(r.status), `${path}: ${r.status} ${b.error ?? ''}`);
  }

  /** get reads one key: a linearizable read, or a serializable one (maybe stale) if asked. */
  async get(key: string, api: Api, timeoutMs: number, serializable = false): Promise<KeyState> {
    if (api === Api.Grpc) {
      const r = await this.#unary<RangeResponse>(
        'KV',
        'Range',
        { key: Buffer.from(key), serializable },
        timeoutMs,
      );
      const kv = r.kvs[0];
      return kv === undefined
        ? { value: null, modRevision: 0 }
        : { value: kv.value.toString('utf8'), modRevision: kv.mod_revision };
    }
    const path = `/kv/${encodeURIComponent(key)}${serializable ? '?serializable=true' : ''}`;
    const r = await this.#http<{ kv?: { value: string; mod_revision: number } }>(
      'GET',
      path,
      undefined,
      timeoutMs,
    );
    if (r.status === 404) return { value: null, modRevision: 0 };
    if (r.status !== 200 || r.body.kv === undefined) throw this.#httpError(path, r);
    return { value: r.body.kv.value, modRevision: r.body.kv.mod_revision };
  }

  /** put writes one key and resolves with the revision of the write. */
  async put(key: string, value: string, api: Api, timeoutMs: number): Promise<number> {
    if (api === Api.Grpc) {
      const req = { key: Buffer.from(key), value: Buffer.from(value) };
      const r = await this.#unary<{ header: Header }>('KV', 'Put', req, timeoutMs);
      return r.header.revision;
    }
    const path = `/kv/${encodeURIComponent(key)}`;
    const r = await this.#http<{ header?: Header }>('PUT', path, value, timeoutMs);
    if (r.status !== 200 || r.body.header === undefined) throw this.#httpError(path, r);
    return r.body.header.revision;
  }

  /**
   * cas sets key to value if its value is `expected` (null: if it is absent), in one Txn;
   * it resolves with whether it swapped and the header's revision (the write's, if it did).
   */
  async cas(
    key: string,
    expected: string | null,
    value: string,
    timeoutMs: number,
  ): Promise<{ succeeded: boolean; revision: number }> {
    const k = Buffer.from(key);
    const compare =
      expected === null
        ? { result: Compare.Equal, target: Compare.Version, key: k, version: 0 }
        : { result: Compare.Equal, target: Compare.Value, key: k, value: Buffer.from(expected) };
    const req = {
      compare: [compare],
      success: [{ request_put: { key: k, value: Buffer.from(value) } }],
      failure: [],
    };
    const r = await this.#unary<{ header: Header; succeeded: boolean }>(
      'KV',
      'Txn',
      req,
      timeoutMs,
    );
    return { succeeded: r.succeeded, revision: r.header.revision };
  }

  /**
   * readAll reads keys [from, to) with their mod revisions. It is the final check's read, so
   * it waits for a member restarted moments ago (whose channel may still be backing off).
   */
  async readAll(
    from: string,
    to: string,
    serializable: boolean,
    timeoutMs: number,
  ): Promise<Map<string, KeyState>> {
    const req = { key: Buffer.from(from), range_end: Buffer.from(to), serializable };
    const r = await this.#unary<RangeResponse>('KV', 'Range', req, timeoutMs, true);
    return new Map(
      r.kvs.map((kv) => [
        kv.key.toString('utf8'),
        { value: kv.value.toString('utf8'), modRevision: kv.mod_revision },
      ]),
    );
  }

  /** status reads GET /status. */
  async status(timeoutMs = 1000): Promise<MemberStatus> {
    const r = await this.#http<MemberStatus>('GET', '/status', undefined, timeoutMs);
    if (r.status !== 200) throw this.#httpError('/status', r);
    return r.body;
  }

  /** healthy reports whether GET /health answers 200 (a linearizable read succeeded). */
  async healthy(timeoutMs = 2000): Promise<boolean> {
    const r = await this.#http<unknown>('GET', '/health', undefined, timeoutMs);
    return r.status === 200;
  }

  /** members lists the members (Cluster.MemberList). */
  async members(timeoutMs = 2000): Promise<MemberInfo[]> {
    const r = await this.#unary<{ members: MemberInfo[] }>(
      'Cluster',
      'MemberList',
      { linearizable: true },
      timeoutMs,
    );
    return r.members;
  }

  /** removeMember removes a member (leader only). */
  async removeMember(id: number, timeoutMs = 5000): Promise<void> {
    await this.#unary('Cluster', 'MemberRemove', { ID: id }, timeoutMs);
  }

  /** promoteMember promotes a learner (leader only). */
  async promoteMember(id: number, timeoutMs = 5000): Promise<void> {
    await this.#unary('Cluster', 'MemberPromote', { ID: id }, timeoutMs);
  }

  /** moveLeader hands leadership to a voter (leader only). */
  async moveLeader(id: number, timeoutMs = 5000): Promise<void> {
    await this.#unary('Maintenance', 'MoveLeader', { targetID: id }, timeoutMs);
  }
}
