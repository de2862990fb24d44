// one-node: proposals of 3 bytes into a single-voter Node that is leader, as etcd-raft's
// BenchmarkOneNode (../shared/ANCHORS.md). Go's benchmark proposes from one goroutine while
// its Ready loop appends each Ready to MemoryStorage, sleeps 1 ms and advances; it ends when
// commit reaches N+1. Here the Node runs its own Ready loop over a MemoryStorage whose
// writes take 1 ms (the sleep), while the proposer keeps proposing, yielding to the event loop
// every TURN proposals (the way Go's proposer runs beside the Ready loop). One op is one
// proposal committed and applied (its promise resolved); the figure is wall clock / N.
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { MemoryNetwork, Node } from '../src/node/index.ts';
import type { DurableStorage, Entry, StateMachine } from '../src/node/index.ts';
import { MemoryStorage } from '../src/raft/storage.ts';
import type { InitialState } from '../src/raft/storage.ts';
import type { HardState, Snapshot } from '../src/raftpb/types.ts';

/** Proposals made per turn of the event loop (they travel in one MsgProp). */
const TURN = 100;
/** The write latency of the storage: the 1 ms sleep of Go's Ready loop. */
const SYNC_MS = 1;

/** Sink is a state machine that only counts; an entry's result is its number. */
class Sink implements StateMachine {
  n = 0;
  apply = (entries: readonly Entry[]): unknown[] => entries.map(() => ++this.n);
  snapshot = (): Uint8Array => new Uint8Array(0);
  restore = (): void => {};
}

/**
 * SleepyStorage is raft's MemoryStorage (as in Go's benchmark) made a DurableStorage whose
 * writes are durable after a sync of SYNC_MS. Writes share syncs (group commit): a write
 * waits for the first sync that starts after it was made, so one write at a time (synchronous
 * storage writes) waits SYNC_MS each, as Go's Ready loop does.
 */
class SleepyStorage implements DurableStorage {
  writes = 0;
  written = 0;
  private readonly log = new MemoryStorage();
  private syncing: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  initialState = (): InitialState => this.log.initialState();
  entries = (lo: number, hi: number, max: number): Entry[] => this.log.entries(lo, hi, max);
  term = (i: number): number => this.log.term(i);
  lastIndex = (): number => this.log.lastIndex();
  firstIndex = (): number => this.log.firstIndex();
  snapshot = (): Snapshot => this.log.snapshot();

  async save(hs: HardState | undefined, ents: readonly Entry[], snap?: Snapshot): Promise<void> {
    this.writes++;
    this.written += ents.length;
    if (snap !== undefined) this.log.applySnapshot(snap);
    this.log.append(ents);
    if (hs !== undefined) this.log.setHardState(hs);
    await this.sync();
  }

  async createSnapshot(s: Snapshot): Promise<void> {
    this.log.createSnapshot(s.metadata.index, s.metadata.confState, s.data);
    await this.sync();
  }

  async compactTo(index: number): Promise<void> {
    this.log.compact(index);
    await this.sync();
  }

  close = (): Promise<void> => Promise.resolve();

  private sync(): Promise<void> {
    if (this.syncing === undefined) {
      this.syncing = sleep(SYNC_MS).then(() => void (this.syncing = undefined));
      return this.syncing;
    }
    this.next ??= this.syncing.then(() => {
      this.next = undefined;
      return this.sync();
    });
    return this.next;
  }
}

/**
 * Outcomes waits for n proposals the way n clients would, each observing its own result
 * (and nothing kept once it is known); `all` resolves with the first failure, if any.
 */
class Outcomes {
  readonly all: Promise<unknown>;
  private left: number;
  private failure: unknown;
  private done!: (failure: unknown) => void;

  constructor(n: number) {
    this.left = n;
    this.all = new Promise<unknown>((r) => (this.done = r));
  }

  watch(p: Promise<unknown>): void {
    p.then(this.settle, this.fail);
  }

  private readonly settle = (): void => {
    if (--this.left === 0) this.done(this.failure);
  };

  private readonly fail = (err: unknown): void => {
    this.failure ??= err;
    this.settle();
  };
}

/** OneNodeResult is one run's ns per proposal and the mean entries per storage write. */
export interface OneNodeResult {
  nsPerOp: number;
  entriesPerWrite: number;
}

/** runOneNode proposes n entries into a single-voter leader and times them. */
export async function runOneNode(n: number, asyncStorageWrites: boolean): Promise<OneNodeResult> {
  const storage = new SleepyStorage();
  const node = await Node.start({
    id: 1,
    peers: [{ id: 1, address: 'mem://1' }],
    storage,
    transport: new MemoryNetwork().transport(1),
    stateMachine: new Sink(),
    tickMs: 10,
    asyncStorageWrites,
    snapshotInterval: 1_000_000_000,
  });
  await node.waitForLeader({ signal: AbortSignal.timeout(120_000) });
  const [writes, written] = [storage.writes, storage.written];
  const data = new Uint8Array([1, 2, 3]);
  const outcomes = new Outcomes(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n;) {
    for (const end = Math.min(n, i + TURN); i < end; i++) outcomes.watch(node.propose(data));
    await nextTurn();
  }
  const failure = await outcomes.all;
  if (failure !== undefined) throw new Error('one-node: a proposal failed', { cause: failure });
  const nsPerOp = Number(process.hrtime.bigint() - t0) / n;
  const entriesPerWrite = (storage.written - written) / (storage.writes - writes);
  await node.close();
  return { nsPerOp, entriesPerWrite };
}

export default async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick') || process.env['CI'] === 'true';
  const n = quick ? 20_000 : 200_000;
  for (const asyncWrites of [false, true]) {
    const { nsPerOp: ns, entriesPerWrite } = await runOneNode(n, asyncWrites);
    const bench = `one-node${asyncWrites ? '/async-storage-writes' : ''}`;
    if (args.includes('--json')) {
      console.log(JSON.stringify({ bench, value: Number(ns.toFixed(0)), unit: 'ns/op' }));
    } else {
      const per = entriesPerWrite.toFixed(0);
      console.log(
        `${bench} proposals=${n} ${ns.toFixed(0)} ns/op (${Math.round(1e9 / ns)}/s, ${per} entries/write)`,
      );
    }
  }
}
