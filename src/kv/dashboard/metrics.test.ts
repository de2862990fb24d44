/**
 * /metrics on a 3-member cluster wired as a member should be (telemetry around the WAL's
 * file system and the transport, the Node attached): scraped over HTTP and parsed with
 * parse-prometheus-text-format, a parser of the Prometheus text format independent of
 * prom-client.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { MemoryNetwork, Node } from '../../node/index.ts';
import { openDiskStorage } from '../../wal/storage.ts';
import type { DiskStorage } from '../../wal/storage.ts';
import { clusterIdOf } from '../local_backend.ts';
import { nodeBackend } from '../node_backend.ts';
import { KvServer } from '../server.ts';
import { KvService } from '../service.ts';
import { KvStateMachine } from '../state_machine.ts';
import { startStack, until } from '../testing.ts';
import { Telemetry } from './telemetry.ts';

/** Family is one metric family as parse-prometheus-text-format returns it. */
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}

const parse = (text: string): Family[] => parsePrometheusTextFormat(text) as Family[];

interface Member {
  id: number;
  node: Node;
  storage: DiskStorage;
  server: KvServer;
  telemetry: Telemetry;
}

const ids = [1, 2, 3];

async function startMember(id: number, net: MemoryNetwork, dir: string): Promise<Member> {
  const telemetry = new Telemetry({ controlUrl: undefined });
  const storage = await openDiskStorage(join(dir, `m${id}`), { fs: telemetry.walFS() });
  const sm = new KvStateMachine();
  const node = await Node.start({
    id,
    storage,
    transport: telemetry.transport(net.transport(id)),
    stateMachine: sm,
    peers: ids.map((p) => ({ id: p, address: `mem://${p}` })),
    tickMs: 10,
    snapshotInterval: 20,
    compactionMargin: 5,
  });
  telemetry.attach({ node, storage });
  const backend = nodeBackend(node, { clusterId: clusterIdOf(ids) });
  const service = new KvService({ backend, stateMachine: sm });
  const server = await KvServer.listen({ service, port: 0, telemetry, publish: false });
  return { id, node, storage, server, telemetry };
}

interface Scraped {
  contentType: string;
  text: string;
  families: Map<string, Family>;
}

async function scrape(url: string): Promise<Scraped> {
  const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  const text = await r.text();
  const families = new Map(parse(text).map((f) => [f.name, f]));
  return { contentType: r.headers.get('content-type') ?? '', text, families };
}

/** value returns the one sample of a gauge or counter (with these labels, if given). */
function value(fams: Map<string, Family>, name: string, labels?: Record<string, string>): number {
  const f = fams.get(name);
  assert.ok(f !== undefined, `metric ${name} is missing`);
  const m = f.metrics.find((x) =>
    Object.entries(labels ?? {}).every(([k, v]) => x.labels?.[k] === v),
  );
  assert.ok(m?.value !== undefined, `metric ${name}${JSON.stringify(labels ?? {})} has no sample`);
  return Number(m.value);
}

/** histogram returns an unlabelled histogram's buckets, count and sum. */
function histogram(fams: Map<string, Family>, name: string) {
  const f = fams.get(name);
  assert.ok(f !== undefined, `metric ${name} is missing`);
  assert.equal(f.type, 'HISTOGRAM');
  const m = f.metrics[0];
  assert.ok(m?.buckets !== undefined, `histogram ${name} is empty`);
  return { buckets: Object.keys(m.buckets), count: Number(m.count), sum: Number(m.sum) };
}

/**
 * labelledHistogram reads one series of a labelled histogram from the text itself:
 * parse-prometheus-text-format folds the series of a labelled histogram into one (it
 * groups bucket lines without their other labels), so only the family's presence and
 * type are taken from it.
 */
function labelledHistogram(s: Scraped, name: string, label: string) {
  assert.equal(s.families.get(name)?.type, 'HISTOGRAM', `histogram ${name} is missing`);
  const lines = s.text.split('\n');
  const sample = (suffix: string, extra = '') => {
    const prefix = `${name}_${suffix}{${extra}${label}} `;
    const l = lines.find((x) => x.startsWith(prefix));
    assert.ok(l !== undefined, `no sample ${prefix}`);
    return Number(l.slice(prefix.length));
  };
  return { count: sample('count'), firstBucket: sample('bucket', 'le="0.0001",') };
}

describe('/metrics of a 3-member cluster', { timeout: 60_000 }, () => {
  let dir = '';
  const members: Member[] = [];
  let leader: Member;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-metrics-'));
    const net = new MemoryNetwork();
    for (const id of ids) members.push(await startMember(id, net, dir));
    const lead = await members[0]!.node.waitForLeader({ signal: AbortSignal.timeout(10_000) });
    leader = members.find((m) => m.id === lead)!;
    for (let i = 0; i < 60; i++) {
      const r = await fetch(`${leader.server.url}/kv/k${i}`, { method: 'PUT', body: `v${i}` });
      assert.equal(r.status, 200);
    }
    await until(() => members.every((m) => m.node.status().appliedIndex >= 60), 10_000, 'apply');
    // Heartbeats go out every tick; wait until the leader has timed a round trip to each.
    await until(
      () => leader.telemetry.state().peers.filter((p) => p.rttMs !== undefined).length === 2,
      10_000,
      'round trips',
    );
  });

  after(async () => {
    for (const m of members) await m.server.close();
    for (const m of members) await m.node.close();
    for (const m of members) m.telemetry.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every member reports a leader, and exactly one is it', async () => {
    const scraped = await Promise.all(members.map((m) => scrape(m.server.url)));
    for (const s of scraped) {
      assert.match(s.contentType, /^text\/plain; version=0\.0\.4/);
      assert.equal(value(s.families, 'etcd_server_has_leader'), 1);
      assert.ok(value(s.families, 'etcd_server_leader_changes_seen_total') >= 1);
      assert.equal(value(s.families, 'etcd_server_is_learner'), 0);
    }
    const leaders = scraped.map((s) => value(s.families, 'etcd_server_is_leader'));
    assert.deepEqual(
      leaders.filter((x) => x === 1).length,
      1,
      `is_leader per member: ${leaders.join(',')}`,
    );
  });

  test('proposals committed, applied, pending and failed', async () => {
    const { families } = await scrape(leader.server.url);
    const st = leader.node.status();
    assert.ok(value(families, 'etcd_server_proposals_committed_total') >= 60);
    assert.ok(value(families, 'etcd_server_proposals_applied_total') >= 60);
    assert.ok(value(families, 'etcd_server_proposals_committed_total') <= st.commitIndex);
    assert.equal(value(families, 'etcd_server_proposals_pending'), 0);
    assert.equal(value(families, 'etcd_server_proposals_failed_total'), 0);
    assert.equal(value(families, 'etcd_server_id', { server_id: leader.id.toString(16) }), 1);
    assert.ok(value(families, 'etcd_mvcc_db_total_size_in_bytes') > 0);
  });

  test("the WAL's fsyncs and snapshot saves, with etcd's buckets", async () => {
    const { families } = await scrape(leader.server.url);
    const fsync = histogram(families, 'etcd_disk_wal_fsync_duration_seconds');
    // etcd: prometheus.ExponentialBuckets(0.001, 2, 14), then +Inf.
    const expected = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
    assert.deepEqual(
      fsync.buckets.filter((b) => b !== '+Inf').map(Number),
      expected.map((b) => Number(b.toPrecision(12))),
    );
    assert.ok(fsync.count >= 60, `fsyncs: ${fsync.count}`);
    assert.ok(fsync.sum > 0);
    const snap = histogram(families, 'etcd_debugging_snap_save_total_duration_seconds');
    assert.ok(snap.count >= 2, `snapshot saves: ${snap.count}`);
    assert.ok(value(families, 'etcd_disk_wal_write_bytes_total') > 0);
  });

  test('bytes and messages per peer, and the round trip to each follower', async () => {
    const scraped = await scrape(leader.server.url);
    const { families } = scraped;
    for (const m of members.filter((x) => x !== leader)) {
      const To = m.id.toString(16);
      assert.ok(value(families, 'etcd_network_peer_sent_bytes_total', { To }) > 0);
      assert.ok(value(families, 'etcd_network_peer_received_bytes_total', { From: To }) > 0);
      assert.ok(value(families, 'etcd_network_peer_sent_messages_total', { To }) >= 60);
      assert.ok(value(families, 'etcd_network_peer_received_messages_total', { From: To }) > 0);
      const rttName = 'etcd_network_peer_round_trip_time_seconds';
      const rtt = labelledHistogram(scraped, rttName, `To="${To}"`);
      assert.ok(rtt.count >= 1, `round trips to ${To}: ${rtt.count}`);
      assert.ok(rtt.firstBucket <= rtt.count);
    }
    // The follower's side of the same link.
    const f = members.find((x) => x !== leader)!;
    const fs = (await scrape(f.server.url)).families;
    const From = leader.id.toString(16);
    assert.ok(value(fs, 'etcd_network_peer_received_bytes_total', { From }) > 0);
  });

  test("prom-client's process metrics are there too", async () => {
    const { families } = await scrape(leader.server.url);
    assert.ok(families.has('process_cpu_seconds_total'));
    assert.ok(families.has('nodejs_eventloop_lag_seconds'));
  });
});

describe('/metrics of a server without a node attached', () => {
  test('reports what the service knows, and counts failed proposals', async () => {
    const stack = await startStack({ service: { requestTimeoutMs: 300 } });
    try {
      await until(() => stack.backend.status().leader !== 0, 5000, 'leader');
      const put = await fetch(`${stack.url}/kv/a`, { method: 'PUT', body: 'x' });
      assert.equal(put.status, 200);
      let { families } = await scrape(stack.url);
      assert.equal(value(families, 'etcd_server_has_leader'), 1);
      assert.equal(value(families, 'etcd_server_is_leader'), 1);
      assert.equal(value(families, 'etcd_server_proposals_failed_total'), 0);
      // A proposal whose client goes away fails: counted by the service.
      const ac = new AbortController();
      const failing = stack.service.put(
        {
          key: new Uint8Array([1]),
          value: new Uint8Array(),
          lease: 0,
          prevKv: false,
          ignoreValue: false,
          ignoreLease: false,
        },
        { signal: ac.signal },
      );
      ac.abort(new Error('gone'));
      await assert.rejects(failing);
      ({ families } = await scrape(stack.url));
      assert.equal(value(families, 'etcd_server_proposals_failed_total'), 1);
      assert.equal(value(families, 'etcd_server_proposals_pending'), 0);
    } finally {
      await stack.close();
    }
  });
});
