/**
 * The chaos workload: closed-loop clients over a few keys, each operation recorded with its
 * call and return times for the linearizability checker. Values are unique ("c3-41": client
 * 3's 41st write), so a read names the write it saw.
 *
 * Operations: get (gRPC Range or JSON GET, linearizable), put (gRPC Put or JSON PUT) and
 * compare-and-swap (a gRPC Txn: if the value is what this client last saw, or the key is
 * absent, put). A read that fails is left out of the history (it changed nothing); a write
 * that fails or times out may or may not have happened, so it is recorded without a return
 * (Infinity), which the checker may place anywhere after its call or nowhere.
 */
import { KvOp } from '../../src/rafttest/linearizability/kv_model.ts';
import type {
  KvInput,
  KvOperation,
  KvOutput,
} from '../../src/rafttest/linearizability/kv_model.ts';
import { Prng } from '../../src/rafttest/sim/prng.ts';
import { Api } from './client.ts';
import type { Api as ApiT } from './client.ts';
import type { ChaosCluster, Member } from './cluster.ts';

/** AckedWrite is a write a client saw acknowledged, with the revision it was applied at. */
export interface AckedWrite {
  key: string;
  value: string;
  revision: number;
}

/** WorkloadOptions configure a Workload. */
export interface WorkloadOptions {
  clients: number;
  keys: number;
  seed: number;
  /** timeoutMs bounds each request. */
  timeoutMs: number;
  /**
   * staleReads makes gets serializable (served from the member's own state, maybe stale):
   * a check of the checker, which must then find violations.
   */
  staleReads?: boolean;
}

/** WorkloadStats count what the clients did. */
export interface WorkloadStats {
  ops: number;
  reads: number;
  readsFailed: number;
  writesAcked: number;
  writesUnknown: number;
  casFailed: number;
}

/** keyName is the name of workload key i. */
export function keyName(i: number): string {
  return `chaos/k${i}`;
}

/** Workload runs the clients until stop(); see the file comment. */
export class Workload {
  readonly history: KvOperation[] = [];
  readonly acked: AckedWrite[] = [];
  readonly stats: WorkloadStats = {
    ops: 0,
    reads: 0,
    readsFailed: 0,
    writesAcked: 0,
    writesUnknown: 0,
    casFailed: 0,
  };
  readonly #cluster: ChaosCluster;
  readonly #o: WorkloadOptions;
  readonly #t0: number;
  #stopping = false;
  #loops: Promise<void>[] = [];

  constructor(cluster: ChaosCluster, o: WorkloadOptions, t0: number) {
    this.#cluster = cluster;
    this.#o = o;
    this.#t0 = t0;
  }

  /** start starts the clients. */
  start(): void {
    for (let c = 0; c < this.#o.clients; c++) this.#loops.push(this.#client(c));
  }

  /** stop asks the clients to finish their current operation and waits for them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#loops);
  }

  /** now is the time since the run started, in milliseconds (one clock for every client). */
  now(): number {
    return performance.now() - this.#t0;
  }

  /** record adds an operation to the history. */
  record(client: number, input: KvInput, output: KvOutput, call: number, ret: number): void {
    this.history.push({ clientId: client, input, output, call, return: ret });
  }

  #pickMember(rng: Prng, preferred: number): Member | undefined {
    const current = this.#cluster.current().filter((m) => m.state !== 'down');
    if (current.length === 0) return undefined;
    return current[preferred % current.length] ?? current[rng.int(current.length)];
  }

  async #client(c: number): Promise<void> {
    const rng = new Prng(this.#o.seed * 1000 + c);
    const lastSeen = new Map<string, string | null>();
    let preferred = c;
    let seq = 0;
    while (!this.#stopping) {
      const m = this.#pickMember(rng, preferred);
      if (m === undefined) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const key = keyName(rng.int(this.#o.keys));
      const api: ApiT = rng.chance(0.5) ? Api.Grpc : Api.Http;
      const x = rng.int(100);
      let ok: boolean;
      if (x < 40) ok = await this.#get(c, m, key, api, lastSeen);
      else {
        const value = `c${c}-${++seq}`;
        if (x < 70) ok = await this.#put(c, m, key, value, api, lastSeen);
        else {
          const expected = lastSeen.get(key) ?? null;
          ok = await this.#cas(c, m, key, expected, value, lastSeen);
        }
      }
      // After a failure, try another member: this one may be down, paused or cut off.
      if (!ok) preferred = rng.int(1000);
    }
  }

  async #get(
    c: number,
    m: Member,
    key: string,
    api: ApiT,
    lastSeen: Map<string, string | null>,
  ): Promise<boolean> {
    const call = this.now();
    this.stats.ops++;
    this.stats.reads++;
    try {
      const r = await m.client.get(key, api, this.#o.timeoutMs, this.#o.staleReads === true);
      this.record(c, { op: KvOp.Get, key }, { value: r.value }, call, this.now());
      lastSeen.set(key, r.value);
      return true;
    } catch {
      this.stats.readsFailed++;
      return false;
    }
  }

  async #put(
    c: number,
    m: Member,
    key: string,
    value: string,
    api: ApiT,
    lastSeen: Map<string, string | null>,
  ): Promise<boolean> {
    const call = this.now();
    this.stats.ops++;
    try {
      const revision = await m.client.put(key, value, api, this.#o.timeoutMs);
      this.record(c, { op: KvOp.Put, key, value }, {}, call, this.now());
      this.acked.push({ key, value, revision });
      this.stats.writesAcked++;
      lastSeen.set(key, value);
      return true;
    } catch {
      this.record(c, { op: KvOp.Put, key, value }, { unknown: true }, call, Infinity);
      this.stats.writesUnknown++;
      lastSeen.delete(key);
      return false;
    }
  }

  async #cas(
    c: number,
    m: Member,
    key: string,
    expected: string | null,
    value: string,
    lastSeen: Map<string, string | null>,
  ): Promise<boolean> {
    const call = this.now();
    const input: KvInput = { op: KvOp.Cas, key, expected, value };
    this.stats.ops++;
    try {
      const r = await m.client.cas(key, expected, value, this.#o.timeoutMs);
      this.record(c, input, { ok: r.succeeded }, call, this.now());
      if (r.succeeded) {
        this.acked.push({ key, value, revision: r.revision });
        this.stats.writesAcked++;
        lastSeen.set(key, value);
      } else {
        this.stats.casFailed++;
        lastSeen.delete(key);
      }
      return true;
    } catch {
      this.record(c, input, { unknown: true }, call, Infinity);
      this.stats.writesUnknown++;
      lastSeen.delete(key);
      return false;
    }
  }
}
