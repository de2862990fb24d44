import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { prefixEnd } from './http.ts';
import { Http2Preface, Protocol, sniff } from './server.ts';
import { b, startStack, StubBackend } from './testing.ts';
import type { Stack } from './testing.ts';

interface Json {
  [k: string]: unknown;
}

async function call(
  stack: Stack,
  method: string,
  path: string,
  body?: string | Uint8Array,
): Promise<{ status: number; json: Json }> {
  const res = await fetch(stack.url + path, { method, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, json: (await res.json()) as Json };
}

/** readSome connects, writes the chunks one by one, and resolves with what comes back. */
function exchange(port: number, chunks: (string | Uint8Array)[], want: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= want) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('close', () => resolve(got));
    s.on('connect', () => {
      let i = 0;
      const next = () => {
        const c = chunks[i++];
        if (c === undefined) return;
        s.write(c, () => setImmediate(next));
      };
      next();
    });
  });
}

describe('HTTP JSON API', { timeout: 30_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ service: { limits: { maxKeyBytes: 32, maxValueBytes: 1024 } } });
    await stack.server.published();
  });
  after(() => stack.close());

  test('PUT, GET, DELETE a key', async () => {
    const put = await call(stack, 'PUT', '/kv/greeting', 'hello');
    assert.equal(put.status, 200);
    const rev = (put.json.header as Json).revision as number;
    const get = await call(stack, 'GET', '/kv/greeting');
    assert.equal(get.status, 200);
    assert.deepEqual(get.json.kv, {
      key: 'greeting',
      value: 'hello',
      create_revision: rev,
      mod_revision: rev,
      version: 1,
      lease: 0,
    });
    const again = await call(stack, 'PUT', '/kv/greeting?prev_kv=true', 'hi');
    assert.equal((again.json.prev_kv as Json).value, 'hello');
    const del = await call(stack, 'DELETE', '/kv/greeting?prev_kv');
    assert.equal(del.json.deleted, 1);
    assert.equal(((del.json.prev_kvs as Json[])[0] as Json).value, 'hi');
    const gone = await call(stack, 'GET', '/kv/greeting');
    assert.deepEqual(
      [gone.status, gone.json.error, gone.json.code],
      [404, 'key not found', 'NOT_FOUND'],
    );
  });

  test('ranges by prefix with limit and count_only; percent-encoded and binary keys', async () => {
    for (const k of ['dir/a', 'dir/b', 'dir/c', 'dis']) await call(stack, 'PUT', `/kv/${k}`, k);
    const r = await call(stack, 'GET', '/kv/dir/?prefix=true&limit=2');
    assert.deepEqual(
      (r.json.kvs as Json[]).map((kv) => kv.key),
      ['dir/a', 'dir/b'],
    );
    assert.deepEqual([r.json.more, r.json.count], [true, 3]);
    const c = await call(stack, 'GET', '/kv/dir/?prefix&count_only=1');
    assert.deepEqual([c.json.count, (c.json.kvs as Json[]).length], [3, 0]);
    const ranged = await call(stack, 'GET', '/kv/dir/b?range_end=dis&keys_only=true');
    assert.deepEqual(
      (ranged.json.kvs as Json[]).map((kv) => [kv.key, kv.value]),
      [
        ['dir/b', ''],
        ['dir/c', ''],
      ],
    );
    await call(stack, 'PUT', '/kv/sp%20ace%2Fslash', new Uint8Array([0xff, 0x00, 0xfe]));
    const bin = await call(stack, 'GET', '/kv/sp%20ace%2Fslash?serializable=true');
    assert.equal((bin.json.kv as Json).key, 'sp ace/slash');
    assert.equal(
      (bin.json.kv as Json).value_base64,
      Buffer.from([0xff, 0x00, 0xfe]).toString('base64'),
    );
  });

  test('status, members, health', async () => {
    const st = await call(stack, 'GET', '/status');
    assert.equal(st.status, 200);
    assert.equal(st.json.leader, stack.backend.id);
    assert.equal(st.json.version, '3.5.0');
    const m = await call(stack, 'GET', '/members');
    assert.deepEqual(
      (m.json.members as Json[]).map((x) => x.clientURLs),
      [[stack.url]],
    );
    const h = await call(stack, 'GET', '/health');
    assert.deepEqual([h.status, h.json.health], [200, 'true']);
  });

  test('bad input is 400 with a message; sizes over the limits are refused', async () => {
    const cases: [string, string, string | undefined, RegExp][] = [
      ['GET', '/kv/a?limit=-1', undefined, /limit="-1" is not a count/],
      ['GET', '/kv/a?serializable=maybe', undefined, /serializable="maybe" is not a boolean/],
      ['GET', '/kv/%E0%A4%A', undefined, /not valid percent-encoding/],
      ['PUT', '/kv/', 'v', /etcdserver: key is not provided/],
      ['PUT', `/kv/${'k'.repeat(33)}`, 'v', /key of 33 bytes exceeds the limit of 32/],
    ];
    for (const [method, path, body, message] of cases) {
      const r = await call(stack, method, path, body);
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.match(r.json.error as string, message);
    }
    const big = await call(stack, 'PUT', '/kv/big', 'x'.repeat(1025));
    assert.equal(big.status, 413);
    assert.equal((await call(stack, 'GET', '/kv/big')).status, 404);
  });

  test('unknown paths are 404, wrong methods 405', async () => {
    assert.equal((await call(stack, 'GET', '/nope')).status, 404);
    assert.equal((await call(stack, 'POST', '/kv/a', 'x')).status, 405);
    assert.equal((await call(stack, 'DELETE', '/status')).status, 405);
  });
});

describe('HTTP JSON API without a leader', { timeout: 30_000 }, () => {
  test('health is 503 and writes are 503 after the bounded wait', async () => {
    let stub: StubBackend | undefined;
    const stack = await startStack({
      backend: (sm) => (stub = new StubBackend(sm)),
      service: { requestTimeoutMs: 100 },
      server: { publish: false },
    });
    try {
      stub?.setLeader(0);
      const h = await call(stack, 'GET', '/health');
      assert.deepEqual(
        [h.status, h.json.health, h.json.reason],
        [503, 'false', 'etcdserver: no leader'],
      );
      const w = await call(stack, 'PUT', '/kv/a', '1');
      assert.deepEqual([w.status, w.json.code], [503, 'UNAVAILABLE']);
    } finally {
      await stack.close();
    }
  });
});

describe('one port for HTTP/1.1 and HTTP/2', { timeout: 30_000 }, () => {
  test('sniff decides on the preface, needing more bytes only while they match it', () => {
    for (let n = 0; n < Http2Preface.length; n++) {
      assert.equal(sniff(Http2Preface.subarray(0, n)), undefined, `prefix of ${n} bytes`);
    }
    assert.equal(sniff(Http2Preface), Protocol.Http2);
    assert.equal(sniff(Buffer.concat([Http2Preface, b('more')])), Protocol.Http2);
    assert.equal(sniff(b('GET / HTTP/1.1\r\n')), Protocol.Http1);
    assert.equal(sniff(b('PRI * HTTP/1.1')), Protocol.Http1);
    assert.equal(sniff(b('P')), undefined);
  });

  test('an HTTP/1.1 request sent byte by byte is served', async () => {
    const stack = await startStack({ server: { publish: false } });
    try {
      const req = 'GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
      const res = (await exchange(stack.server.port, [...req], 1 << 20)).toString();
      assert.match(res, /^HTTP\/1\.1 200 OK/);
      assert.match(res, /"version":"3\.5\.0"/);
    } finally {
      await stack.close();
    }
  });

  test('an HTTP/2 preface split across writes reaches the HTTP/2 server', async () => {
    const stack = await startStack({ server: { publish: false } });
    try {
      const settings = new Uint8Array([0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS frame
      const res = await exchange(
        stack.server.port,
        [
          Http2Preface.subarray(0, 5),
          Http2Preface.subarray(5, 20),
          Http2Preface.subarray(20),
          settings,
        ],
        9,
      );
      assert.equal(res[3], 4, 'the server answers with a SETTINGS frame');
    } finally {
      await stack.close();
    }
  });

  test('a connection that says nothing is closed after the sniff timeout', async () => {
    const stack = await startStack({ server: { publish: false, sniffTimeoutMs: 50 } });
    try {
      const res = await exchange(stack.server.port, [], 1);
      assert.equal(res.length, 0);
    } finally {
      await stack.close();
    }
  });

  test('prefixEnd is etcd GetPrefixRangeEnd', () => {
    assert.deepEqual(prefixEnd(b('abc')), b('abd'));
    assert.deepEqual(prefixEnd(new Uint8Array([0x61, 0xff])), b('b'));
    assert.deepEqual(prefixEnd(new Uint8Array([0xff, 0xff])), new Uint8Array([0]));
  });
});
