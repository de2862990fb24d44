// One member of the 3-process cluster of test/transport_cluster.test.ts: a Node over the TCP
// transport on 127.0.0.1, with in-memory storage and a state machine that records the
// applied values. It speaks JSON lines: commands on stdin, answers on stdout.
//
// Usage: node --import tsx test/transport_cluster_member.ts <id> <port1,port2,port3>
import { createInterface } from 'node:readline';

import { MemoryDurableStorage, Node } from '../src/node/index.ts';
import type { Entry, StateMachine } from '../src/node/index.ts';
import { TcpTransport } from '../src/transport/index.ts';

const CLUSTER = 42;
const [idArg, portsArg] = process.argv.slice(2);
const id = Number(idArg);
const ports = (portsArg ?? '').split(',').map(Number);
const peers = ports.map((port, i) => ({ id: i + 1, address: `127.0.0.1:${port}` }));

/** Log keeps every applied value in order; an entry's result is the log length. */
class Log implements StateMachine {
  values: string[] = [];
  apply = (entries: readonly Entry[]): number[] =>
    entries.map((e) => this.values.push(new TextDecoder().decode(e.data)));
  snapshot = (): Uint8Array => new TextEncoder().encode(JSON.stringify(this.values));
  restore = (data: Uint8Array): void => {
    this.values = JSON.parse(new TextDecoder().decode(data)) as string[];
  };
}

const log = new Log();
const transport = new TcpTransport({
  id,
  clusterId: CLUSTER,
  listen: peers[id - 1]!.address,
  backoff: { initialMs: 20, maxMs: 200 },
});
const node = await Node.start({
  id,
  peers,
  tickMs: 20,
  storage: new MemoryDurableStorage(),
  transport,
  stateMachine: log,
});

const reply = (x: object): void => void process.stdout.write(`${JSON.stringify(x)}\n`);
reply({ ready: id });
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { seq: number; op: string; value?: string };
  if (cmd.op === 'status') {
    reply({ seq: cmd.seq, leader: node.leader, values: log.values });
  } else if (cmd.op === 'propose') {
    node.propose(new TextEncoder().encode(cmd.value), { signal: AbortSignal.timeout(5000) }).then(
      (result) => reply({ seq: cmd.seq, result }),
      (err: unknown) => reply({ seq: cmd.seq, error: String(err) }),
    );
  }
}
await node.close();
