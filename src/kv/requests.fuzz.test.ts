// Fuzzing raftkv's client doors with fast-check, in process on a LocalBackend: arbitrary and
// damaged request bytes to every unary gRPC method of KV, Cluster and Maintenance; arbitrary
// HTTP requests to the JSON API; arbitrary bytes as a raw connection. Properties: every call
// is answered, a failure is a gRPC status other than INTERNAL or UNKNOWN (or an HTTP status
// other than 500) with a message, and the server keeps serving good requests throughout.
// test/fuzz_live.test.ts does the same to a real raftkv process.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { codec, service } from './codec.ts';
import { cmp, op, putReq, rangeReq, startStack } from './testing.ts';
import type { Stack } from './testing.ts';
import type { DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from './types.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const identity = (x: Buffer): Buffer => x;

/** unaryPaths are the paths of every unary method of the services raftkv serves. */
const unaryPaths: string[] = (['KV', 'Cluster', 'Maintenance'] as const).flatMap((name) =>
  Object.values(service(name))
    .filter((m) => !m.requestStream && !m.responseStream)
    .map((m) => m.path),
);

/** seeds are valid encodings to damage, per method path. */
const seeds: Record<string, Uint8Array[]> = {
  '/etcdserverpb.KV/Put': [codec<PutRequest>('etcdserverpb.PutRequest').encode(putReq('k', 'v'))],
  '/etcdserverpb.KV/Range': [
    codec<RangeRequest>('etcdserverpb.RangeRequest').encode(rangeReq('a', { limit: 3 })),
  ],
  '/etcdserverpb.KV/DeleteRange': [
    codec<DeleteRangeRequest>('etcdserverpb.DeleteRangeRequest').encode({
      key: new Uint8Array([107]),
      rangeEnd: new Uint8Array(),
      prevKv: true,
    }),
  ],
  '/etcdserverpb.KV/Txn': [
    codec<TxnRequest>('etcdserverpb.TxnRequest').encode({
      compare: [cmp('k', 'value', 0, 'v')],
      success: [op({ put: putReq('k', 'w') })],
      failure: [op({ range: rangeReq('k') })],
    }),
  ],
};

const NEVER = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN]);

function call(
  client: grpc.Client,
  path: string,
  body: Uint8Array,
): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      Buffer.from(body),
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err) => resolve(err ?? undefined),
    );
  });
}

/** damaged returns bytes from a seed with some bytes changed, cut or inserted. */
const damagedArb = (seed: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc
    .array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('set', 'cut', 'insert', 'flip')), {
      minLength: 1,
      maxLength: 4,
    })
    .map((edits) => {
      let b = [...seed];
      for (const [at, v, kind] of edits) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (kind === 'set') b[i] = v;
        else if (kind === 'cut') b = b.slice(0, i);
        else if (kind === 'insert') b.splice(i, 0, v);
        else b[i] = (b[i] ?? 0) ^ (1 << (v % 8));
      }
      return new Uint8Array(b);
    });

describe('fuzz: client requests', { timeout: 120_000 }, () => {
  let stack: Stack;
  let client: grpc.Client;
  let good = 0;

  /** goodTraffic checks a put and a get still work, and returns. */
  async function goodTraffic(): Promise<void> {
    const key = `good/${good++}`;
    const put = codec<PutRequest>('etcdserverpb.PutRequest').encode(putReq(key, 'ok'));
    assert.equal(await call(client, '/etcdserverpb.KV/Put', put), undefined);
    const r = await fetch(`${stack.url}/kv/${encodeURIComponent(key)}`);
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { kv: { value: string } }).kv.value, 'ok');
  }

  before(async () => {
    stack = await startStack({
      service: { limits: { maxKeyBytes: 64, maxValueBytes: 4096 } },
      server: { sniffTimeoutMs: 500 },
    });
    await stack.server.published();
    client = new grpc.Client(stack.url.replace('http://', ''), grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await stack.close();
  });

  test('gRPC: arbitrary and damaged request bytes get OK or a clear status, never INTERNAL', async () => {
    const pathArb = fc.constantFrom(...unaryPaths);
    const bodyArb = pathArb.chain((path) =>
      fc.tuple(
        fc.constant(path),
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          ...(seeds[path] ?? []).map((s) => damagedArb(s)),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(bodyArb, async ([path, body]) => {
        const err = await call(client, path, body);
        if (err === undefined) return;
        assert.ok(
          !NEVER.has(err.code),
          `${path} ${Buffer.from(body).toString('hex')}: ${err.code} ${err.details}`,
        );
        assert.ok(err.details.length > 0, `${path}: status ${err.code} without a message`);
      }),
      { numRuns: RUNS },
    );
    await goodTraffic();
  });

  test('HTTP: arbitrary requests get a JSON answer, errors with a message, never 500', async () => {
    const segment = fc.stringMatching(
      /^([a-zA-Z0-9._~-]|%[0-9a-fA-F]{2}|%[^0-9a-fA-F]?|[\u00e9\u4e2d])*$/,
      {
        maxLength: 12,
      },
    );
    const queryArb = fc.array(
      fc.tuple(
        fc.constantFrom(
          'prefix',
          'range_end',
          'limit',
          'keys_only',
          'count_only',
          'serializable',
          'prev_kv',
          'x',
        ),
        fc.oneof(
          fc.constantFrom('', 'true', 'false', '1', '0', '-1', '99999999999999999999', 'maybe'),
          segment,
        ),
      ),
      { maxLength: 3 },
    );
    const reqArb = fc.record({
      method: fc.constantFrom('GET', 'PUT', 'DELETE', 'POST', 'PATCH', 'HEAD', 'OPTIONS'),
      // Not "/": it serves the dashboard, whose /dashboard/api/stream never ends.
      root: fc.constantFrom(
        '/kv/',
        '/kv',
        '/status',
        '/members',
        '/health',
        '/kv//',
        '/admin/',
        '/metrics',
      ),
      path: segment,
      query: queryArb,
      body: fc.oneof(
        fc.constant(undefined),
        fc.string({ maxLength: 64 }),
        fc.constant('v'.repeat(5000)),
      ),
    });
    await fc.assert(
      fc.asyncProperty(reqArb, async (r) => {
        const q = r.query.map(([k, v]) => `${k}=${v}`).join('&');
        const url = `${stack.url}${r.root}${r.path}${q === '' ? '' : `?${q}`}`;
        const body = r.method === 'GET' || r.method === 'HEAD' ? undefined : r.body;
        const res = await fetch(url, {
          method: r.method,
          signal: AbortSignal.timeout(5000),
          ...(body !== undefined && { body }),
        });
        const text = await res.text();
        const what = `${r.method} ${url} → ${res.status} ${text.slice(0, 200)}`;
        assert.notEqual(res.status, 500, what);
        if (r.method === 'HEAD' || res.status === 204) return;
        if (!(res.headers.get('content-type') ?? '').startsWith('application/json')) {
          assert.ok(res.status < 400 && text.length > 0, what); // /metrics, the dashboard
          return;
        }
        const json = JSON.parse(text) as { error?: unknown };
        if (res.status >= 400) {
          assert.ok(typeof json.error === 'string' && json.error.length > 0, what);
        }
      }),
      { numRuns: RUNS },
    );
    await goodTraffic();
  });

  test('raw connections: arbitrary bytes are answered or closed, and the server stays up', async () => {
    const port = Number(new URL(stack.url).port);
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc
        .string({ maxLength: 200 })
        .map((s) => new TextEncoder().encode(`GET /${s} HTTP/1.1\r\n\r\n`)),
      fc
        .string({ maxLength: 100 })
        .map((s) => new TextEncoder().encode(`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${s}`)),
    );
    await fc.assert(
      fc.asyncProperty(bytesArb, async (bytes) => {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
          const timer = setTimeout(() => {
            s.destroy();
            reject(
              new Error(
                `no answer and no close for ${Buffer.from(bytes).toString('hex').slice(0, 80)}`,
              ),
            );
          }, 15_000);
          s.on('data', () => undefined);
          s.on('error', () => undefined);
          s.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }),
      { numRuns: Math.round(RUNS / 4) },
    );
    await goodTraffic();
  });
});
