/**
 * Test support for the Node: a recording state machine, a fake-clock driver and a cluster of
 * Nodes over a MemoryNetwork. Used by the *.test.ts files of src/node; not part of the API.
 */
import { mock } from 'node:test';
import type { Entry } from '../raftpb/types.ts';
import type { StateMachine } from './interfaces.ts';
import { MemoryDurableStorage } from './memory_storage.ts';
import { MemoryNetwork } from './memory_transport.ts';
import type { MemoryTransport } from './memory_transport.ts';
import { Node } from './node.ts';
import type { NodeOptions } from './options.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** bytes encodes a string as UTF-8. */
export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

/**
 * RecordingMachine keeps every applied payload (as a string) and answers `<payload>@<index>`;
 * its snapshot is the JSON list of payloads.
 */
export class RecordingMachine implements StateMachine {
  applied: string[] = [];
  restores = 0;
  snapshots = 0;
  /** failOn makes apply() throw when it sees this payload. */
  failOn: string | undefined;

  /** apply implements StateMachine. */
  apply(entries: readonly Entry[]): unknown[] {
    return entries.map((e) => {
      const s = dec.decode(e.data);
      if (s === this.failOn) throw new Error(`apply failed on ${s}`);
      this.applied.push(s);
      return `${s}@${e.index}`;
    });
  }

  /** snapshot implements StateMachine. */
  snapshot(): Uint8Array {
    this.snapshots++;
    return enc.encode(JSON.stringify(this.applied));
  }

  /** restore implements StateMachine. */
  restore(data: Uint8Array): void {
    this.restores++;
    this.applied = data.length === 0 ? [] : (JSON.parse(dec.decode(data)) as string[]);
  }
}

/** settle lets every pending microtask and I/O callback run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * FakeClock drives node:test's mock timers one tick at a time and lets the event loop settle
 * between ticks. enable() before starting Nodes; reset() after the test.
 */
export class FakeClock {
  readonly tickMs: number;
  now = 0;

  constructor(tickMs = 10) {
    this.tickMs = tickMs;
  }

  /** enable installs the mock timers (setTimeout and setInterval). */
  enable(): void {
    mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  }

  /** reset removes the mock timers. */
  reset(): void {
    mock.timers.reset();
  }

  /** run advances time by ms, tick by tick. */
  async run(ms: number): Promise<void> {
    for (let t = 0; t < ms; t += this.tickMs) await this.step();
  }

  /** until advances time until cond() holds; throws after maxMs of fake time. */
  async until(cond: () => boolean, maxMs = 10_000, what = 'condition'): Promise<void> {
    await settle();
    for (let t = 0; !cond(); t += this.tickMs) {
      if (t >= maxMs) throw new Error(`${what} not reached after ${maxMs} ms of fake time`);
      await this.step();
    }
  }

  /** settled advances time until p settles, then returns it (so it can be awaited). */
  async settled<T>(p: Promise<T>, maxMs = 10_000): Promise<T> {
    let done = false;
    p.then(
      () => (done = true),
      () => (done = true),
    );
    await this.until(() => done, maxMs, 'promise settlement');
    return p;
  }

  private async step(): Promise<void> {
    mock.timers.tick(this.tickMs);
    this.now += this.tickMs;
    await settle();
  }
}

/** ClusterOptions are the NodeOptions a Cluster gives every node (besides its parts). */
export type ClusterOptions = Partial<
  Omit<NodeOptions, 'id' | 'storage' | 'transport' | 'stateMachine' | 'peers'>
>;

/** Cluster runs Nodes over one MemoryNetwork, each with its own storage and machine. */
export class Cluster {
  readonly net = new MemoryNetwork();
  readonly nodes = new Map<number, Node>();
  readonly storages = new Map<number, MemoryDurableStorage>();
  readonly machines = new Map<number, RecordingMachine>();
  readonly transports = new Map<number, MemoryTransport>();
  readonly ids: number[];
  readonly options: ClusterOptions;

  constructor(ids: number[], options: ClusterOptions = {}) {
    this.ids = ids;
    this.options = options;
  }

  /** peers lists ids with their addresses. */
  peers(ids: readonly number[] = this.ids): { id: number; address: string }[] {
    return ids.map((id) => ({ id, address: `mem://${id}` }));
  }

  /** start starts node id on its storage (a new one, or the given one). */
  async start(
    id: number,
    extra: Partial<NodeOptions> = {},
    storage?: MemoryDurableStorage,
  ): Promise<Node> {
    const s = storage ?? this.storages.get(id) ?? new MemoryDurableStorage();
    this.storages.set(id, s);
    const machine = new RecordingMachine();
    this.machines.set(id, machine);
    const transport = this.net.transport(id);
    this.transports.set(id, transport);
    const node = await Node.start({
      peers: this.peers(),
      ...this.options,
      ...extra,
      id,
      storage: s,
      transport,
      stateMachine: machine,
    });
    this.nodes.set(id, node);
    return node;
  }

  /** startAll starts every node of ids. */
  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
  }

  /** node returns running node id. */
  node(id: number): Node {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`node ${id} is not running`);
    return n;
  }

  /** machine returns the state machine of node id. */
  machine(id: number): RecordingMachine {
    const m = this.machines.get(id);
    if (m === undefined) throw new Error(`node ${id} has no machine`);
    return m;
  }

  /** leader returns the running node that is leader, if exactly one of them leads. */
  leader(among: readonly number[] = [...this.nodes.keys()]): Node | undefined {
    const ls = among.map((id) => this.nodes.get(id)).filter((n) => n?.isLeader === true);
    return ls.length === 1 ? ls[0] : undefined;
  }

  /** waitLeader advances the clock until one node among `among` leads and returns it. */
  async waitLeader(clock: FakeClock, among?: readonly number[]): Promise<Node> {
    await clock.until(() => this.leader(among) !== undefined, 10_000, 'a leader');
    return this.leader(among) as Node;
  }

  /** stop closes node id (its storage survives in storages, reopened by restart()). */
  async stop(id: number): Promise<void> {
    await this.node(id).close();
    this.nodes.delete(id);
    const s = this.storages.get(id);
    if (s !== undefined) this.storages.set(id, s.reopen());
  }

  /** closeAll closes every running node. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.close()));
    this.nodes.clear();
  }
}
