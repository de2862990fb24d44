/**
 * A Schedule is everything that decides a simulation run: the seed of its randomness, the
 * cluster options and a list of timed events (client operations and faults). Node and key
 * arguments are plain numbers resolved when the event fires (modulo the nodes that exist
 * then), so every list of events is valid: that is what lets fast-check shrink a failing
 * schedule by dropping and simplifying events.
 */
import fc from 'fast-check';

/** EventKind lists what a scheduled event does. */
export const EventKind = {
  /** put(b) through node a. */
  Put: 'put',
  /** delete(b) through node a. */
  Delete: 'delete',
  /** compare-and-swap on key b through node a, expecting the last value the clients saw. */
  Cas: 'cas',
  /** linearizable get(b) through node a, by ReadIndex. */
  Read: 'read',
  /** crash node a; b % 4 picks the moment: now, after its next persist, after its next send, mid-apply. */
  Crash: 'crash',
  /** restart the crashed node number a (modulo the crashed nodes). */
  Restart: 'restart',
  /** replace all cuts by a split in two by the bits of a (bit i: the i-th node is on side A). */
  Partition: 'partition',
  /** replace all cuts by one that puts the leader plus (a % 3) followers apart. */
  SplitLeader: 'splitLeader',
  /** also cut node a off from everyone, both ways. */
  Isolate: 'isolate',
  /** also drop everything from node a to node b. */
  OneWay: 'oneway',
  /** remove every partition and one-way cut. */
  Heal: 'heal',
  /** set the drop rate to a and the duplicate rate to b (per mille, capped at 500). */
  Chaos: 'chaos',
  /** set the maximum delay to a ms and the long-delay (reordering) rate to b per mille. */
  Delay: 'delay',
  /** propose a membership change on the leader; a picks the kind, b the node. */
  Conf: 'conf',
  /** ask the leader to transfer leadership to node a. */
  Transfer: 'transfer',
  /** make node a take a snapshot now and compact its log. */
  Compact: 'compact',
  /** make node a campaign now. */
  Campaign: 'campaign',
  /** propose (b % 64) + 1 filler entries (not client operations) in one batch through node a. */
  Burst: 'burst',
  /** freeze node a for 10 + b ms (a GC or VM pause): it neither ticks nor handles anything. */
  Pause: 'pause',
} as const;
/** EventKind is the name of a scheduled event. */
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** eventKinds lists every EventKind, in declaration order. */
export const eventKinds: readonly EventKind[] = Object.values(EventKind);

/**
 * LEADER_REF: a node argument in [LEADER_REF, REMEMBERED_REF) means "the current leader"
 * (the alive leader with the highest term), falling back to a node by number without one.
 */
export const LEADER_REF = 900;

/**
 * REMEMBERED_REF: a node argument at or above it means the node that the last crash,
 * isolate or splitLeader event picked (say, a leader cut off earlier), falling back like
 * LEADER_REF.
 */
export const REMEMBERED_REF = 950;

/** SimEvent is one timed event; a and b are its arguments (see EventKind). */
export interface SimEvent {
  /** at is the simulated time in milliseconds. */
  at: number;
  kind: EventKind;
  a: number;
  b: number;
}

/** SimOptions configure the cluster and its environment for one run. */
export interface SimOptions {
  /** voters is the size of the bootstrapped configuration (1..5). */
  voters: number;
  preVote: boolean;
  checkQuorum: boolean;
  stepDownOnRemoval: boolean;
  /** heartbeatTick (1..4); electionTick is always 10, one tick every 10 ms. */
  heartbeatTick: number;
  /** maxSizePerMsg in bytes; 4096 means no limit. */
  maxSizePerMsg: number;
  /** maxInflightMsgs (1..64). */
  maxInflightMsgs: number;
  /** snapEvery: applied entries between automatic snapshots (3..500). */
  snapEvery: number;
  /** snapKeep: entries kept before the snapshot index when compacting (0..50). */
  snapKeep: number;
  /** persistMs and applyMs: the largest disk and apply latency in ms (0..20). */
  persistMs: number;
  applyMs: number;
  /** minDelay and maxDelay bound the message delay in ms. */
  minDelay: number;
  maxDelay: number;
  /** dropPm, dupPm, longPm: initial drop, duplicate and long-delay rates per mille. */
  dropPm: number;
  dupPm: number;
  longPm: number;
  /**
   * lazyCommit: a Ready whose only durable change is the commit index (mustSync false) is
   * written without sync, so a crash may lose it until the next synced write.
   */
  lazyCommit: boolean;
  /** keys is the number of distinct keys clients use (1..8). */
  keys: number;
  /**
   * protectSoleVoter: never propose a change that replaces the only voter of a one-voter
   * configuration (it steers clear of a known core bug; absent means false).
   */
  protectSoleVoter?: boolean;
  /**
   * deferSnapshots: hold a MsgSnap back while its node is in the middle of a Ready (it steers
   * clear of a known core bug; absent means false).
   */
  deferSnapshots?: boolean;
}

/** Schedule is one simulation run, replayable from this value alone. */
export interface Schedule {
  /** name is the scenario that made the schedule ('chaos' for random ones). */
  name: string;
  /** seed drives all randomness that the events do not fix (network, disk, elections). */
  seed: number;
  options: SimOptions;
  /** duration is the length of the fault phase in ms; events after it are ignored. */
  duration: number;
  /** settle is the most time given after healing everything to converge, in ms. */
  settle: number;
  events: SimEvent[];
}

/** MAX_TIME bounds every time in a schedule (ms). */
export const MAX_TIME = 60_000;

/** SETTLE_MS is the time every schedule gives the cluster to converge after healing. */
export const SETTLE_MS = 8000;

/** simOptionsArbitrary generates (and shrinks) SimOptions within their documented ranges. */
export function simOptionsArbitrary(): fc.Arbitrary<SimOptions> {
  return fc.record({
    voters: fc.integer({ min: 1, max: 5 }),
    preVote: fc.boolean(),
    checkQuorum: fc.boolean(),
    stepDownOnRemoval: fc.boolean(),
    heartbeatTick: fc.integer({ min: 1, max: 4 }),
    maxSizePerMsg: fc.integer({ min: 0, max: 4096 }),
    maxInflightMsgs: fc.integer({ min: 1, max: 64 }),
    snapEvery: fc.integer({ min: 3, max: 500 }),
    snapKeep: fc.integer({ min: 0, max: 50 }),
    persistMs: fc.integer({ min: 0, max: 20 }),
    applyMs: fc.integer({ min: 0, max: 20 }),
    minDelay: fc.integer({ min: 0, max: 10 }),
    maxDelay: fc.integer({ min: 0, max: 300 }),
    dropPm: fc.integer({ min: 0, max: 500 }),
    dupPm: fc.integer({ min: 0, max: 500 }),
    longPm: fc.integer({ min: 0, max: 500 }),
    lazyCommit: fc.boolean(),
    keys: fc.integer({ min: 1, max: 8 }),
    protectSoleVoter: fc.boolean(),
    deferSnapshots: fc.boolean(),
  });
}

/** simEventArbitrary generates (and shrinks) one SimEvent. */
export function simEventArbitrary(): fc.Arbitrary<SimEvent> {
  return fc.record({
    at: fc.integer({ min: 0, max: MAX_TIME }),
    kind: fc.constantFrom(...eventKinds),
    a: fc.integer({ min: 0, max: 999 }),
    b: fc.integer({ min: 0, max: 999 }),
  });
}

/**
 * scheduleArbitrary generates any Schedule. Its real use is shrinking: a failing schedule is
 * handed to fast-check as an example, and every arbitrary here can shrink a value it did not
 * generate itself.
 */
export function scheduleArbitrary(names: readonly string[]): fc.Arbitrary<Schedule> {
  return fc.record({
    name: fc.constantFrom(...names),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
    options: simOptionsArbitrary(),
    duration: fc.integer({ min: 0, max: MAX_TIME }),
    // The settle time is not shrunk: a shorter one only makes convergence fail trivially.
    settle: fc.constant(SETTLE_MS),
    events: fc.array(simEventArbitrary(), { maxLength: 4000 }),
  });
}

/** describeSchedule prints a schedule as JSON with one event per line (replayable). */
export function describeSchedule(s: Schedule): string {
  const head = JSON.stringify({ ...s, events: [] });
  const evs = s.events.map((e) => `    ${JSON.stringify(e)}`).join(',\n');
  return `${head.slice(0, -3)}[\n${evs}\n  ]}`;
}
