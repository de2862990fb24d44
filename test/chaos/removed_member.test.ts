/**
 * Regression test for what `npm run chaos` found in the membership fault: a member removed
 * while it cannot hear the leader never learned it was removed and kept running
 * (docs/chaos.md, "What it found"). docs/raftkv.md promises that a removed member stops by
 * itself, as etcd's does; etcd's stops when its peers answer that it was removed. Here the
 * others refuse its handshakes with "removed-member"; the transport surfaces the refusals
 * and src/kv/runner/member.ts stops the member once a majority of its peers (or its last
 * leader) refuse it.
 *
 * Two victims in one cluster of 4: member 1, which dials every peer (the lowest id dials),
 * and member 4, which dials no one and only hears the refusals by probing its peers
 * (TcpTransport's probeIntervalMs). Without the fix, both still run 5 s after the healing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ChaosCluster } from './cluster.ts';
import type { Member } from './cluster.ts';

/** byId returns the member with raft id `id`. */
function byId(c: ChaosCluster, id: number): Member {
  const m = c.current().find((x) => x.id === id);
  assert.ok(m !== undefined, `no member ${id}`);
  return m;
}

/**
 * cutOffAndRemove cuts the victim off, removes it through the leader, waits until the
 * others have applied the removal, heals with a reset, and returns the victim's exit code
 * (null if a signal ended it), or 'running' if it still runs 5 s later.
 */
async function cutOffAndRemove(
  c: ChaosCluster,
  victim: Member,
): Promise<number | null | 'running'> {
  const others = c.current().filter((m) => m !== victim);
  for (const m of others) {
    c.table.set(m.id, victim.id, { blackhole: true });
    c.table.set(victim.id, m.id, { blackhole: true });
  }
  const exitCode = new Promise<number | null>((resolve) =>
    victim.proc?.once('exit', (code) => resolve(code)),
  );
  const leader = await c.leader();
  assert.notEqual(leader, victim);
  await leader.client.removeMember(victim.id, 5000);
  victim.expectExit = true;
  // Heal once the others have applied the removal.
  const deadline = performance.now() + 10_000;
  for (;;) {
    const lists = await Promise.all(others.map((m) => m.client.members(2000)));
    if (lists.every((l) => !l.some((x) => x.ID === victim.id))) break;
    assert.ok(performance.now() < deadline, 'the removal was not applied in time');
    await delay(50);
  }
  // A reset: what the links held is lost, as after a partition long enough for TCP to give
  // up, so the victim can only learn of its removal from what happens after the healing.
  c.healNetwork(true);
  return Promise.race([exitCode, delay(5000, 'running' as const)]);
}

describe('a member cut off while it is removed', { timeout: 120_000 }, () => {
  let dir: string;
  let c: ChaosCluster;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftkv-removed-'));
    c = await ChaosCluster.start({
      nodes: 4,
      dir,
      timing: {
        tickMs: 50,
        electionTicks: 10,
        snapshotInterval: 10_000,
        snapshotCatchupEntries: 5000,
        requestTimeoutMs: 2000,
      },
      random: Math.random,
      log: () => undefined,
    });
    // The victims are 1 and 4: leadership goes to 2 (or stays with 2 or 3).
    const leader = await c.leader();
    if (leader.id === 1 || leader.id === 4) {
      await leader.client.moveLeader(2, 5000);
      for (;;) {
        if ((await c.leader()).id === 2) break;
        await delay(100);
      }
    }
  });

  after(async () => {
    await c?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const [id, how] of [
    [1, 'it dials its peers'],
    [4, 'it dials no one'],
  ] as const) {
    test(`member ${id} (${how}) stops by itself once healed, exit 0, data kept`, async () => {
      const victim = byId(c, id);
      const code = await cutOffAndRemove(c, victim);
      assert.notEqual(code, 'running', `${victim.label} still runs 5 s after it was healed`);
      assert.equal(code, 0, `${victim.label}'s exit code`);
      const log = victim.tail.join('\n');
      assert.match(log, /refuse its connections as removed-member/);
      assert.match(log, /it was removed while cut off; stopping/);
      assert.ok(existsSync(join(victim.dir, 'member.json')), 'the data directory is kept');
      c.table.heal();
      await c.remove(victim); // marks it removed in the harness (it has exited already)
    });
  }
});
