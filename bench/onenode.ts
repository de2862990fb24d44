// one-node: proposals of 3 bytes into a single-voter Node that is leader, as etcd-raft's
// BenchmarkOneNode (../shared/ANCHORS.md). The Node runs its own Ready loop over in-memory
// storage; all N proposals are in flight at once and the op time is wall clock / N.
import { MemoryDurableStorage, MemoryNetwork, Node } from '../src/node/index.ts';
import type { Entry, StateMachine } from '../src/node/index.ts';

class Sink implements StateMachine {
  n = 0;
  apply = (entries: readonly Entry[]): unknown[] => entries.map(() => ++this.n);
  snapshot = (): Uint8Array => new Uint8Array(0);
  restore = (): void => {};
}

/** runOneNode returns ns per proposal for n proposals. */
export async function runOneNode(n: number, asyncStorageWrites: boolean): Promise<number> {
  const network = new MemoryNetwork();
  const node = await Node.start({
    id: 1,
    peers: [{ id: 1, address: 'mem://1' }],
    storage: new MemoryDurableStorage(),
    transport: network.transport(1),
    stateMachine: new Sink(),
    tickMs: 10,
    asyncStorageWrites,
    snapshotInterval: 1_000_000_000,
  });
  const signal = AbortSignal.timeout(120_000);
  await node.waitForLeader({ signal });
  const data = new Uint8Array([1, 2, 3]);
  const t0 = process.hrtime.bigint();
  const all: Promise<unknown>[] = new Array<Promise<unknown>>(n);
  for (let i = 0; i < n; i++) all[i] = node.propose(data);
  await Promise.all(all);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  await node.close();
  return ns;
}

export default async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick') || process.env['CI'] === 'true';
  const n = quick ? 20_000 : 200_000;
  for (const asyncWrites of [false, true]) {
    const ns = await runOneNode(n, asyncWrites);
    const bench = `one-node${asyncWrites ? '/async-storage-writes' : ''}`;
    if (args.includes('--json')) {
      console.log(JSON.stringify({ bench, value: Number(ns.toFixed(0)), unit: 'ns/op' }));
    } else {
      console.log(`${bench} proposals=${n} ${ns.toFixed(0)} ns/op (${Math.round(1e9 / ns)}/s)`);
    }
  }
}
