/**
 * Fuzzing RawNode.step on live cluster members with fast-check:
 *
 * 1. Arbitrary messages (any type, sender, term, index, entries, snapshot) into a member:
 *    step() and the Ready cycle after it throw nothing but the documented errors: a
 *    RaftError, or a RaftPanic when the message breaks a protocol invariant (a forged
 *    message can, as in etcd-raft, where those are panics).
 * 2. Messages from a lower term, whatever their content, change nothing durable.
 * 3. Whole simulations with old messages redelivered at any time (and MsgApps cut short)
 *    keep every safety property.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import { RaftError } from '../../src/raft/errors.ts';
import { RaftPanic } from '../../src/raft/logger.ts';
import type { RawNode } from '../../src/raft/rawnode.ts';
import { encodeConfChange, RaftpbDecodeError } from '../../src/raftpb/codec.ts';
import { EntryType, MessageType, newMessage } from '../../src/raftpb/types.ts';
import type { Entry, Message, Snapshot } from '../../src/raftpb/types.ts';
import { isLiveness } from '../../src/rafttest/sim/invariants.ts';
import { chaos } from '../../src/rafttest/sim/scenarios.ts';
import { Simulator, runSchedule } from '../../src/rafttest/sim/sim.ts';
import type { Schedule } from '../../src/rafttest/sim/schedule.ts';
import { EventKind, SETTLE_MS } from '../../src/rafttest/sim/schedule.ts';

/** liveCluster runs a short calm schedule and returns its converged members. */
function liveCluster(seed: number): RawNode[] {
  const s: Schedule = {
    ...chaos(seed),
    name: 'fuzz',
    duration: 400,
    settle: SETTLE_MS,
    events: [
      { at: 300, kind: EventKind.Put, a: 900, b: 1 },
      { at: 310, kind: EventKind.Put, a: 1, b: 2 },
    ],
  };
  s.options = {
    ...s.options,
    voters: 3,
    dropPm: 0,
    dupPm: 0,
    longPm: 0,
    snapEvery: 3,
    snapKeep: 1,
  };
  const sim = new Simulator(s);
  const r = sim.run();
  assert.deepEqual(r.violations, []);
  return sim.nodes.flatMap((n) => (n.rn !== undefined ? [n.rn] : []));
}

const types = Object.values(MessageType);

const entryArb = (maxTerm: number, maxIndex: number): fc.Arbitrary<Entry> =>
  fc.record({
    term: fc.integer({ min: 0, max: maxTerm }),
    index: fc.integer({ min: 0, max: maxIndex }),
    type: fc.constantFrom(
      EntryType.EntryNormal,
      EntryType.EntryConfChange,
      EntryType.EntryConfChangeV2,
    ),
    data: fc.oneof(
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 8 }),
      fc
        .record({ type: fc.integer({ min: 0, max: 3 }), nodeId: fc.integer({ min: 0, max: 6 }) })
        .map((c) => encodeConfChange({ type: c.type as 0, nodeId: c.nodeId, id: 0 })),
    ),
  });

const snapshotArb = (maxTerm: number, maxIndex: number): fc.Arbitrary<Snapshot> =>
  fc.record({
    data: fc.constant(undefined),
    metadata: fc.record({
      index: fc.integer({ min: 0, max: maxIndex }),
      term: fc.integer({ min: 0, max: maxTerm }),
      confState: fc.record({
        voters: fc.uniqueArray(fc.integer({ min: 1, max: 5 }), { maxLength: 4 }),
        learners: fc.constant([]),
        votersOutgoing: fc.constant([]),
        learnersNext: fc.constant([]),
        autoLeave: fc.constant(false),
      }),
    }),
  });

/** messageArb builds messages around a node's current term and last index. */
function messageArb(to: number, term: number, last: number, minTerm = 0, maxTerm = term + 2) {
  return fc
    .record({
      type: fc.constantFrom(...types),
      from: fc.constantFrom(1, 2, 3, 4, 7, 0),
      term: fc.integer({ min: minTerm, max: maxTerm }),
      logTerm: fc.integer({ min: 0, max: term + 2 }),
      index: fc.integer({ min: 0, max: last + 4 }),
      commit: fc.integer({ min: 0, max: last + 4 }),
      reject: fc.boolean(),
      rejectHint: fc.integer({ min: 0, max: last + 4 }),
      entries: fc.array(entryArb(term + 2, last + 4), { maxLength: 3 }),
      snapshot: fc.option(snapshotArb(term + 2, last + 4), { nil: undefined }),
      context: fc.option(fc.uint8Array({ maxLength: 9 }), { nil: undefined }),
    })
    .map((r): Message => newMessage({ ...r, to }));
}

/** documented reports whether an exception is one that step() may throw. */
function documented(err: unknown): boolean {
  return err instanceof RaftError || err instanceof RaftPanic || err instanceof RaftpbDecodeError;
}

/** drive steps m and runs one Ready cycle, with the results raft's storage would see. */
function drive(rn: RawNode, m: Message): void {
  rn.step(m);
  if (!rn.hasReady()) return;
  const rd = rn.ready();
  const storage = rn.raft.raftLog.storage as import('../../src/raft/storage.ts').MemoryStorage;
  if (rd.snapshot !== undefined && rd.snapshot.metadata.index > 0)
    storage.applySnapshot(rd.snapshot);
  storage.append(rd.entries);
  rn.advance();
}

void test('arbitrary messages into a live member throw only documented errors', () => {
  const kinds = new Map<string, number>();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: 2 }),
      fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 8 }),
      (seed, which, msgSeeds) => {
        const nodes = liveCluster(seed % 8);
        const rn = nodes[which % nodes.length] as RawNode;
        const r = rn.raft;
        const arb = messageArb(r.id, r.term, r.raftLog.lastIndex());
        for (const s of msgSeeds) {
          const [m] = fc.sample(arb, { seed: s, numRuns: 1 }) as [Message];
          try {
            drive(rn, m);
          } catch (err) {
            if (!documented(err)) throw err;
            const name = err instanceof Error ? err.name : 'unknown';
            kinds.set(name, (kinds.get(name) ?? 0) + 1);
            if (err instanceof RaftPanic) return; // the node is no longer trustworthy
          }
        }
      },
    ),
    { numRuns: 150, seed: 1 },
  );
  assert.ok(
    (kinds.get('ErrStepLocalMsg') ?? 0) > 0,
    `the fuzzer should reach the documented errors: ${JSON.stringify([...kinds])}`,
  );
});

void test('messages from a lower term change nothing durable', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer(),
      (seed, which, s) => {
        const nodes = liveCluster(seed % 8);
        const rn = nodes[which % nodes.length] as RawNode;
        const r = rn.raft;
        fc.pre(r.term >= 2);
        const before = { hs: r.hardState(), last: r.raftLog.lastEntryID(), state: r.state };
        const msgs = fc.sample(messageArb(r.id, r.term, r.raftLog.lastIndex(), 1, r.term - 1), {
          seed: s,
          numRuns: 10,
        });
        for (const m of msgs) {
          try {
            rn.step(m);
          } catch (err) {
            if (!(err instanceof RaftError)) throw err;
          }
        }
        assert.deepEqual(r.hardState(), before.hs);
        assert.deepEqual(r.raftLog.lastEntryID(), before.last);
        assert.equal(r.state, before.state);
      },
    ),
    { numRuns: 100, seed: 2 },
  );
});

void test('old messages redelivered at any time, and cut-short appends, keep every safety property', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 100_000 }),
      fc.integer({ min: 10, max: 300 }),
      (seed, pm) => {
        const r = runSchedule(chaos(seed), { replayPm: pm });
        const v = r.violations.find((x) => !isLiveness(x.invariant));
        assert.equal(v, undefined, v === undefined ? '' : `${v.invariant}: ${v.message}`);
      },
    ),
    { numRuns: 60, seed: 3 },
  );
});
