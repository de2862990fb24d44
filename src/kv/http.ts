/**
 * A small JSON API over HTTP/1.1 for people, beside the gRPC API on the same port:
 *
 *   GET    /kv/<key>     one key; with ?prefix=true or ?range_end=<k> a range
 *                       (also ?limit=N, ?keys_only, ?count_only, ?serializable)
 *   PUT    /kv/<key>     the request body is the value (?prev_kv=true)
 *   DELETE /kv/<key>     one key or, with ?prefix / ?range_end, a range (?prev_kv=true)
 *   GET    /status       Maintenance.Status
 *   GET    /members      Cluster.MemberList
 *   GET    /health       200 {"health":"true"} when a linearizable read succeeds, else 503
 *
 * Keys are the percent-decoded path after /kv/, as UTF-8. Keys and values are answered as
 * UTF-8 strings (`key`, `value`) or, when they are not valid UTF-8, as base64
 * (`key_base64`, `value_base64`). Errors are {"error": message, "code": gRPC code name}
 * with the KvError's HTTP status: 400 for bad input, 404, 503 when there is no leader.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Cancel } from './call.ts';
import { Etcd, GrpcCode, invalidArgument, KvError } from './errors.ts';
import type { KvService } from './service.ts';
import type { KeyValue, RangeRequest, ResponseHeader } from './types.ts';

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const codeNames = new Map<number, string>(Object.entries(GrpcCode).map(([k, v]) => [v, k]));

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function bytesJson(name: string, b: Uint8Array): Record<string, string> {
  try {
    return { [name]: strictUtf8.decode(b) };
  } catch {
    return { [`${name}_base64`]: Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64') };
  }
}

/** kvJson renders a KeyValue for people. */
export function kvJson(kv: KeyValue): Record<string, unknown> {
  return {
    ...bytesJson('key', kv.key),
    ...bytesJson('value', kv.value),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

function headerJson(h: ResponseHeader | undefined): Record<string, number> | undefined {
  if (h === undefined) return undefined;
  return {
    cluster_id: h.clusterId,
    member_id: h.memberId,
    revision: h.revision,
    raft_term: h.raftTerm,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === 'false' || v === '0') return false;
  if (v === '' || v === 'true' || v === '1') return true;
  throw invalidArgument(`query parameter ${name}=${JSON.stringify(v)} is not a boolean`);
}

function integer(q: URLSearchParams, name: string): number {
  const v = q.get(name);
  if (v === null) return 0;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) {
    throw invalidArgument(`query parameter ${name}=${JSON.stringify(v)} is not a count`);
  }
  return n;
}

/** prefixEnd returns the range end that selects every key with this prefix (etcd's). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = new Uint8Array(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

function keyOf(pathname: string): Uint8Array {
  let key: string;
  try {
    key = decodeURIComponent(pathname.slice('/kv/'.length));
  } catch {
    throw invalidArgument(`key ${JSON.stringify(pathname)} is not valid percent-encoding`);
  }
  return utf8.encode(key);
}

function rangeEndOf(q: URLSearchParams, key: Uint8Array): Uint8Array {
  if (flag(q, 'prefix')) return prefixEnd(key);
  const end = q.get('range_end');
  return end === null ? new Uint8Array() : utf8.encode(end);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      throw new HttpError(413, `request body exceeds the limit of ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

async function getKv(svc: KvService, key: Uint8Array, q: URLSearchParams, cancel: Cancel) {
  const rangeEnd = rangeEndOf(q, key);
  const r: RangeRequest = {
    key,
    rangeEnd,
    limit: integer(q, 'limit'),
    revision: 0,
    sortOrder: 0,
    sortTarget: 0,
    serializable: flag(q, 'serializable'),
    keysOnly: flag(q, 'keys_only'),
    countOnly: flag(q, 'count_only'),
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  };
  const out = await svc.range(r, { cancel });
  const header = headerJson(out.header);
  if (rangeEnd.length === 0 && !r.countOnly) {
    const kv = out.kvs[0];
    if (kv === undefined) throw new KvError(GrpcCode.NOT_FOUND, 'key not found');
    return { header, kv: kvJson(kv) };
  }
  return { header, kvs: out.kvs.map(kvJson), more: out.more, count: out.count };
}

async function putKv(
  svc: KvService,
  key: Uint8Array,
  q: URLSearchParams,
  req: IncomingMessage,
  cancel: Cancel,
) {
  const prevKv = flag(q, 'prev_kv');
  const value = await readBody(req, svc.limits.maxValueBytes);
  const put = { key, value, lease: 0, prevKv, ignoreValue: false, ignoreLease: false };
  const out = await svc.put(put, { cancel });
  return { header: headerJson(out.header), ...(out.prevKv ? { prev_kv: kvJson(out.prevKv) } : {}) };
}

async function deleteKv(svc: KvService, key: Uint8Array, q: URLSearchParams, cancel: Cancel) {
  const prevKv = flag(q, 'prev_kv');
  const out = await svc.deleteRange({ key, rangeEnd: rangeEndOf(q, key), prevKv }, { cancel });
  const prev = prevKv ? { prev_kvs: out.prevKvs.map(kvJson) } : {};
  return { header: headerJson(out.header), deleted: out.deleted, ...prev };
}

function statusJson(svc: KvService) {
  const s = svc.status();
  return {
    header: headerJson(s.header),
    version: s.version,
    db_size: s.dbSize,
    leader: s.leader,
    raft_index: s.raftIndex,
    raft_term: s.raftTerm,
    raft_applied_index: s.raftAppliedIndex,
    errors: s.errors,
    is_learner: s.isLearner,
  };
}

async function route(
  svc: KvService,
  req: IncomingMessage,
  url: URL,
  cancel: Cancel,
): Promise<[number, unknown]> {
  const method = req.method ?? 'GET';
  const only = (allowed: string) => {
    if (method !== allowed) throw new HttpError(405, `${method} is not allowed on ${url.pathname}`);
  };
  if (url.pathname.startsWith('/kv/')) {
    const key = keyOf(url.pathname);
    if (method === 'GET') return [200, await getKv(svc, key, url.searchParams, cancel)];
    if (method === 'PUT') return [200, await putKv(svc, key, url.searchParams, req, cancel)];
    if (method === 'DELETE') return [200, await deleteKv(svc, key, url.searchParams, cancel)];
    throw new HttpError(405, `${method} is not allowed on /kv/`);
  }
  switch (url.pathname) {
    case '/status':
      only('GET');
      return [200, statusJson(svc)];
    case '/members':
      only('GET');
      return [200, { header: headerJson(svc.header()), members: await svc.memberList(false) }];
    case '/health': {
      only('GET');
      const h = await svc.health({ cancel });
      return [h.health ? 200 : 503, { health: String(h.health), reason: h.reason }];
    }
    case '/kv':
    case '/kv/':
      throw Etcd.emptyKey();
  }
  throw new HttpError(404, `no such endpoint: ${url.pathname}`);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof HttpError) {
    if (err.status === 413) res.setHeader('connection', 'close');
    send(res, err.status, { error: err.message });
    return;
  }
  const e = err instanceof KvError ? err : new KvError(GrpcCode.INTERNAL, String(err));
  send(res, e.httpStatus, { error: e.message, code: codeNames.get(e.code) ?? 'UNKNOWN' });
}

/**
 * httpHandler returns the request listener of the JSON API. A request whose client goes
 * away is aborted: it stops waiting (a write already proposed may still be applied whole).
 */
export function httpHandler(svc: KvService): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const cancel = new Cancel();
    res.once('close', () => {
      if (!res.writableFinished) cancel.cancel(new Error('client went away'));
    });
    const url = new URL(req.url ?? '/', 'http://raftkv');
    route(svc, req, url, cancel).then(
      ([status, body]) => send(res, status, body),
      (err: unknown) => {
        if (!cancel.cancelled) sendError(res, err);
      },
    );
  };
}
