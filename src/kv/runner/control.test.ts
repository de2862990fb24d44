import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ControlError, listenControl } from './control.ts';
import type { ControlAction, ControlTarget, NodeView } from './control.ts';

/** Fake is a supervisor of two members whose actions only change their views. */
class Fake implements ControlTarget {
  views: NodeView[] = [1, 2].map((id) => ({
    id,
    name: `node${id}`,
    pid: 100 + id,
    clientUrl: `http://127.0.0.1:${id}2379`,
    peerUrl: `http://127.0.0.1:${id}2380`,
    running: true,
    isolated: false,
  }));
  acts: string[] = [];
  nodes(): NodeView[] {
    return this.views;
  }
  act(id: number, action: ControlAction): Promise<NodeView> {
    this.acts.push(`${action} ${id}`);
    const v = this.views.find((n) => n.id === id)!;
    if (action === 'isolate' && !v.running)
      return Promise.reject(new ControlError(409, 'not running'));
    if (action === 'kill') Object.assign(v, { running: false, pid: null });
    if (action === 'isolate') v.isolated = true;
    return Promise.resolve(v);
  }
}

describe('control API', () => {
  const fake = new Fake();
  let server: Server;
  let url: string;
  before(async () => ({ server, url } = await listenControl(fake, '127.0.0.1', 0)));
  after(() => new Promise((r) => server.close(r)));

  const call = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${url}${path}`, init);
    return {
      status: r.status,
      headers: r.headers,
      body: (await r.json()) as Record<string, unknown>,
    };
  };

  test('GET /cluster lists the nodes; POST /nodes/<id>/<action> acts', async () => {
    const c = await call('/cluster');
    assert.equal(c.status, 200);
    assert.deepEqual(c.body, { nodes: fake.views });
    const k = await call('/nodes/2/kill', { method: 'POST' });
    assert.equal(k.status, 200);
    assert.deepEqual(k.body['node'], { ...fake.views[1], running: false, pid: null });
    assert.deepEqual(fake.acts, ['kill 2']);
    assert.equal((await call('/nodes/2/isolate', { method: 'POST' })).status, 409);
  });

  test('unknown nodes, paths and methods', async () => {
    assert.equal((await call('/nodes/7/kill', { method: 'POST' })).status, 404);
    assert.equal((await call('/nodes/1/explode', { method: 'POST' })).status, 404);
    assert.equal((await call('/nodes/1/heal')).status, 405);
    assert.equal((await call('/cluster', { method: 'POST' })).status, 405);
  });

  test('CORS for http://127.0.0.1:* pages; other origins may not act', async () => {
    const ok = await call('/cluster', { headers: { origin: 'http://127.0.0.1:2379' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://127.0.0.1:2379');
    const pre = await fetch(`${url}/nodes/1/heal`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:8080', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://127.0.0.1:8080');
    const before = fake.acts.length;
    for (const origin of ['https://evil.example', 'http://127.0.0.1.evil.example', 'null']) {
      const r = await call('/nodes/1/kill', { method: 'POST', headers: { origin } });
      assert.equal(r.status, 403, origin);
      assert.equal(r.headers.get('access-control-allow-origin'), null);
    }
    assert.equal(fake.acts.length, before, 'no action was taken');
  });
});
