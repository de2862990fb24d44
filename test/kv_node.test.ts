/**
 * raftkv on the real Node (src/node) instead of LocalBackend: one member over the Node's
 * in-memory storage and transport, with automatic snapshots every few entries, then a
 * restart from that storage (the Node restores the KvStateMachine from its snapshot and
 * replays the log after it).
 *
 * The Node is loaded at run time through the small surface declared below, so that raftkv
 * compiles without it; the suite is skipped while src/node cannot be loaded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { clusterIdOf } from '../src/kv/local_backend.ts';
import { nodeBackend } from '../src/kv/node_backend.ts';
import type { NodeLike } from '../src/kv/node_backend.ts';
import { KvServer } from '../src/kv/server.ts';
import { KvService } from '../src/kv/service.ts';
import { KvStateMachine } from '../src/kv/state_machine.ts';

interface Storage {
  reopen(): Storage;
}
interface NodeModule {
  Node: {
    start(o: Record<string, unknown>): Promise<NodeLike & { close(): Promise<void> }>;
  };
  MemoryDurableStorage: new () => Storage;
  MemoryNetwork: new () => { transport(id: number): unknown };
}

const nodePath = '../src/node/index.ts';
const mod = await (import(nodePath) as Promise<NodeModule>).catch((err: unknown) => err);
const skip = mod instanceof Error ? `src/node is not loadable: ${mod.message}` : false;

async function member(m: NodeModule, storage: Storage) {
  const sm = new KvStateMachine();
  const net = new m.MemoryNetwork();
  const node = await m.Node.start({
    id: 1,
    storage,
    transport: net.transport(1),
    stateMachine: sm,
    peers: [{ id: 1, address: 'mem://1' }],
    tickMs: 10,
    snapshotInterval: 20,
    compactionMargin: 5,
  });
  const backend = nodeBackend(node, { clusterId: clusterIdOf([1]), peerURLs: () => ['mem://1'] });
  const service = new KvService({ backend, stateMachine: sm });
  const server = await KvServer.listen({ service, port: 0 });
  await server.published();
  const client = new Etcd3({ hosts: server.url });
  const close = async () => {
    client.close();
    await server.close();
    await node.close();
  };
  return { sm, client, close };
}

describe('raftkv on the Node', { skip, timeout: 30_000 }, () => {
  test('serves the API, snapshots automatically, and restores after a restart', async () => {
    const m = mod as NodeModule;
    const storage = new m.MemoryDurableStorage();
    const first = await member(m, storage);
    for (let i = 0; i < 50; i++) await first.client.put(`k/${i}`).value(String(i));
    const cas = await first.client
      .if('k/1', 'Value', '==', '1')
      .then(first.client.put('k/1').value('one'))
      .commit();
    assert.equal(cas.succeeded, true);
    const before = await first.sm.snapshot();
    const revision = first.sm.revision;
    await first.close();

    const second = await member(m, storage.reopen());
    try {
      assert.equal(await second.client.get('k/1').string(), 'one');
      assert.equal(await second.client.getAll().prefix('k/').count(), 50);
      assert.ok(second.sm.revision >= revision);
      const put = await second.client.put('k/new').value('x').exec();
      assert.equal(Number(put.header.revision), second.sm.revision);
      assert.ok(before.length > 0);
    } finally {
      await second.close();
    }
  });
});
