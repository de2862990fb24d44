// A 3-node cluster of Nodes on real disk (DiskStorage under a temp dir) over the in-memory
// network: it elects, replicates, loses a node, restarts it from its WAL and catches it up,
// once by log and once by snapshot.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MemoryNetwork, Node } from '../src/node/index.ts';
import type { Entry, StateMachine } from '../src/node/index.ts';
import { openDiskStorage } from '../src/wal/index.ts';

const [enc, dec] = [new TextEncoder(), new TextDecoder()];

/** Log keeps every applied payload; its snapshot is the whole list. */
class Log implements StateMachine {
  items: string[] = [];
  apply = (entries: readonly Entry[]): number[] =>
    entries.map((e) => this.items.push(dec.decode(e.data)));
  snapshot = (): Uint8Array => enc.encode(JSON.stringify(this.items));
  restore = (data: Uint8Array): void => {
    this.items = JSON.parse(dec.decode(data)) as string[];
  };
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const peers = [1, 2, 3].map((id) => ({ id, address: `mem://${id}` }));

async function startNode(network: MemoryNetwork, id: number, dir: string, sm: Log): Promise<Node> {
  const storage = await openDiskStorage(dir, { segmentSize: 256 * 1024, preallocate: 'none' });
  return Node.start({
    id,
    peers,
    storage,
    transport: network.transport(id),
    stateMachine: sm,
    tickMs: 10,
    snapshotInterval: 20,
    compactionMargin: 5,
  });
}

/** openLast returns the last index in a closed node's WAL. */
async function openLast(dir: string): Promise<number> {
  const s = await openDiskStorage(dir, { segmentSize: 256 * 1024, preallocate: 'none' });
  const last = s.lastIndex();
  await s.close();
  return last;
}

async function until(cond: () => boolean, signal: AbortSignal): Promise<void> {
  while (!cond()) {
    signal.throwIfAborted();
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const mode of ['log', 'snapshot'] as const) {
  test(`a node restarted from its WAL catches up by ${mode}`, async () => {
    const signal = AbortSignal.timeout(30_000);
    const network = new MemoryNetwork();
    const base = await mkdtemp(join(tmpdir(), 'raft-node-disk-'));
    dirs.push(base);
    const sms = [new Log(), new Log(), new Log()];
    const nodes = await Promise.all(
      [1, 2, 3].map((id) => startNode(network, id, join(base, `n${id}`), sms[id - 1]!)),
    );
    const leaderId = await nodes[0]!.waitForLeader({ signal });
    const leader = nodes[leaderId - 1]!;
    for (let i = 0; i < 5; i++) await leader.propose(enc.encode(`a${i}`), { signal });

    // Lose a follower: close it (its WAL stays on disk).
    const victim = leaderId === 3 ? 2 : 3;
    await nodes[victim - 1]!.close();
    network.isolate(victim);
    // Log mode: a few entries, no snapshot past them. Snapshot mode: enough entries that
    // the leader compacts its log behind a snapshot.
    const more = mode === 'log' ? 3 : 60;
    for (let i = 0; i < more; i++) await leader.propose(enc.encode(`b${i}`), { signal });

    const victimLast = await openLast(join(base, `n${victim}`));
    network.heal();
    const sm = new Log();
    const restarted = await startNode(network, victim, join(base, `n${victim}`), sm);
    nodes[victim - 1] = restarted;
    const want = sms[leaderId - 1]!.items;
    await until(() => sm.items.length === want.length, signal);
    assert.deepEqual(sm.items, want);
    assert.equal(want.length, 5 + more);
    const st = restarted.status();
    if (mode === 'snapshot') {
      // The leader had compacted past the victim's log, so only a snapshot could catch it up.
      assert.ok(nodes[leaderId - 1]!.status().firstIndex > victimLast + 1);
      assert.ok(st.snapshotIndex > victimLast, `snapshot ${st.snapshotIndex} <= ${victimLast}`);
    } else {
      assert.ok(st.snapshotIndex <= victimLast, 'caught up by log, not by a new snapshot');
    }
    await Promise.all(nodes.map((n) => n.close()));
  });
}
