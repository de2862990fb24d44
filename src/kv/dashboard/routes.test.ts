// The dashboard's HTTP routes on a member's client port: the page and its bundle, the state
// as JSON and as server-sent events, CORS for the members' pages, and the guards on actions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startStack, until } from '../testing.ts';
import type { Stack } from '../testing.ts';
import type { Hello, NodeState } from './protocol.ts';

/** readEvents reads a server-sent event stream until `n` events arrived; then aborts it. */
async function readEvents(url: string, n: number): Promise<{ type: string; data: unknown }[]> {
  const ac = new AbortController();
  const r = await fetch(url, { signal: AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)]) });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  const out: { type: string; data: unknown }[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of r.body as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type !== undefined && data !== undefined) out.push({ type, data: JSON.parse(data) });
        if (out.length >= n) return out;
      }
    }
  } finally {
    ac.abort();
  }
  return out;
}

describe('dashboard routes', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
    await until(() => s.backend.status().leader !== 0, 5000, 'leader');
  });
  after(() => s.close());

  test('GET / serves the page, with an ETag', async () => {
    const r = await fetch(`${s.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await r.text(), /<div id="app"><\/div>/);
    const etag = r.headers.get('etag');
    assert.ok(etag !== null);
    const again = await fetch(`${s.url}/`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const js = await fetch(`${s.url}/dashboard/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.ok((await js.arrayBuffer()).byteLength > 10_000);
  });

  test('GET /dashboard/api/state answers the state and the history', async () => {
    const r = await fetch(`${s.url}/dashboard/api/state`);
    assert.equal(r.status, 200);
    const h = (await r.json()) as Hello;
    assert.equal(h.state.id, s.backend.id);
    assert.equal(h.state.role, 'leader');
    assert.equal(h.state.leader, s.backend.id);
    assert.ok(Array.isArray(h.events) && Array.isArray(h.samples));
  });

  test('the stream starts with hello, then sends the state', async () => {
    const put = await fetch(`${s.url}/kv/greeting`, { method: 'PUT', body: 'hi' });
    assert.equal(put.status, 200);
    const events = await readEvents(`${s.url}/dashboard/api/stream`, 2);
    assert.equal(events[0]?.type, 'hello');
    const hello = events[0]?.data as Hello;
    assert.ok(hello.state.revision >= 2);
    assert.ok(events.slice(1).some((e) => e.type === 'state'));
    const st = events.find((e) => e.type === 'state')?.data as NodeState;
    assert.equal(st.id, s.backend.id);
  });

  test("CORS: a member's page may read, another site may not", async () => {
    const local = await fetch(`${s.url}/dashboard/api/state`, {
      headers: { origin: 'http://127.0.0.1:9' },
    });
    assert.equal(local.headers.get('access-control-allow-origin'), 'http://127.0.0.1:9');
    const foreign = await fetch(`${s.url}/dashboard/api/state`, {
      headers: { origin: 'https://example.com' },
    });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(`${s.url}/dashboard/api/members`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
  });

  test('actions refuse other origins, non-JSON bodies and bad input', async () => {
    const post = (path: string, body: string, headers: Record<string, string>) =>
      fetch(`${s.url}${path}`, { method: 'POST', body, headers });
    const json = { 'content-type': 'application/json' };
    const foreign = await post('/dashboard/api/transfer-leadership', '{"to":2}', {
      ...json,
      origin: 'https://example.com',
    });
    assert.equal(foreign.status, 403);
    const plain = await post('/dashboard/api/transfer-leadership', '{"to":2}', {
      'content-type': 'text/plain',
    });
    assert.equal(plain.status, 415);
    const bad = await post('/dashboard/api/transfer-leadership', '{"to":"x"}', json);
    assert.equal(bad.status, 400);
    const url = await post('/dashboard/api/members', '{"peerURL":"not a url"}', json);
    assert.equal(url.status, 400);
    const gone = await fetch(`${s.url}/dashboard/api/members/99`, { method: 'DELETE' });
    assert.equal(gone.status, 404);
    const unknown = await fetch(`${s.url}/dashboard/nothing`);
    assert.equal(unknown.status, 404);
  });

  test('the JSON API is still there', async () => {
    const r = await fetch(`${s.url}/status`);
    assert.equal(r.status, 200);
    const missing = await fetch(`${s.url}/kv/nope`);
    assert.equal(missing.status, 404);
  });
});
