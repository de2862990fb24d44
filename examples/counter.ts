// A replicated counter: three Nodes in one process over the in-memory network.
import { fileURLToPath } from 'node:url';
import { MemoryDurableStorage, MemoryNetwork, Node } from '../src/node/index.ts';
import type { Entry, StateMachine } from '../src/node/index.ts';

const [enc, dec] = [new TextEncoder(), new TextDecoder()];

/** Counter adds the number in each entry to its value; an entry's result is the new value. */
class Counter implements StateMachine {
  value = 0;
  apply = (entries: readonly Entry[]): number[] =>
    entries.map((e) => (this.value += Number(dec.decode(e.data))));
  snapshot = (): Uint8Array => enc.encode(String(this.value));
  restore = (data: Uint8Array): void => void (this.value = Number(dec.decode(data)));
}

/** main adds 1, 2 and 39 through three different nodes and returns every replica's value. */
export async function main(): Promise<number[]> {
  const network = new MemoryNetwork(); // a TCP transport takes its place across processes
  const peers = [1, 2, 3].map((id) => ({ id, address: `mem://${id}` }));
  const counters = peers.map(() => new Counter());
  const nodes = await Promise.all(
    counters.map((stateMachine, i) => {
      const [id, storage] = [i + 1, new MemoryDurableStorage()];
      const transport = network.transport(id);
      return Node.start({ id, peers, tickMs: 10, storage, transport, stateMachine });
    }),
  );
  const signal = AbortSignal.timeout(10_000);
  for (const [i, n] of [1, 2, 39].entries()) {
    // Node i + 1 forwards to the leader; the promise resolves with the new value: 1, 3, 42.
    console.log(await nodes[i]?.propose(enc.encode(String(n)), { signal }));
  }
  await Promise.all(nodes.map((node) => node.read({ signal }))); // linearizable: all writes applied
  await Promise.all(nodes.map((node) => node.close()));
  return counters.map((c) => c.value);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(await main());
