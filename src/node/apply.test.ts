// The Applier takes snapshots in the background. A snapshot from the leader can overtake one:
// the storage holds the leader's snapshot as soon as it is saved, before the state machine has
// restored it. The background snapshot then fails with ErrSnapOutOfDate, which must not stop
// the node (the chaos test found a member that stopped on it: "requested index is older than
// the existing snapshot").
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { RawNode } from '../raft/rawnode.ts';
import { EntryType } from '../raftpb/types.ts';
import type { ConfState, Entry } from '../raftpb/types.ts';
import { Applier } from './apply.ts';
import type { ApplierHost } from './apply.ts';
import { encodeEnvelope } from './envelope.ts';
import type { StateMachine, Transport } from './interfaces.ts';
import { MemoryDurableStorage } from './memory_storage.ts';
import { PeerBook } from './peers.ts';
import { ProposalTracker } from './proposals.ts';

const cs: ConfState = {
  voters: [1, 2, 3],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

const noTransport = {
  addPeer() {},
  removePeer() {},
} as unknown as Transport;

void it('a background snapshot overtaken by the leader`s does not stop the node', async () => {
  const storage = new MemoryDurableStorage();
  const entries: Entry[] = [];
  for (let i = 1; i <= 10; i++) {
    entries.push({
      index: i,
      term: 1,
      type: EntryType.EntryNormal,
      data: encodeEnvelope({ origin: 2, session: 7, seq: i, term: 1 }, new Uint8Array([i])),
    });
  }
  await storage.save({ term: 1, vote: 1, commit: 10 }, entries, {
    metadata: { index: 0, term: 0, confState: cs },
  });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const machine: StateMachine = {
    apply: (es) => es.map(() => undefined),
    snapshot: () => new Uint8Array(),
    restore: () => undefined,
    async *snapshotChunks() {
      await gate;
      yield new Uint8Array([1, 2, 3]);
    },
  };
  const failures: unknown[] = [];
  const host: ApplierHost = {
    id: 1,
    session: 1,
    rawNode: undefined as unknown as RawNode,
    storage,
    stateMachine: machine,
    tracker: new ProposalTracker(),
    peers: new PeerBook(1, noTransport),
    snapshotInterval: 5,
    compactionMargin: 0,
    onApplied() {},
    onConfChange() {},
    onSnapshot() {},
    fail: (err) => failures.push(err),
  };
  const applier = new Applier(host, cs);
  await applier.apply(entries);
  // The snapshot at index 10 is waiting for its chunks. The leader's snapshot at 20 arrives
  // and is saved (its restore into the state machine comes later, in apply order).
  await storage.save({ term: 2, vote: 0, commit: 20 }, [], {
    metadata: { index: 20, term: 2, confState: cs },
    data: new Uint8Array([9]),
  });
  release();
  await applier.idle();
  assert.deepEqual(failures, [], 'the node was stopped');
  assert.equal(storage.snapshot().metadata.index, 20);
});
