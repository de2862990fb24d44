import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Transport } from '../../node/interfaces.ts';
import { discardLogger } from '../../raft/logger.ts';
import { adminRoutes, isLocalOrigin } from './admin.ts';
import { MemberTransport } from './member_transport.ts';

test('isLocalOrigin accepts pages on 127.0.0.1 and localhost only', () => {
  for (const o of ['http://127.0.0.1', 'http://127.0.0.1:2379', 'http://localhost:5173']) {
    assert.equal(isLocalOrigin(o), true, o);
  }
  for (const o of [
    'https://127.0.0.1:2379',
    'http://127.0.0.1.evil.example',
    'http://10.0.0.1:2379',
    'null',
  ]) {
    assert.equal(isLocalOrigin(o), false, o);
  }
});

test('/admin/ routes isolate and heal the member transport; others pass through', async () => {
  const t = new MemberTransport({} as Transport);
  const routes = adminRoutes(t, discardLogger);
  const server = createServer((req, res) => {
    if (!routes(req, res)) res.writeHead(299).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = (path: string, init: RequestInit = {}) => fetch(`${base}${path}`, init);
  try {
    assert.equal((await call('/kv/a')).status, 299, 'not an admin route');
    const iso = await call('/admin/isolate', { method: 'POST' });
    assert.deepEqual(await iso.json(), { isolated: true, dropped: 0 });
    assert.equal(t.isolated, true);
    assert.equal((await call('/admin/faults')).status, 200);
    assert.equal((await call('/admin/heal')).status, 405);
    assert.equal((await call('/admin/nope', { method: 'POST' })).status, 404);
    const foreign = await call('/admin/heal', {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(foreign.status, 403);
    assert.equal(t.isolated, true, 'a foreign page cannot heal or isolate');
    await call('/admin/heal', { method: 'POST', headers: { origin: 'http://127.0.0.1:2379' } });
    assert.equal(t.isolated, false);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
