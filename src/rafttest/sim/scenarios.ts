/**
 * Schedules by name: random chaos, and the classic scenarios of the Raft literature and of
 * MIT 6.824's Raft labs, each varied by a seed (options, timings, node choices). A seed of
 * `npm run sim` picks its scenario with scheduleForSeed(); every schedule is shrinkable.
 */
import { Prng } from './prng.ts';
import { EventKind, LEADER_REF, REMEMBERED_REF, SETTLE_MS } from './schedule.ts';
import type { EventKind as Kind, Schedule, SimEvent, SimOptions } from './schedule.ts';

/** ScheduleFactory builds the schedule of a scenario for one seed. */
export type ScheduleFactory = (seed: number) => Schedule;

/** Builder collects the events of a schedule. */
class Builder {
  readonly events: SimEvent[] = [];
  constructor(readonly rng: Prng) {}

  /** at adds one event. */
  at(t: number, kind: Kind, a = 0, b = 0): this {
    this.events.push({ at: Math.max(0, Math.round(t)), kind, a, b });
    return this;
  }

  /** node returns a random node argument: mostly any node, sometimes the leader. */
  node(leaderPm = 300): number {
    return this.rng.perMille(leaderPm) ? LEADER_REF : this.rng.int(LEADER_REF);
  }

  /**
   * load adds client operations in [t0, t1) with gaps of up to `gap` ms: mostly writes
   * (put, then cas, then delete), a third of them ReadIndex reads. `to` picks the node.
   */
  load(t0: number, t1: number, gap: number, to: () => number = () => this.node()): this {
    const r = this.rng;
    for (let t = t0 + r.range(0, gap); t < t1; t += r.range(1, gap)) {
      const x = r.int(100);
      const kind =
        x < 35
          ? EventKind.Read
          : x < 70
            ? EventKind.Put
            : x < 90
              ? EventKind.Cas
              : EventKind.Delete;
      this.at(t, kind, to(), r.int(1000));
    }
    return this;
  }

  /** writes adds n puts through `to`, `gap` ms apart from t0; returns the end time. */
  writes(t0: number, n: number, gap: number, to: number): number {
    for (let i = 0; i < n; i++) this.at(t0 + i * gap, EventKind.Put, to, this.rng.int(1000));
    return t0 + n * gap;
  }
}

/** randomOptions draws cluster options; overrides fix some of them. */
function randomOptions(r: Prng, overrides: Partial<SimOptions> = {}): SimOptions {
  const minDelay = r.range(0, 3);
  const o: SimOptions = {
    voters: r.pick([3, 3, 3, 5, 5, 1]),
    preVote: r.chance(0.5),
    checkQuorum: r.chance(0.5),
    stepDownOnRemoval: r.chance(0.5),
    heartbeatTick: r.range(1, 3),
    maxSizePerMsg: r.pick([0, 64, 256, 1024, 4096]),
    maxInflightMsgs: r.pick([1, 4, 16, 64]),
    snapEvery: r.pick([5, 10, 25, 50, 200]),
    snapKeep: r.pick([0, 2, 5, 20]),
    persistMs: r.range(0, 5),
    applyMs: r.range(0, 5),
    minDelay,
    maxDelay: minDelay + r.range(2, 25),
    dropPm: r.pick([0, 0, 10, 50, 100]),
    dupPm: r.pick([0, 0, 10, 50, 100]),
    longPm: r.pick([0, 0, 10, 50]),
    lazyCommit: r.chance(0.5),
    keys: r.range(1, 5),
    // The three core bugs these used to work around are fixed (test/sim/regression_*.ts),
    // so the default mix exercises those paths again.
    protectSoleVoter: false,
    deferSnapshots: false,
    ...overrides,
  };
  return o;
}

function schedule(
  name: string,
  seed: number,
  options: SimOptions,
  duration: number,
  b: Builder,
): Schedule {
  return { name, seed, options, duration, settle: SETTLE_MS, events: b.events };
}

const FAULTS: readonly [Kind, number][] = [
  [EventKind.Crash, 12],
  [EventKind.Restart, 14],
  [EventKind.Partition, 6],
  [EventKind.SplitLeader, 4],
  [EventKind.Isolate, 5],
  [EventKind.OneWay, 3],
  [EventKind.Heal, 10],
  [EventKind.Chaos, 4],
  [EventKind.Delay, 3],
  [EventKind.Conf, 10],
  [EventKind.Transfer, 6],
  [EventKind.Compact, 5],
  [EventKind.Campaign, 3],
  [EventKind.Pause, 5],
];

function pickFault(r: Prng): Kind {
  const total = FAULTS.reduce((s, [, w]) => s + w, 0);
  let x = r.int(total);
  for (const [k, w] of FAULTS) {
    if (x < w) return k;
    x -= w;
  }
  return EventKind.Heal;
}

/** chaos: random client load with random faults of every kind. */
export function chaos(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const duration = r.range(1500, 4000);
  b.load(0, duration, r.range(10, 40));
  for (let t = r.range(50, 400); t < duration; t += r.range(50, 400)) {
    const kind = pickFault(r);
    const a =
      kind === EventKind.Chaos
        ? r.range(0, 300)
        : kind === EventKind.Delay
          ? r.range(5, 120)
          : b.node(400);
    const bb = kind === EventKind.Chaos || kind === EventKind.Delay ? r.range(0, 200) : r.int(1000);
    b.at(t, kind, a, bb);
  }
  return schedule('chaos', seed, randomOptions(r), duration, b);
}

/**
 * figure8: the Raft paper's Figure 8 hazard, as 6.824's TestFigure8 provokes it: leaders
 * crash right after taking proposals, so entries of old terms end up on a majority and
 * later leaders must neither commit them by counting replicas nor lose committed ones.
 */
export function figure8(seed: number, unreliable = false): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, { voters: 5, dropPm: 0, dupPm: 0, longPm: 0 });
  if (unreliable)
    Object.assign(o, { dropPm: 100, dupPm: 50, longPm: 100, maxDelay: r.range(20, 60) });
  let up = 5;
  let t = 100;
  const duration = r.range(3000, 5000);
  while (t < duration) {
    b.writes(t, r.range(1, 3), 1, LEADER_REF);
    t += r.chance(0.1) ? r.range(0, 200) : r.range(0, 13);
    if (r.chance(0.5) && up > 0) {
      b.at(t, EventKind.Crash, LEADER_REF, r.int(4));
      up--;
    }
    if (up < 3) {
      b.at(t + r.range(0, 50), EventKind.Restart, r.int(1000));
      up++;
    }
    t += r.range(1, 100);
  }
  if (unreliable) b.load(0, duration, 30);
  return schedule(unreliable ? 'figure8Unreliable' : 'figure8', seed, o, duration, b);
}

/**
 * figure8Paper: the exact sequence of the Raft paper's Figure 8 (five servers, one entry
 * per append), with the timings jittered by the seed so that some runs hit each window:
 * (a) S1 leads term 2 and replicates an entry to S2 only; (b) S1 crashes and S5 wins term
 * 3 with S3 and S4, then is cut off and crashes before its entry spreads; (c) S1 restarts,
 * wins term 4, and brings its term-2 entry to S3, a majority, then is cut off; (d) S5
 * restarts and, with S2, S3 and S4, may win term 5 and overwrite that entry. A leader that
 * counted replicas of the term-2 entry as a commit breaks State Machine Safety here.
 */
export function figure8Paper(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  // Every message takes exactly 1 ms and disks are instant, so the windows below are exact;
  // the seed still varies the rest (lazy commits, compaction, the load at the end).
  const o = randomOptions(r, {
    voters: 5,
    preVote: false,
    checkQuorum: false,
    heartbeatTick: 1,
    maxSizePerMsg: 0,
    maxInflightMsgs: 1,
    persistMs: 0,
    applyMs: 0,
    minDelay: 1,
    maxDelay: 1,
    dropPm: 0,
    dupPm: 0,
    longPm: 0,
    snapEvery: 500,
  });
  const [s1, s5] = [0, 4];
  // (a) S1 leads term 2; its entry 7 (term 2) reaches S2 only.
  b.at(20, EventKind.Campaign, s1);
  b.at(50, EventKind.Partition, 0b00011);
  b.writes(60, 1, 1, s1);
  b.at(80, EventKind.Crash, s1, 0);
  b.at(81, EventKind.Heal);
  // (b) S5 wins term 3 at 92 with S3 and S4, appends entry 7 (term 3); cut off at once.
  b.at(90, EventKind.Campaign, s5);
  b.at(93, EventKind.Isolate, s5);
  b.at(94, EventKind.Crash, s5, 0);
  b.at(100, EventKind.Heal);
  // (c) S1 restarts, loses term 3, wins term 4; at 113 S3 and S4 hold its entry 7 (term 2)
  // without entry 8 (term 4), and S1 is cut off before 8 reaches them.
  b.at(100, EventKind.Restart, 0);
  b.at(102, EventKind.Campaign, s1);
  b.at(107, EventKind.Campaign, s1);
  b.at(114, EventKind.Isolate, s1);
  b.at(115, EventKind.Crash, s1, 0);
  b.at(116, EventKind.Heal);
  // (d) S5 restarts and wins term 5 with S3 and S4: entry 7 (term 2) is replaced.
  b.at(116, EventKind.Restart, 1);
  b.at(118, EventKind.Campaign, s5);
  b.at(125, EventKind.Campaign, s5);
  b.load(400, 1000, 30);
  return schedule('figure8Paper', seed, o, 1000, b);
}

/** unreliableAgreement: concurrent proposals to every node over a lossy, reordering network. */
export function unreliableAgreement(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, { voters: 5, dropPm: 100, dupPm: 100, longPm: 100 });
  o.maxDelay = o.minDelay + r.range(10, 40);
  const duration = r.range(2000, 4000);
  b.load(0, duration, 8);
  for (let t = 300; t < duration; t += r.range(200, 600))
    b.at(t, EventKind.Chaos, r.range(50, 200), r.range(0, 200));
  return schedule('unreliableAgreement', seed, o, duration, b);
}

/**
 * partitionedLeader: a leader is cut off and keeps taking proposals it cannot commit; the
 * others elect a new leader and commit; then the old leader comes back (6.824 TestRejoin)
 * while the new one is cut off in turn.
 */
export function partitionedLeader(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, { voters: 3, dropPm: 0, dupPm: 0, longPm: 0 });
  b.writes(300, 3, 10, LEADER_REF);
  b.at(600, EventKind.Isolate, LEADER_REF);
  b.writes(620, 5, 10, REMEMBERED_REF);
  b.writes(1300, 5, 10, LEADER_REF);
  b.at(1500, EventKind.Heal);
  b.at(1500, EventKind.Isolate, LEADER_REF);
  b.writes(1510, 5, 10, REMEMBERED_REF);
  b.writes(2300, 5, 10, LEADER_REF);
  b.at(2600, EventKind.Heal);
  b.load(2600, 3200, 20);
  return schedule('partitionedLeader', seed, o, 3200, b);
}

/**
 * backup: 6.824's TestBackup. A leader and one follower are cut off and take 50 entries
 * that cannot commit, while the other side commits 50; then the new leader and one follower
 * are cut off with 50 more, and the first leader's side, now a majority, must throw its 50
 * uncommitted entries away quickly (log back-up by term) and commit 50 of its own.
 */
export function backup(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, { voters: 5, dropPm: 0, dupPm: 0, longPm: 0 });
  o.maxInflightMsgs = r.pick([4, 16, 64]);
  o.snapEvery = 500; // back up by log truncation, not by snapshot
  const fifty = 49; // a burst of (b % 64) + 1 entries
  b.writes(300, 3, 5, LEADER_REF);
  b.at(600, EventKind.SplitLeader, 1, r.int(1000));
  b.at(610, EventKind.Burst, REMEMBERED_REF, fifty);
  b.writes(620, 6, 2, REMEMBERED_REF);
  b.at(1500, EventKind.Burst, LEADER_REF, fifty);
  b.writes(1510, 6, 3, LEADER_REF);
  b.at(2000, EventKind.SplitLeader, 1, r.int(1000));
  b.at(2010, EventKind.Burst, REMEMBERED_REF, fifty);
  b.writes(2020, 6, 2, REMEMBERED_REF);
  b.at(3000, EventKind.Burst, LEADER_REF, fifty);
  b.writes(3010, 6, 3, LEADER_REF);
  b.at(3400, EventKind.Heal);
  b.at(3600, EventKind.Burst, LEADER_REF, fifty);
  b.load(3400, 4000, 20);
  return schedule('backup', seed, o, 4000, b);
}

/** churn: nodes crash, restart and get cut off at random while clients keep writing. */
export function churn(seed: number, unreliable = false): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, { voters: 5 });
  if (!unreliable) Object.assign(o, { dropPm: 0, dupPm: 0, longPm: 0 });
  const duration = r.range(3000, 5000);
  b.load(0, duration, 15);
  for (let t = 100; t < duration; t += r.range(30, 150)) {
    if (r.chance(0.2)) b.at(t, EventKind.Crash, b.node(), r.int(1000));
    if (r.chance(0.5)) b.at(t, EventKind.Restart, r.int(1000));
    if (r.chance(0.2)) b.at(t, EventKind.Isolate, b.node());
    if (r.chance(0.3)) b.at(t, EventKind.Heal);
    if (r.chance(0.1)) b.at(t, EventKind.Pause, b.node(), r.int(600));
  }
  return schedule('churn', seed, o, duration, b);
}

/**
 * snapshotCrash: 6.824's TestSnapshotInstallCrash. Snapshots every few entries; a node
 * crashes while the others move on past its log, so it needs a snapshot when it returns.
 */
export function snapshotCrash(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, {
    voters: r.pick([3, 5]),
    snapEvery: r.range(3, 10),
    snapKeep: r.range(0, 2),
  });
  const duration = r.range(3000, 5000);
  for (let t = 200; t < duration - 300;) {
    t = b.writes(t, r.range(5, 15), 3, LEADER_REF);
    const victim = r.chance(0.3) ? LEADER_REF : r.int(LEADER_REF);
    b.at(t, EventKind.Crash, victim, r.int(4));
    t = b.writes(t + 5, r.range(5, 15), 3, LEADER_REF);
    if (r.chance(0.3)) b.at(t, EventKind.Compact, r.int(1000));
    t += r.range(100, 400);
    b.at(t, EventKind.Restart, r.int(1000));
    t += r.range(50, 300);
  }
  b.load(0, duration, 40);
  return schedule('snapshotCrash', seed, o, duration, b);
}

/** confChurn: membership changes of every kind (learners, joint, removals) under load. */
export function confChurn(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, { voters: r.pick([1, 3, 3, 5]) });
  const duration = r.range(3000, 5000);
  b.load(0, duration, 20);
  for (let t = 300; t < duration; t += r.range(80, 300))
    b.at(t, EventKind.Conf, r.int(1000), r.int(1000));
  for (let t = 500; t < duration; t += r.range(300, 900)) {
    b.at(
      t,
      r.pick([EventKind.Crash, EventKind.Isolate, EventKind.Transfer]),
      b.node(),
      r.int(1000),
    );
    b.at(t + r.range(50, 300), r.pick([EventKind.Restart, EventKind.Heal]), r.int(1000));
  }
  return schedule('confChurn', seed, o, duration, b);
}

/** transferChurn: leadership transfers back and forth under load, with some faults. */
export function transferChurn(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, { voters: r.pick([3, 5]) });
  const duration = r.range(2500, 4000);
  b.load(0, duration, 15);
  for (let t = 300; t < duration; t += r.range(50, 250)) b.at(t, EventKind.Transfer, r.int(1000));
  for (let t = 700; t < duration; t += r.range(400, 1000)) {
    b.at(
      t,
      r.pick([EventKind.Crash, EventKind.Isolate, EventKind.Chaos, EventKind.Pause]),
      b.node(),
      r.int(200),
    );
    b.at(t + r.range(100, 300), r.pick([EventKind.Restart, EventKind.Heal]), r.int(1000));
  }
  return schedule('transferChurn', seed, o, duration, b);
}

/**
 * electionStorm: forced, nearly simultaneous campaigns (split votes, several candidates per
 * term) while voters crash right after answering and restart at once: durable votes are
 * all that keeps two leaders out of one term.
 */
export function electionStorm(seed: number): Schedule {
  const r = new Prng(seed);
  const b = new Builder(r);
  const o = randomOptions(r, {
    voters: r.pick([3, 5]),
    persistMs: r.range(0, 2),
    preVote: false,
    checkQuorum: false,
  });
  const duration = r.range(2000, 4000);
  b.load(0, duration, 25);
  for (let t = 200; t < duration; t += r.range(30, 200)) {
    b.at(t, EventKind.Campaign, r.int(LEADER_REF));
    b.at(t + r.range(0, 5), EventKind.Campaign, r.int(LEADER_REF));
    if (r.chance(0.6)) {
      b.at(t + r.range(0, 10), EventKind.Crash, r.int(LEADER_REF), r.pick([0, 2]));
      b.at(t + r.range(2, 15), EventKind.Restart, r.int(1000));
    }
  }
  return schedule('electionStorm', seed, o, duration, b);
}

/** scenarios maps every scenario name to its factory. */
export const scenarios: Readonly<Record<string, ScheduleFactory>> = {
  chaos,
  figure8: (s) => figure8(s),
  figure8Unreliable: (s) => figure8(s, true),
  figure8Paper,
  unreliableAgreement,
  partitionedLeader,
  backup,
  churn: (s) => churn(s),
  unreliableChurn: (s) => churn(s, true),
  snapshotCrash,
  confChurn,
  transferChurn,
  electionStorm,
};

/** scenarioNames lists the scenario names. */
export const scenarioNames: readonly string[] = Object.keys(scenarios);

/** ROTATION is the scenario of each seed modulo its length: half chaos, then each classic. */
const ROTATION: readonly string[] = [
  'chaos',
  'figure8',
  'chaos',
  'unreliableAgreement',
  'chaos',
  'partitionedLeader',
  'chaos',
  'backup',
  'chaos',
  'churn',
  'chaos',
  'snapshotCrash',
  'chaos',
  'confChurn',
  'chaos',
  'transferChurn',
  'chaos',
  'figure8Unreliable',
  'chaos',
  'unreliableChurn',
  'chaos',
  'electionStorm',
  'chaos',
  'figure8Paper',
];

/** scheduleForSeed returns the schedule of a seed of `npm run sim` (or of one scenario). */
export function scheduleForSeed(seed: number, scenario?: string): Schedule {
  const name = scenario ?? ROTATION[seed % ROTATION.length] ?? 'chaos';
  const f = scenarios[name];
  if (f === undefined)
    throw new RangeError(
      `unknown scenario ${JSON.stringify(name)}; known: ${scenarioNames.join(', ')}`,
    );
  return f(seed);
}
