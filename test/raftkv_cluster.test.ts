/**
 * raftkv end to end: `raftkv serve` processes (bin/raftkv.js) on loopback, each with its own
 * WAL, driven by etcdctl (Debian's etcd-client) and the `etcd3` npm client. The steps build
 * on each other: writes across members, membership changes sent to a follower, kill -9 of
 * the leader (a new leader within 2 s at the default timing, every acknowledged write still
 * readable), restart from the WAL, a 4th member joining as a learner and promoted, an old
 * member removed, every member stopped and restarted from disk, and requests without a
 * leader failing with UNAVAILABLE in bounded time.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import {
  etcdctl,
  etcdctlOk,
  etcdctlSkip,
  freePorts,
  json,
  Proc,
  status,
  until,
} from './raftkv_procs.ts';
import type { Status } from './raftkv_procs.ts';

const skip = etcdctlSkip();

interface Slot {
  /** id as the test knows it before start: 1..3, or 0 for the joiner (the cluster assigns). */
  id: number;
  client: number;
  peer: number;
  dir: string;
  args: string[];
  proc?: Proc;
}

const url = (s: Slot): string => `http://127.0.0.1:${s.client}`;
const endpoint = (s: Slot): string => `127.0.0.1:${s.client}`;

describe('raftkv cluster of processes', { skip, timeout: 150_000 }, () => {
  let root: string;
  const slots: Slot[] = [];
  /** acked holds every write a client saw acknowledged: key → value. */
  const acked = new Map<string, string>();

  function start(s: Slot): Proc {
    s.proc = new Proc(`m${s.id || 'join'}`, ['serve', ...s.args]);
    return s.proc;
  }
  const running = (): Slot[] =>
    slots.filter((s) => s.proc !== undefined && s.proc.exit === undefined);

  /** leaderOf waits until every running member names the same leader, and returns its slot. */
  async function leader(timeoutMs = 10_000): Promise<{ slot: Slot; st: Status }> {
    return until(
      'one leader known by every running member',
      async () => {
        const sts = await Promise.all(running().map((s) => status(url(s))));
        const lead = sts[0]?.leader ?? 0;
        if (lead === 0 || !sts.every((x) => x.leader === lead)) return undefined;
        const i = sts.findIndex((x) => x.header.member_id === lead);
        const slot = running()[i];
        return slot === undefined ? undefined : { slot, st: sts[i] as Status };
      },
      timeoutMs,
    );
  }

  async function readAll(s: Slot): Promise<Map<string, string>> {
    const r = await json<{ kvs: { key: string; value: string }[] }>(
      `${url(s)}/kv/%00?range_end=%00`,
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return new Map(r.body.kvs.map((kv) => [kv.key, kv.value]));
  }

  async function checkAcked(s: Slot): Promise<void> {
    const got = await readAll(s);
    for (const [k, v] of acked) assert.equal(got.get(k), v, `member ${s.id}: acknowledged ${k}`);
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'raftkv-e2e-'));
    const ports = await freePorts(8);
    const token = `e2e-${process.pid}`;
    for (let i = 0; i < 4; i++) {
      slots.push({
        id: i + 1,
        client: ports[2 * i]!,
        peer: ports[2 * i + 1]!,
        dir: join(root, `m${i + 1}`),
        args: [],
      });
    }
    const peers = slots
      .slice(0, 3)
      .map((s) => `${s.id}=127.0.0.1:${s.peer}`)
      .join(',');
    for (const s of slots) {
      const common = [
        ...['--client-addr', endpoint(s), '--peer-addr', `127.0.0.1:${s.peer}`],
        ...['--data-dir', s.dir, '--cluster-token', token, '--wal-segment-bytes', '1048576'],
      ];
      s.args =
        s.id <= 3
          ? ['--id', String(s.id), '--peers', peers, ...common]
          : ['--join', slots.slice(0, 3).map(url).join(','), ...common];
    }
    slots[3]!.id = 0;
  });

  after(async () => {
    await Promise.all(slots.map((s) => s.proc?.stop('SIGKILL') ?? Promise.resolve()));
    await rm(root, { recursive: true, force: true });
  });

  test('three processes elect a leader', async () => {
    const procs = slots.slice(0, 3).map(start);
    await Promise.all(procs.map((p) => p.waitLine(/^raftkv member \d+ .*ready/)));
    const { slot } = await leader(15_000);
    assert.ok(slot.id >= 1 && slot.id <= 3);
  });

  test('etcdctl: put, get, range, txn, delete across members', async () => {
    const { slot: lead } = await leader();
    const [f1, f2] = running().filter((s) => s !== lead) as [Slot, Slot];
    // A write sent to a follower is forwarded inside raft and served.
    assert.equal(await etcdctlOk(endpoint(f1), ['put', 'ctl/a', '1']), 'OK\n');
    assert.equal(await etcdctlOk(endpoint(f2), ['get', 'ctl/a']), 'ctl/a\n1\n');
    await etcdctlOk(endpoint(lead), ['put', 'ctl/b', '2']);
    await etcdctlOk(endpoint(f2), ['put', 'ctl/c', '3']);
    assert.equal(await etcdctlOk(endpoint(f1), ['get', 'ctl/a', 'ctl/c']), 'ctl/a\n1\nctl/b\n2\n');
    assert.equal(
      await etcdctlOk(endpoint(lead), ['get', 'ctl/', '--prefix', '--keys-only']),
      'ctl/a\n\nctl/b\n\nctl/c\n\n',
    );
    const txn = 'value("ctl/a") = "1"\n\nput ctl/a one\n\nput ctl/a fail\n\n';
    assert.equal(await etcdctlOk(endpoint(f2), ['txn'], txn), 'SUCCESS\n\nOK\n');
    assert.equal(await etcdctlOk(endpoint(f1), ['txn'], txn), 'FAILURE\n\nOK\n');
    assert.equal(await etcdctlOk(endpoint(lead), ['get', 'ctl/a', '--print-value-only']), 'fail\n');
    assert.equal(await etcdctlOk(endpoint(f1), ['del', 'ctl/b']), '1\n');
    const all = await etcdctlOk(endpoint(lead), ['get', 'ctl/', '--prefix']);
    assert.equal(all, 'ctl/a\nfail\nctl/c\n3\n');
    for (const [k, v] of [
      ['ctl/a', 'fail'],
      ['ctl/c', '3'],
    ] as const)
      acked.set(k, v);
  });

  test('etcdctl: member add --learner and member remove through a follower', async () => {
    const { slot: lead } = await leader();
    const f = running().find((s) => s !== lead) as Slot;
    // The follower relays both to the leader (etcd's followers take them too).
    const add = await etcdctlOk(endpoint(f), [
      'member',
      'add',
      'spare',
      '--peer-urls=http://127.0.0.1:1',
      '--learner',
    ]);
    const id = /Member\s+([0-9a-f]+) added/.exec(add)?.[1];
    assert.ok(id, add);
    const listed = new RegExp(`^${id}, unstarted, , http://127.0.0.1:1, , true$`, 'm');
    assert.match(await etcdctlOk(endpoint(f), ['member', 'list']), listed);
    for (const s of running()) {
      await until(`member ${s.id} to list the learner`, async () =>
        listed.test(await etcdctlOk(endpoint(s), ['member', 'list'])) ? true : undefined,
      );
    }
    assert.match(await etcdctlOk(endpoint(f), ['member', 'remove', id]), /removed from cluster/);
    for (const s of running()) {
      await until(`member ${s.id} to drop the learner`, async () =>
        (await etcdctlOk(endpoint(s), ['member', 'list'])).includes(id) ? undefined : true,
      );
    }
  });

  test('etcd3 client: put, get, range, txn, delete across members', async () => {
    const clients = running().map((s) => new Etcd3({ hosts: url(s) }));
    const [c1, c2, c3] = clients as [Etcd3, Etcd3, Etcd3];
    try {
      await c1.put('js/x').value('10');
      await c2.put('js/y').value('20');
      assert.equal(await c3.get('js/x').string(), '10');
      assert.deepEqual(await c1.getAll().prefix('js/').strings(), { 'js/x': '10', 'js/y': '20' });
      const cas = await c2
        .if('js/x', 'Value', '==', '10')
        .then(c2.put('js/x').value('11'))
        .else(c2.get('js/x'))
        .commit();
      assert.equal(cas.succeeded, true);
      assert.equal(await c3.get('js/x').string(), '11');
      const del = await c3.delete().key('js/y').exec();
      assert.equal(del.deleted, '1');
      assert.equal(await c1.get('js/y').string(), null);
      assert.equal(await c2.getAll().prefix('js/').count(), 1);
      acked.set('js/x', '11');
    } finally {
      for (const c of clients) c.close();
    }
  });

  test('kill -9 the leader: a new leader within 2 s, every acknowledged write readable', async () => {
    const { slot: old } = await leader();
    const survivors = running().filter((s) => s !== old);
    // Writers keep writing through both survivors while the leader dies.
    let writing = true;
    let n = 0;
    const writer = async (s: Slot): Promise<void> => {
      while (writing) {
        const key = `w/${s.id}/${n++}`;
        const r = await json(`${url(s)}/kv/${key}`, { method: 'PUT', body: key }).catch(
          () => undefined,
        );
        if (r?.status === 200) acked.set(key, key);
      }
    };
    const writers = survivors.map(writer);
    await until('some writes before the kill', () => (acked.size > 20 ? true : undefined));
    const killedAt = performance.now();
    old.proc!.proc.kill('SIGKILL');
    const newLeader = await until(
      'a new leader',
      async () => {
        const sts = await Promise.all(survivors.map((s) => status(url(s)).catch(() => undefined)));
        const l = sts.find((x) => x !== undefined && x.leader !== 0 && x.leader !== old.id);
        return l?.leader;
      },
      10_000,
      10,
    );
    const failoverMs = performance.now() - killedAt;
    console.log(
      `raftkv e2e: leader ${old.id} killed; member ${newLeader} leads after ${failoverMs.toFixed(0)} ms`,
    );
    assert.ok(failoverMs < 2000, `new leader after ${failoverMs.toFixed(0)} ms`);
    const before = acked.size;
    await until('writes under the new leader', () => (acked.size > before + 20 ? true : undefined));
    writing = false;
    await Promise.all(writers);
    await old.proc!.exited;
    for (const s of survivors) await checkAcked(s);
  });

  test('the killed member restarts from its WAL and catches up', async () => {
    const old = slots.slice(0, 3).find((s) => s.proc?.exit !== undefined) as Slot;
    await start(old).waitLine(/ready/);
    await leader();
    const { st } = await leader();
    await until('the restarted member to catch up', async () => {
      const s = await status(url(old));
      return s.raft_applied_index >= st.raft_index ? true : undefined;
    });
    await checkAcked(old);
  });

  test('a 4th member joins as a learner, is promoted; an old member is removed', async () => {
    const joiner = slots[3]!;
    const line = await start(joiner).waitLine(/^raftkv member \d+ .*ready/);
    joiner.id = Number(/^raftkv member (\d+)/.exec(line)![1]);
    const { slot: lead } = await leader();
    const list = async () =>
      JSON.parse(await etcdctlOk(endpoint(lead), ['member', 'list', '-w', 'json'])) as {
        members: { ID: number; name: string; peerURLs: string[]; isLearner?: boolean }[];
      };
    const added = (await list()).members.find((m) => m.ID === joiner.id);
    assert.equal(added?.isLearner, true, 'joined as a learner');
    assert.deepEqual(added.peerURLs, [`http://127.0.0.1:${joiner.peer}`]);
    const hex = joiner.id.toString(16);
    await until(
      'the learner to be promoted',
      async () => {
        const r = await etcdctl(endpoint(lead), ['member', 'promote', hex]);
        return r.code === 0 ? true : undefined;
      },
      15_000,
      200,
    );
    const members = (await list()).members;
    assert.equal(members.length, 4);
    assert.ok(members.every((m) => m.isLearner !== true));
    // The new voter serves reads and writes.
    await etcdctlOk(endpoint(joiner), ['put', 'joined', 'yes']);
    acked.set('joined', 'yes');
    await checkAcked(joiner);

    // Remove an old member that is not the leader; its process stops by itself.
    const victim = running().find((s) => s !== lead && s !== joiner) as Slot;
    const client = new Etcd3({ hosts: url(lead) });
    try {
      await client.cluster.memberRemove({ ID: String(victim.id) });
    } finally {
      client.close();
    }
    const exit = await until('the removed member to stop', () => victim.proc!.exit, 10_000);
    assert.deepEqual(exit, { code: 0, signal: null }, victim.proc!.tail());
    assert.ok(victim.proc!.lines.some((l) => /removed from the cluster/.test(l)));
    const after = (await list()).members;
    assert.deepEqual(
      after.map((m) => m.ID).sort(),
      running()
        .map((s) => s.id)
        .sort(),
    );
    await leader();
  });

  test('every member stops cleanly and restarts from disk with its data', async () => {
    const { st } = await leader();
    const live = running();
    const exits = await Promise.all(live.map((s) => s.proc!.stop('SIGTERM')));
    for (const e of exits) assert.deepEqual(e, { code: 0, signal: null });
    await Promise.all(live.map((s) => start(s).waitLine(/ready/)));
    const again = await leader(15_000);
    assert.ok(again.st.header.revision >= st.header.revision);
    for (const s of live) await checkAcked(s);
    assert.equal(
      await etcdctlOk(endpoint(live[0]!), ['get', 'ctl/c', '--print-value-only']),
      '3\n',
    );
  });

  test('without a leader, requests fail with UNAVAILABLE in bounded time', async () => {
    const live = running();
    const last = live[0]!;
    await Promise.all(live.slice(1).map((s) => s.proc!.stop('SIGTERM')));
    const t0 = performance.now();
    const [http, ctl] = await Promise.all([
      json<{ code: string; error: string }>(`${url(last)}/kv/nope`, { method: 'PUT', body: 'x' }),
      etcdctl(endpoint(last), ['put', 'nope', 'x']),
    ]);
    const ms = performance.now() - t0;
    assert.equal(http.status, 503);
    assert.equal(http.body.code, 'UNAVAILABLE');
    assert.match(http.body.error, /no leader|timed out/);
    assert.notEqual(ctl.code, 0);
    assert.match(ctl.stderr, /no leader|timed out|Unavailable/i);
    // The default request timeout is 5 s: the wait is bounded by it, not by the client.
    assert.ok(ms < 8000, `answered after ${ms.toFixed(0)} ms`);
    assert.deepEqual(await last.proc!.stop('SIGTERM'), { code: 0, signal: null });
  });
});
