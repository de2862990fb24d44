/**
 * `raftkv local` end to end (bin/raftkv.js, as `npm start` runs it, on free ports): it
 * prints the endpoints with curl and etcdctl examples, its control API kills, restarts,
 * isolates and heals members (with CORS for local pages only), Ctrl-C (SIGINT) stops every
 * process, and a second run comes back with the data.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePorts, json, pidAlive, Proc, status, until } from './raftkv_procs.ts';

interface NodeView {
  id: number;
  name: string;
  pid: number | null;
  clientUrl: string;
  peerUrl: string;
  running: boolean;
  isolated: boolean;
}

describe('raftkv local', { timeout: 120_000 }, () => {
  let root: string;
  let args: string[];
  let control: string;
  let sup: Proc | undefined;

  const cluster = async (): Promise<NodeView[]> =>
    (await json<{ nodes: NodeView[] }>(`${control}/cluster`)).body.nodes;
  const post = (path: string, headers: Record<string, string> = {}) =>
    json<{ node: NodeView; error?: string }>(`${control}${path}`, { method: 'POST', headers });

  async function startLocal(): Promise<Proc> {
    sup = new Proc('local', ['local', ...args]);
    await sup.waitLine(/Press Ctrl-C to stop every member/, 60_000);
    return sup;
  }

  /** leader waits until every running member names one leader, and returns it. */
  async function leader(nodes: NodeView[]): Promise<number> {
    return until('one leader', async () => {
      const sts = await Promise.all(nodes.map((n) => status(n.clientUrl)));
      const l = sts[0]?.leader ?? 0;
      return l !== 0 && sts.every((s) => s.leader === l) ? l : undefined;
    });
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'raftkv-local-'));
    const p = await freePorts(7);
    control = `http://127.0.0.1:${p[6]}`;
    args = [
      ...['--data-dir', join(root, 'data'), '--control-addr', `127.0.0.1:${p[6]}`],
      ...['--client-ports', `${p[0]},${p[1]},${p[2]}`, '--peer-ports', `${p[3]},${p[4]},${p[5]}`],
      ...['--wal-segment-bytes', '1048576'],
    ];
  });

  after(async () => {
    if (sup !== undefined) await sup.stop('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  test('starts 3 processes and prints the endpoints, a curl and an etcdctl example', async () => {
    const s = await startLocal();
    const out = s.lines.join('\n');
    const nodes = await cluster();
    assert.equal(nodes.length, 3);
    for (const n of nodes) {
      assert.ok(n.running && n.pid !== null && pidAlive(n.pid), `${n.name} runs`);
      assert.equal(n.isolated, false);
      assert.ok(out.includes(n.clientUrl), `the endpoints include ${n.clientUrl}`);
    }
    assert.match(out, /curl -X PUT --data-binary hello http:\/\/127\.0\.0\.1:\d+\/kv\/greeting/);
    assert.match(
      out,
      /etcdctl --endpoints=127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+ get greeting/,
    );
    // Each member knows where the control API is (for its dashboard).
    const environ = await readFile(`/proc/${nodes[0]!.pid}/environ`, 'utf8').catch(() => '');
    if (environ !== '') assert.ok(environ.split('\0').includes(`RAFTKV_CONTROL_URL=${control}`));
    const put = await json(`${nodes[0]!.clientUrl}/kv/greeting`, { method: 'PUT', body: 'hello' });
    assert.equal(put.status, 200);
  });

  test('the control API answers local pages with CORS and refuses other origins', async () => {
    const local = await fetch(`${control}/cluster`, {
      headers: { origin: 'http://127.0.0.1:5173' },
    });
    assert.equal(local.headers.get('access-control-allow-origin'), 'http://127.0.0.1:5173');
    const preflight = await fetch(`${control}/nodes/1/kill`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:2379', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    const evil = await post('/nodes/1/kill', { origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.ok((await cluster()).every((n) => n.running));
    assert.equal((await post('/nodes/9/kill')).status, 404);
    assert.equal((await json(`${control}/nodes/1/kill`)).status, 405);
  });

  test('isolate cuts a member off from raft; heal brings it back', async () => {
    const nodes = await cluster();
    const lead = await leader(nodes);
    const r = await post(`/nodes/${lead}/isolate`);
    assert.equal(r.status, 200);
    assert.equal(r.body.node.isolated, true);
    assert.equal((await cluster()).find((n) => n.id === lead)?.isolated, true);
    const others = nodes.filter((n) => n.id !== lead);
    const isolated = nodes.find((n) => n.id === lead)!;
    // The others elect a new leader and go on writing without it.
    await until('a new leader among the others', async () => {
      const sts = await Promise.all(others.map((n) => status(n.clientUrl)));
      return sts.every((s) => s.leader !== 0 && s.leader !== lead) ? true : undefined;
    });
    const put = await json(`${others[0]!.clientUrl}/kv/during`, { method: 'PUT', body: 'split' });
    assert.equal(put.status, 200);
    const stale = await json(`${isolated.clientUrl}/kv/during?serializable=true`);
    assert.equal(stale.status, 404, 'the isolated member did not get the write');
    assert.equal((await post(`/nodes/${lead}/heal`)).body.node.isolated, false);
    await until('the healed member to catch up', async () => {
      const r = await json<{ kv?: { value: string } }>(
        `${isolated.clientUrl}/kv/during?serializable=true`,
      );
      return r.body.kv?.value === 'split' ? true : undefined;
    });
    await leader(nodes);
  });

  test('kill stops a member at once; restart brings it back on its data', async () => {
    const before = (await cluster()).find((n) => n.id === 2)!;
    const killed = await post('/nodes/2/kill');
    assert.equal(killed.status, 200);
    assert.equal(killed.body.node.running, false);
    assert.equal(killed.body.node.pid, null);
    assert.equal(pidAlive(before.pid!), false);
    assert.equal((await post('/nodes/2/isolate')).status, 409);
    const restarted = await post('/nodes/2/restart');
    assert.equal(restarted.body.node.running, true);
    assert.notEqual(restarted.body.node.pid, before.pid);
    const got = await until('node 2 to serve the data again', async () => {
      const r = await json<{ kv?: { value: string } }>(`${before.clientUrl}/kv/greeting`);
      return r.body.kv?.value;
    });
    assert.equal(got, 'hello');
  });

  test('Ctrl-C stops every process; a second run restarts with the data', async () => {
    const pids = (await cluster()).map((n) => n.pid!);
    const s = sup!;
    assert.deepEqual(await s.stop('SIGINT'), { code: 0, signal: null });
    assert.ok(s.lines.some((l) => /every member stopped/.test(l)));
    for (const pid of pids) assert.equal(pidAlive(pid), false, `process ${pid} is gone`);

    const again = await startLocal();
    assert.ok(again.lines.some((l) => /restarted from its data/.test(l)));
    const nodes = await cluster();
    for (const [key, value] of [
      ['greeting', 'hello'],
      ['during', 'split'],
    ]) {
      const r = await json<{ kv?: { value: string } }>(`${nodes[2]!.clientUrl}/kv/${key}`);
      assert.equal(r.body.kv?.value, value);
    }
    // A different layout on the same data is refused, with the reason.
    const wrong = new Proc('wrong', ['local', ...args, '--nodes', '5']);
    assert.deepEqual(await wrong.exited, { code: 2, signal: null });
    assert.match(wrong.lines.join('\n'), /holds a cluster of 3 members/);
    assert.deepEqual(await again.stop('SIGTERM'), { code: 0, signal: null });
  });
});
