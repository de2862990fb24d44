// A 3-node cluster of Nodes over the in-memory network, with fake timers: election,
// replication, partitions, restarts (by log and by snapshot), reads, membership, leadership
// transfer, and the proposals that must fail rather than resolve with someone else's result.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { discardLogger } from '../raft/logger.ts';
import { MessageType } from '../raftpb/types.ts';
import { ErrLeaderChanged, ErrNotLeader } from './errors.ts';
import { MemoryDurableStorage } from './memory_storage.ts';
import type { Node } from './node.ts';
import { Cluster, FakeClock, bytes } from './testkit.ts';
import type { ClusterOptions } from './testkit.ts';

const clock = new FakeClock(10);
const clusters: Cluster[] = [];
beforeEach(() => clock.enable());
afterEach(async () => {
  // A failed test must not leave its nodes running into the next one.
  const closing = Promise.all(clusters.splice(0).map((c) => c.closeAll()));
  await clock.settled(closing, 5000).finally(() => clock.reset());
});

/** cluster starts nodes ids, closed after the test. */
async function cluster(ids: number[], options: ClusterOptions): Promise<Cluster> {
  const c = new Cluster(ids, options);
  clusters.push(c);
  await c.startAll();
  return c;
}

/** followers returns the running nodes other than leader. */
function followers(c: Cluster, leader: Node): Node[] {
  return [...c.nodes.values()].filter((n) => n !== leader);
}

/** converged waits until every running node has applied the same, and returns it. */
async function converged(
  c: Cluster,
  ids: readonly number[] = [...c.nodes.keys()],
): Promise<string[]> {
  const same = (): boolean => {
    const first = JSON.stringify(c.machine(ids[0] as number).applied);
    return ids.every((id) => JSON.stringify(c.machine(id).applied) === first);
  };
  await clock.until(same, 5000, 'convergence');
  return c.machine(ids[0] as number).applied;
}

for (const asyncStorageWrites of [true, false]) {
  void describe(`cluster (asyncStorageWrites=${asyncStorageWrites})`, () => {
    const options = { tickMs: 10, asyncStorageWrites, snapshotInterval: 20, compactionMargin: 5 };

    void it('elects one leader and replicates proposals made on any node', async () => {
      const c = await cluster([1, 2, 3], options);
      const leader = await c.waitLeader(clock);
      const [f] = followers(c, leader);
      const r1 = await clock.settled(leader.propose(bytes('from-leader')));
      const r2 = await clock.settled((f as Node).propose(bytes('from-follower')));
      assert.match(String(r1), /^from-leader@\d+$/);
      assert.match(String(r2), /^from-follower@\d+$/);
      assert.deepEqual(await converged(c), ['from-leader', 'from-follower']);
      await c.closeAll();
    });

    void it('catches up a partitioned follower by log', async () => {
      const c = await cluster([1, 2, 3], options);
      const leader = await c.waitLeader(clock);
      const lagging = (followers(c, leader)[0] as Node).id;
      c.net.isolate(lagging);
      for (let i = 0; i < 5; i++) await clock.settled(leader.propose(bytes(`p${i}`)));
      assert.deepEqual(c.machine(lagging).applied, []);
      c.net.heal();
      assert.equal((await converged(c)).length, 5);
      assert.equal(c.machine(lagging).restores, 0, 'caught up by log, not by snapshot');
      await c.closeAll();
    });

    void it('restarts a stopped node from its storage and catches it up by log', async () => {
      const c = await cluster([1, 2, 3], options);
      const leader = await c.waitLeader(clock);
      const down = (followers(c, leader)[0] as Node).id;
      await clock.settled(leader.propose(bytes('before')));
      await converged(c);
      await c.stop(down);
      for (let i = 0; i < 3; i++) await clock.settled(leader.propose(bytes(`p${i}`)));
      await c.start(down);
      assert.deepEqual(await converged(c), ['before', 'p0', 'p1', 'p2']);
      assert.equal(c.machine(down).restores, 0, 'replayed its own log, then got the rest by log');
      await c.closeAll();
    });

    void it('restarts a stopped node from its storage and catches it up by snapshot', async () => {
      const c = await cluster([1, 2, 3], options);
      const leader = await c.waitLeader(clock);
      const down = (followers(c, leader)[0] as Node).id;
      await clock.settled(leader.propose(bytes('before')));
      await converged(c);
      await c.stop(down);
      for (let i = 0; i < 40; i++) await clock.settled(leader.propose(bytes(`p${i}`)));
      assert.ok(leader.status().firstIndex > 10, 'the leader compacted its log');
      const again = await c.start(down);
      const restored: boolean[] = [];
      again.on('snapshot', (e) => restored.push(e.restored));
      assert.equal((await converged(c)).length, 41);
      assert.ok(c.machine(down).restores >= 1, 'caught up by snapshot');
      assert.ok(restored.includes(true));
      assert.equal(
        await clock.settled(again.propose(bytes('after'))),
        `after@${again.status().lastIndex}`,
      );
      await c.closeAll();
    });

    void it('restarts a crashed node from what reached its disk and converges', async () => {
      const c = await cluster([1, 2, 3], options);
      const leader = await c.waitLeader(clock);
      const victim = (followers(c, leader)[0] as Node).id;
      const disk = c.storages.get(victim) as MemoryDurableStorage;
      disk.hooks.beforeSave = () => new Promise((r) => setTimeout(r, 25)); // a slow disk
      const writes = Array.from({ length: 8 }, (_, i) => leader.propose(bytes(`c${i}`)));
      await clock.run(10);
      // The crash: keep only the writes that completed, then drop the process.
      const image = disk.reopen();
      assert.ok(image.lastIndex() < disk.lastIndex(), 'some writes were still in flight');
      c.net.isolate(victim);
      await clock.settled(c.node(victim).close());
      c.nodes.delete(victim);
      c.net.heal();
      await c.start(victim, {}, image);
      await clock.settled(Promise.all(writes));
      const applied = await converged(c);
      assert.deepEqual(
        applied,
        Array.from({ length: 8 }, (_, i) => `c${i}`),
      );
      await c.closeAll();
    });

    void it('serves linearizable reads on followers', async () => {
      const c = await cluster([1, 2, 3], options);
      const leader = await c.waitLeader(clock);
      const f = followers(c, leader)[0] as Node;
      c.net.delay(leader.id, f.id, 50);
      await clock.settled(leader.propose(bytes('w1')));
      assert.deepEqual(c.machine(f.id).applied, [], 'the follower lags behind');
      const index = await clock.settled(f.read());
      assert.ok(c.machine(f.id).applied.includes('w1'), 'the read waited for the write');
      assert.ok(f.status().appliedIndex >= index);
      await c.closeAll();
    });

    void it('keeps routine notices of raft about completed writes out of info', async () => {
      const lines: Record<'debug' | 'info', string[]> = { debug: [], info: [] };
      const logger = {
        ...discardLogger,
        debug: (m: string) => void lines.debug.push(m),
        info: (m: string) => void lines.info.push(m),
      };
      const c = new Cluster([1, 2, 3], { ...options, logger });
      clusters.push(c);
      // Writes that take a while, so that a commit-only HardState write is issued while the
      // writes of entries are still in flight: when both complete, raft notices that the
      // entry the second one names has already left its unstable log.
      const slow = { beforeSave: () => new Promise<void>((r) => setTimeout(r, 5)) };
      for (const id of c.ids) await clock.settled(c.start(id, {}, new MemoryDurableStorage(slow)));
      const leader = await c.waitLeader(clock);
      // Proposals in waves: each wave's entries and its commit are written while the writes
      // before them are still in flight.
      for (let wave = 0; wave < 10; wave++) {
        const ps = Array.from({ length: 4 }, (_, i) => leader.propose(bytes(`w${wave}.${i}`)));
        await clock.settled(Promise.all(ps));
      }
      await converged(c);
      const routine = /missing from unstable log; ignoring$/;
      assert.deepEqual(
        lines.info.filter((m) => routine.test(m)),
        [],
      );
      if (asyncStorageWrites) {
        assert.ok(
          lines.debug.some((m) => routine.test(m)),
          'the notice came, at debug',
        );
      }
      assert.ok(
        lines.info.some((m) => m.includes('became leader')),
        'other info lines stay',
      );
      await clock.settled(c.closeAll());
    });
  });
}

void describe('cluster: failures of proposals', () => {
  const options = { tickMs: 10 };

  void it('rejects a proposal whose entry another leader overwrote', async () => {
    const c = await cluster([1, 2, 3], options);
    const old = await c.waitLeader(clock);
    c.net.isolate(old.id);
    const doomed = old.propose(bytes('doomed'));
    const rest = followers(c, old).map((n) => n.id);
    const fresh = await c.waitLeader(clock, rest);
    const winner = await clock.settled(fresh.propose(bytes('winner')));
    c.net.heal();
    await assert.rejects(clock.settled(doomed), ErrLeaderChanged);
    // Entries 1-3 bootstrap the cluster, 4 is the first leader's empty entry; "doomed" was
    // at 5 in the old leader's log, where the new leader put its own empty entry.
    assert.equal(winner, 'winner@6');
    const applied = await converged(c);
    assert.deepEqual(applied, ['winner']);
    await c.closeAll();
  });

  void it('rejects a forwarded proposal lost on its way once a later term shows up', async () => {
    const c = await cluster([1, 2, 3], options);
    const leader = await c.waitLeader(clock);
    const f = followers(c, leader)[0] as Node;
    c.net.setFilter((m) => (m.type === MessageType.MsgProp ? 'drop' : undefined));
    let settled = false;
    const lost = assert
      .rejects(f.propose(bytes('lost')), ErrLeaderChanged)
      .finally(() => (settled = true));
    await clock.run(50);
    assert.equal(settled, false, 'still waiting while the leader keeps its term');
    c.net.heal();
    c.net.isolate(leader.id);
    await clock.until(() => settled, 5000, 'rejection');
    await lost;
    await c.closeAll();
  });

  void it('an aborted proposal rejects with the reason at once', async () => {
    const c = await cluster([1, 2, 3], options);
    const leader = await c.waitLeader(clock);
    c.net.partition(
      [leader.id],
      followers(c, leader).map((n) => n.id),
    );
    const ac = new AbortController();
    const p = leader.propose(bytes('slow'), { signal: ac.signal });
    await clock.run(30);
    ac.abort(new Error('deadline'));
    await assert.rejects(p, /deadline/);
    await c.closeAll();
  });
});

void describe('cluster: membership and leadership', () => {
  const options = { tickMs: 10 };

  void it('adds a learner, promotes it, and removes the old leader', async () => {
    const c = await cluster([1, 2, 3], options);
    const leader = await c.waitLeader(clock);
    await clock.settled(leader.propose(bytes('x')));
    const joiner = await c.start(4, { join: true });
    const cs1 = await clock.settled(leader.addLearner(4, 'mem://4'));
    assert.deepEqual(cs1.learners, [4]);
    assert.deepEqual(cs1.votersOutgoing, []);
    await clock.until(() => c.machine(4).applied.includes('x'), 5000, 'learner catch-up');
    const cs2 = await clock.settled(leader.promote(4));
    assert.deepEqual([...cs2.voters].sort(), [1, 2, 3, 4]);
    assert.deepEqual(cs2.learners, []);
    const seen: number[][] = [];
    joiner.on('membershipChange', (cs) => seen.push(cs.voters));
    const cs3 = await clock.settled(leader.removeMember(leader.id));
    assert.ok(!cs3.voters.includes(leader.id));
    assert.equal(cs3.voters.length, 3);
    const rest = cs3.voters;
    const next = await c.waitLeader(clock, rest);
    assert.notEqual(next.id, leader.id);
    await clock.settled(next.propose(bytes('y')));
    await converged(c, rest);
    assert.ok(seen.length > 0);
    for (const id of rest) {
      const others = rest.filter((x) => x !== id);
      assert.deepEqual(c.transports.get(id)?.peerIds(), others, `transport peers of ${id}`);
    }
    await c.closeAll();
  });

  void it('transfers leadership to a chosen node and to the best one', async () => {
    const c = await cluster([1, 2, 3], options);
    const leader = await c.waitLeader(clock);
    const target = (followers(c, leader)[1] as Node).id;
    assert.equal(await clock.settled(leader.transferLeadership(target)), target);
    await clock.until(() => c.node(target).isLeader, 1000, 'new leader');
    const next = c.node(target);
    const other = await clock.settled(next.transferLeadership());
    assert.notEqual(other, target);
    await clock.until(() => c.node(other).isLeader, 1000, 'third leader');
    await assert.rejects(next.transferLeadership(), ErrNotLeader);
    await c.closeAll();
  });
});

void describe('cluster: proposals under faults', () => {
  /** mulberry32 is a small seeded generator, so that a failure can be replayed. */
  function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  for (const seed of [1, 2, 3]) {
    void it(`every proposal is applied once or fails with an error that says so (seed ${seed})`, async () => {
      const rand = mulberry32(seed);
      const c = await cluster([1, 2, 3], { tickMs: 10, snapshotInterval: 15, compactionMargin: 3 });
      c.net.setFilter(() => (rand() < 0.1 ? 'drop' : undefined));
      const outcomes = new Map<string, string>();
      const pending: Promise<void>[] = [];
      for (let round = 0; round < 60; round++) {
        if (round % 15 === 5) c.net.isolate(1 + Math.floor(rand() * 3));
        if (round % 15 === 10) c.net.partition();
        const id = 1 + Math.floor(rand() * 3);
        const payload = `s${seed}r${round}`;
        const ac = new AbortController();
        pending.push(
          c
            .node(id)
            .propose(bytes(payload), { signal: ac.signal })
            .then(
              (r) => {
                // Never someone else's result: RecordingMachine answers `<payload>@<index>`.
                assert.match(String(r), new RegExp(`^${payload}@\\d+$`));
                outcomes.set(payload, 'applied');
              },
              (e: unknown) => void outcomes.set(payload, (e as Error).name),
            ),
        );
        setTimeout(() => ac.abort(new Error('timeout')), 2000);
        await clock.run(30);
      }
      c.net.heal();
      await clock.settled(Promise.all(pending), 5000);
      const log = await converged(c);
      for (const [payload, outcome] of outcomes) {
        const n = log.filter((x) => x === payload).length;
        if (outcome === 'applied') assert.equal(n, 1, `${payload} applied once`);
        if (outcome === 'ErrLeaderChanged' || outcome === 'ErrProposalDropped') {
          assert.equal(n, 0, `${payload} (${outcome}) is not in the log`);
        }
        assert.ok(n <= 1, `${payload} at most once`);
      }
      assert.ok([...outcomes.values()].filter((o) => o === 'applied').length > 20);
    });
  }
});
