/**
 * The faults of the chaos runner. Each one injects its fault, holds it for the episode's
 * hold time while the workload runs, and heals it (restarts what it killed, continues what
 * it paused, removes the proxy rules); the runner then waits for the cluster to be healthy.
 * Each resolves with a one-line description of what it did.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Prng } from '../../src/rafttest/sim/prng.ts';
import { FrameType } from '../../src/transport/frame.ts';
import type { ChaosCluster, Member } from './cluster.ts';
import type { LinkRule } from './proxy.ts';

/** FaultKind names a fault. */
export const FaultKind = {
  /** kill -9 a member (the leader half of the time; two of five sometimes), restart it. */
  Kill: 'kill',
  /** SIGSTOP a member (often the leader) for longer than the election timeout, SIGCONT. */
  Pause: 'pause',
  /** cut the leader off from every other member. */
  IsolateLeader: 'isolate-leader',
  /** cut a minority of followers off; the leader keeps its majority. */
  PartitionMinority: 'partition-minority',
  /** cut the leader off together with a minority; the majority must elect a new leader. */
  PartitionMajority: 'partition-majority',
  /** overlapping majorities: 3 members in a line (the middle one a bridge), 5 in a ring. */
  PartitionBridge: 'partition-bridge',
  /** a one-way partition: the leader cannot hear, or cannot be heard, or one link is cut. */
  OneWay: 'one-way',
  /** slow links: delay and jitter on every link, or on one member's links. */
  Delay: 'delay',
  /** lossy links: a share of raft messages dropped on every link. */
  Drop: 'drop',
  /** remove a member (sometimes the leader) and join a new one, promoted, under load. */
  Membership: 'membership',
  /** leadership transfers (MoveLeader) to random followers under load. */
  Transfer: 'transfer',
  /** a lagging follower is sent a snapshot and killed while receiving or installing it. */
  SnapshotCrash: 'snapshot-crash',
} as const;
/** FaultKind is one of the FaultKind values. */
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** AllFaults lists every fault kind, in a fixed order. */
export const AllFaults: readonly FaultKind[] = Object.values(FaultKind);

/** isFaultKind reports whether s names a fault. */
export function isFaultKind(s: string): s is FaultKind {
  return (AllFaults as readonly string[]).includes(s);
}

/** FaultContext is what a fault works with. */
export interface FaultContext {
  cluster: ChaosCluster;
  rng: Prng;
  /** holdMs is how long the fault lasts. */
  holdMs: number;
  log: (line: string) => void;
}

type Fault = (ctx: FaultContext) => Promise<string>;

function pick<T>(rng: Prng, xs: readonly T[]): T {
  if (xs.length === 0) throw new Error('pick from an empty list');
  return xs[rng.int(xs.length)] as T;
}

function shuffle<T>(rng: Prng, xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

const names = (ms: readonly Member[]): string => ms.map((m) => m.label).join(',');

/** cut blackholes both directions between a and b. */
function cut(c: ChaosCluster, a: Member, b: Member, rule: LinkRule = { blackhole: true }): void {
  c.table.set(a.id, b.id, rule);
  c.table.set(b.id, a.id, rule);
}

/** partition cuts every link between members of different groups. */
function partition(c: ChaosCluster, groups: readonly (readonly Member[])[]): void {
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      for (const a of groups[i] as Member[]) for (const b of groups[j] as Member[]) cut(c, a, b);
    }
  }
}

async function hold(ctx: FaultContext, atLeastMs = 0): Promise<void> {
  await delay(Math.max(ctx.holdMs, atLeastMs));
}

/** heal ends a partition, half the time dropping what the cut links held; says which. */
function heal(ctx: FaultContext): string {
  const reset = ctx.rng.chance(0.5);
  ctx.cluster.healNetwork(reset);
  return reset ? 'healed by reset' : 'healed, held frames delivered';
}

const kill: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const running = c.running();
  const first = ctx.rng.chance(0.5) ? leader : pick(ctx.rng, running);
  const victims = [first];
  if (running.length >= 5 && ctx.rng.chance(0.3)) {
    victims.push(
      pick(
        ctx.rng,
        running.filter((m) => m !== first),
      ),
    );
  }
  await Promise.all(victims.map((m) => m.kill()));
  await hold(ctx);
  await Promise.all(victims.map((m) => c.restart(m)));
  return `kill -9 ${names(victims)} (leader ${leader.label}), restarted`;
};

const pause: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const m = ctx.rng.chance(0.6) ? leader : pick(ctx.rng, c.running());
  c.pause(m);
  const ms = Math.max(ctx.holdMs, Math.round(1.5 * c.electionTimeoutMs));
  await delay(ms);
  c.resume(m);
  return `SIGSTOP ${m.label} (leader ${leader.label}) for ${ms} ms, SIGCONT`;
};

const isolateLeader: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  partition(c, [[leader], c.current().filter((m) => m !== leader)]);
  await hold(ctx);
  return `isolate leader ${leader.label}, ${heal(ctx)}`;
};

/** minorityOf returns a random number of members for a minority side: 1 .. (n-1)/2. */
function minoritySize(rng: Prng, n: number): number {
  return 1 + rng.int(Math.max(1, Math.floor((n - 1) / 2)));
}

const partitionMinority: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const followers = shuffle(
    ctx.rng,
    c.current().filter((m) => m !== leader),
  );
  const minority = followers.slice(0, minoritySize(ctx.rng, c.current().length));
  const majority = c.current().filter((m) => !minority.includes(m));
  partition(c, [minority, majority]);
  await hold(ctx);
  const how = heal(ctx);
  return `partition [${names(minority)}] | [${names(majority)}] (leader ${leader.label} in the majority), ${how}`;
};

const partitionMajority: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const followers = shuffle(
    ctx.rng,
    c.current().filter((m) => m !== leader),
  );
  const minority = [leader, ...followers.slice(0, minoritySize(ctx.rng, c.current().length) - 1)];
  const majority = c.current().filter((m) => !minority.includes(m));
  partition(c, [minority, majority]);
  await hold(ctx);
  const how = heal(ctx);
  return `partition [${names(minority)}] | [${names(majority)}] (leader ${leader.label} in the minority), ${how}`;
};

const partitionBridge: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const ring = shuffle(ctx.rng, c.current());
  const n = ring.length;
  // Members i and j stay connected when they are neighbours on the ring (a line for 3).
  const reach = Math.max(1, Math.floor((n - 1) / 4));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = Math.min(j - i, n - (j - i));
      const linked = n === 3 ? j - i === 1 : d <= reach;
      if (!linked) cut(c, ring[i] as Member, ring[j] as Member);
    }
  }
  await hold(ctx);
  const how = heal(ctx);
  const shape = n === 3 ? 'line' : 'ring';
  return `${shape} ${names(ring)} (leader ${leader.label}; each sees a majority, no two the same), ${how}`;
};

const oneWay: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const others = c.current().filter((m) => m !== leader);
  const mode = ctx.rng.int(3);
  let what: string;
  if (mode === 0) {
    for (const o of others) c.table.set(o.id, leader.id, { blackhole: true });
    what = `nothing reaches leader ${leader.label}`;
  } else if (mode === 1) {
    for (const o of others) c.table.set(leader.id, o.id, { blackhole: true });
    what = `nothing from leader ${leader.label} gets out`;
  } else {
    const f = pick(ctx.rng, others);
    c.table.set(leader.id, f.id, { blackhole: true });
    what = `leader ${leader.label} → ${f.label} cut, the other way open`;
  }
  await hold(ctx);
  return `one-way: ${what}, ${heal(ctx)}`;
};

const slow: Fault = async (ctx) => {
  const c = ctx.cluster;
  const ms = c.current();
  const delayMs = ctx.rng.range(20, 150);
  const jitterMs = ctx.rng.range(0, delayMs);
  const rule = { delayMs, jitterMs };
  let who = 'every link';
  if (ctx.rng.chance(0.4)) {
    const m = pick(ctx.rng, ms);
    for (const o of ms) if (o !== m) cut(c, m, o, rule);
    who = `the links of ${m.label}`;
  } else {
    for (const a of ms) for (const b of ms) if (a !== b) c.table.set(a.id, b.id, rule);
  }
  await hold(ctx);
  c.table.heal();
  return `delay ${delayMs}±${jitterMs} ms on ${who}`;
};

const drop: Fault = async (ctx) => {
  const c = ctx.cluster;
  const ms = c.current();
  const dropPm = ctx.rng.range(100, 400);
  for (const a of ms) for (const b of ms) if (a !== b) c.table.set(a.id, b.id, { dropPm });
  await hold(ctx);
  c.table.heal();
  return `drop ${dropPm / 10}% of raft message frames on every link`;
};

const membership: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const victim = ctx.rng.chance(0.25)
    ? leader
    : pick(
        ctx.rng,
        c.current().filter((m) => m !== leader),
      );
  const addFirst = ctx.rng.chance(0.5);
  let joined: Member;
  let removed: string;
  if (addFirst) {
    joined = await c.join();
    removed = await c.remove(victim);
  } else {
    removed = await c.remove(victim);
    joined = await c.join();
  }
  const order = addFirst ? 'added, then removed' : 'removed, then added';
  return (
    `membership: ${joined.label} joined as learner and promoted; ${victim.label} removed ` +
    `(${removed}) (leader ${leader.label}; ${order})`
  );
};

const transfer: Fault = async (ctx) => {
  const c = ctx.cluster;
  const deadline = performance.now() + Math.max(ctx.holdMs, 2000);
  const done: string[] = [];
  for (let i = 0; i < 5 && performance.now() < deadline; i++) {
    const leader = await c.leader();
    const target = pick(
      ctx.rng,
      c.current().filter((m) => m !== leader),
    );
    try {
      await leader.client.moveLeader(target.id, 5000);
      const now = await c.leader(5000);
      done.push(`${leader.id}→${target.id}${now === target ? '' : ` (now ${now.id})`}`);
    } catch (err) {
      done.push(
        `${leader.id}→${target.id} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    await delay(ctx.rng.range(200, 600));
  }
  return `transfer leadership: ${done.join(', ')}`;
};

/** FILLER_KEYS and FILLER_BYTES make the state a few MiB, so snapshots take several chunks. */
const FILLER_KEYS = 300;
const FILLER_BYTES = 10 * 1024;

async function fill(leader: Member, count: number, rng: Prng): Promise<number> {
  const value = 'x'.repeat(FILLER_BYTES - 16);
  let next = 0;
  let ok = 0;
  const deadline = performance.now() + 30_000;
  const worker = async (): Promise<void> => {
    while (next < count && performance.now() < deadline) {
      const i = next++;
      const key = `chaos-filler/${(i + rng.int(FILLER_KEYS)) % FILLER_KEYS}`;
      try {
        await leader.client.put(key, `${i}:${value}`, 'grpc', 5000);
        ok++;
      } catch {
        // The leader may change; the entries written are what counts.
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return ok;
}

const snapshotCrash: Fault = async (ctx) => {
  const c = ctx.cluster;
  const leader = await c.leader();
  const victim = pick(
    ctx.rng,
    c.current().filter((m) => m !== leader),
  );
  partition(c, [[victim], c.current().filter((m) => m !== victim)]);
  // Enough entries that the leader snapshots and compacts past the victim's log.
  const need = c.snapshotInterval + c.snapshotCatchupEntries + 100;
  const written = await fill(leader, need, ctx.rng);
  const killAt = ctx.rng.int(6); // 0: on SnapBegin, 1-3: on that chunk, 4-5: after SnapEnd
  const afterEndMs = ctx.rng.range(0, 30);
  let chunks = 0;
  let killedAt = '';
  let resolveKilled: () => void = () => undefined;
  const killed = new Promise<void>((r) => (resolveKilled = r));
  const doKill = (why: string): void => {
    if (killedAt !== '') return;
    killedAt = why;
    victim.killNow();
    resolveKilled();
  };
  const unsubscribe = c.current().map((m) =>
    m.proxy.onFrame((f) => {
      if (f.to !== victim.id || killedAt !== '') return;
      if (f.type === FrameType.SnapBegin && killAt === 0) doKill('on SnapBegin');
      if (f.type === FrameType.SnapChunk && ++chunks === killAt) doKill(`on SnapChunk ${chunks}`);
      if (f.type === FrameType.SnapEnd) {
        const why = `${afterEndMs} ms after SnapEnd (${chunks} chunks)`;
        if (killAt >= 4 && afterEndMs > 0) setTimeout(() => doKill(why), afterEndMs);
        else doKill(killAt >= 4 ? why : `on SnapEnd (${chunks} chunks, fewer than ${killAt})`);
      }
    }),
  );
  // Close the victim's connections: what the leader sent before the cut is lost, so the
  // leader must probe, find the entries compacted, and send a snapshot.
  c.healNetwork(true);
  const hit = await Promise.race([killed.then(() => true), delay(15_000, false)]);
  for (const u of unsubscribe) u();
  if (!hit) doKill('15 s after healing: no snapshot stream was seen');
  await victim.exited;
  await delay(ctx.rng.range(100, 500));
  await c.restart(victim);
  return `snapshot-crash: ${victim.label} cut off, ${written} filler writes through ${leader.label}, killed ${killedAt}, restarted`;
};

/** Faults maps each fault kind to its implementation. */
export const Faults: Readonly<Record<FaultKind, Fault>> = {
  kill,
  pause,
  'isolate-leader': isolateLeader,
  'partition-minority': partitionMinority,
  'partition-majority': partitionMajority,
  'partition-bridge': partitionBridge,
  'one-way': oneWay,
  delay: slow,
  drop,
  membership,
  transfer,
  'snapshot-crash': snapshotCrash,
};
