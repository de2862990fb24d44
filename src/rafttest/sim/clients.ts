/**
 * The simulated clients: they send writes through proposals and reads through ReadIndex,
 * and record every operation, with its call and return times, in a history for the
 * linearizability checker.
 *
 * There are CLIENTS closed-loop clients, as in Jepsen and the 6.824 labs: each has at most
 * one operation outstanding, and gives up on it after CLIENT_TIMEOUT_MS (or when the node
 * it talks to crashes). That bounds the concurrency of the history, which is what keeps
 * the linearizability search small.
 *
 * A write is acknowledged when the node it was proposed to applies it (as etcd answers a
 * request). A write the client gave up on may or may not have happened; once the cluster
 * has converged its fate is known (see finish). A read is answered when its ReadState's
 * index has been applied on the node that asked, from that node's state machine.
 */
import type { ReadState } from '../../raft/ready.ts';
import { KvOp } from '../linearizability/kv_model.ts';
import type { KvInput, KvOperation } from '../linearizability/kv_model.ts';
import type { SafetyChecker } from './invariants.ts';
import { Invariant } from './invariants.ts';
import type { KvCommand } from './kv.ts';
import type { SimNode } from './node.ts';

/** CLIENTS is the number of concurrent clients. */
export const CLIENTS = 6;
/** CLIENT_TIMEOUT_MS is how long a client waits for an answer before it moves on. */
export const CLIENT_TIMEOUT_MS = 1000;

interface PendingWrite {
  op: KvOperation;
  client: number;
  node: number;
  incarnation: number;
}

interface PendingRead {
  key: string;
  call: number;
  client: number;
  node: number;
  incarnation: number;
  /** mustSee is the highest log index of a write acknowledged before the read started. */
  mustSee: number;
  /** index is the ReadState's index, once known. */
  index: number;
}

/** Outstanding is what a busy client waits for, since when (ms). */
interface Outstanding {
  write: number | undefined;
  read: string | undefined;
  since: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** ClientStats counts what the clients did. */
export interface ClientStats {
  writes: number;
  acked: number;
  reads: number;
  served: number;
  timeouts: number;
}

/** Clients issues operations and keeps their history; see the file comment. */
export class Clients {
  readonly history: KvOperation[] = [];
  readonly stats: ClientStats = { writes: 0, acked: 0, reads: 0, served: 0, timeouts: 0 };
  /** maxAckedIndex is the highest log index of any acknowledged write. */
  maxAckedIndex = 0;
  private clock = 0;
  private nextId = 1;
  private readonly busy = new Map<number, Outstanding>();
  private readonly writes = new Map<number, PendingWrite>();
  private readonly acked = new Set<number>();
  /** firstApplied is the history time at which any node first applied a command. */
  private readonly firstApplied = new Map<number, number>();
  private readonly reads = new Map<string, PendingRead>();
  /** lastKnown is the last value the clients saw for each key, for CAS expectations. */
  private readonly lastKnown = new Map<string, string | null>();
  private readonly checker: SafetyChecker;
  private readonly now: () => number;

  /** Clients records into checker's violations; now is the simulated time in ms. */
  constructor(checker: SafetyChecker, now: () => number) {
    this.checker = checker;
    this.now = now;
  }

  /**
   * tick returns the next history time: simulated ms × 1000 plus a counter, so that every
   * call and return gets its own instant, in the order they happen, readable as ms.
   */
  private tick(): number {
    this.clock = Math.max(this.clock + 1, this.now() * 1000);
    return this.clock;
  }

  /** available reports whether a client can start an operation (giving up a stale one). */
  available(client: number): boolean {
    const o = this.busy.get(client);
    if (o === undefined) return true;
    if (this.now() - o.since < CLIENT_TIMEOUT_MS) return false;
    if (o.read !== undefined) this.reads.delete(o.read);
    this.busy.delete(client);
    this.stats.timeouts++;
    return true;
  }

  private release(client: number): void {
    this.busy.delete(client);
  }

  /** writeInput builds the input of a new write of the given kind on key. */
  writeInput(kind: 'put' | 'delete' | 'cas', key: string): KvCommand {
    const id = this.nextId++;
    const value = `v${id}`;
    let input: KvInput;
    if (kind === 'put') input = { op: KvOp.Put, key, value };
    else if (kind === 'delete') input = { op: KvOp.Delete, key };
    else input = { op: KvOp.Cas, key, expected: this.lastKnown.get(key) ?? null, value };
    return { id, input };
  }

  /** beginWrite records the call of a write proposed (and accepted) at node by client. */
  beginWrite(cmd: KvCommand, node: SimNode, client: number, call: number): void {
    const op: KvOperation = {
      clientId: client,
      input: cmd.input,
      call,
      output: { unknown: true },
      return: Infinity,
    };
    this.history.push(op);
    this.writes.set(cmd.id, { op, client, node: node.id, incarnation: node.incarnation });
    this.busy.set(client, { write: cmd.id, read: undefined, since: this.now() });
    this.stats.writes++;
  }

  /** callTime returns the history time of a call about to be made. */
  callTime(): number {
    return this.tick();
  }

  /** onCommand acknowledges a write when the node it was proposed to applies it. */
  onCommand(node: SimNode, cmd: KvCommand, index: number): void {
    if (!this.firstApplied.has(cmd.id)) this.firstApplied.set(cmd.id, this.tick());
    const w = this.writes.get(cmd.id);
    if (w === undefined || w.node !== node.id || w.incarnation !== node.incarnation) return;
    const out = node.sm.result(cmd.id);
    if (out === undefined) return;
    this.writes.delete(cmd.id);
    if (this.busy.get(w.client)?.write === cmd.id) this.release(w.client);
    w.op.output = out;
    // The write took effect when it was committed, before anyone applied it: the first
    // application is a valid (and the tightest known) response time.
    w.op.return = this.firstApplied.get(cmd.id) ?? this.tick();
    this.acked.add(cmd.id);
    this.stats.acked++;
    this.maxAckedIndex = Math.max(this.maxAckedIndex, index);
    const i = cmd.input;
    if (i.op === KvOp.Put || (i.op === KvOp.Cas && out.ok === true))
      this.lastKnown.set(i.key, i.value);
    else if (i.op === KvOp.Delete) this.lastKnown.set(i.key, null);
  }

  /** beginRead starts a ReadIndex read of key at node and returns its request context. */
  beginRead(node: SimNode, key: string, client: number): Uint8Array {
    const ctx = `r${this.nextId++}`;
    this.reads.set(ctx, {
      key,
      call: this.tick(),
      client,
      node: node.id,
      incarnation: node.incarnation,
      mustSee: this.maxAckedIndex,
      index: 0,
    });
    this.busy.set(client, { write: undefined, read: ctx, since: this.now() });
    this.stats.reads++;
    return enc.encode(ctx);
  }

  /** onReadState takes a ReadState: checks its index, and serves the read if it can. */
  onReadState(node: SimNode, rs: ReadState): void {
    const ctx = dec.decode(rs.requestCtx);
    const r = this.reads.get(ctx);
    if (r === undefined || r.node !== node.id || r.incarnation !== node.incarnation) return;
    if (r.index !== 0) return;
    if (rs.index < r.mustSee) {
      this.checker.fail(
        Invariant.StaleRead,
        `read ${ctx} of ${r.key} on node ${node.id} got read index ${rs.index}, but a write at index ${r.mustSee} was acknowledged before it started`,
        node.id,
      );
    }
    r.index = rs.index;
    this.serve(node, ctx, r);
  }

  /** onApplied serves the reads of node whose index is applied now. */
  onApplied(node: SimNode): void {
    for (const [ctx, r] of this.reads) {
      if (r.node === node.id && r.index !== 0) this.serve(node, ctx, r);
    }
  }

  private serve(node: SimNode, ctx: string, r: PendingRead): void {
    if (node.sm.index < r.index || r.incarnation !== node.incarnation) return;
    this.reads.delete(ctx);
    if (this.busy.get(r.client)?.read === ctx) this.release(r.client);
    const value = node.sm.get(r.key);
    this.history.push({
      clientId: r.client,
      input: { op: KvOp.Get, key: r.key },
      call: r.call,
      output: { value },
      return: this.tick(),
    });
    this.lastKnown.set(r.key, value);
    this.stats.served++;
  }

  /** onCrash: the clients talking to a node that crashed lose their answers and move on. */
  onCrash(node: SimNode): void {
    for (const [ctx, r] of this.reads) {
      if (r.node !== node.id) continue;
      this.reads.delete(ctx);
      if (this.busy.get(r.client)?.read === ctx) this.release(r.client);
    }
    for (const [id, w] of this.writes) {
      if (w.node === node.id && this.busy.get(w.client)?.write === id) this.release(w.client);
    }
  }

  /**
   * finish settles the writes that were never acknowledged, appends a final read of every
   * key from the converged state, and checks that every acknowledged write is in it.
   *
   * Once the members have converged, the fate of every write is known: one that the final
   * state never applied did not happen (it is dropped from the history); one it applied took
   * effect, with the result it had, at the latest when some node first applied it (that
   * becomes its return time).
   */
  finish(final: SimNode): void {
    this.settleWrites(final);
    const keys = new Set(this.history.map((o) => o.input.key));
    for (const key of [...keys].sort()) {
      const call = this.tick();
      this.history.push({
        input: { op: KvOp.Get, key },
        call,
        output: { value: final.sm.get(key) },
        return: this.tick(),
      });
    }
    for (const id of this.acked) {
      if (final.sm.result(id) === undefined) {
        this.checker.fail(
          Invariant.AckedWriteLost,
          `acknowledged write ${id} is not in the final state of node ${final.id}`,
          final.id,
        );
        return;
      }
    }
  }

  private settleWrites(final: SimNode): void {
    const dropped = new Set<KvOperation>();
    for (const [id, w] of this.writes) {
      const out = final.sm.result(id);
      const at = this.firstApplied.get(id);
      if (out === undefined || at === undefined) dropped.add(w.op);
      else {
        w.op.output = out;
        w.op.return = Math.max(at, w.op.call);
      }
    }
    this.writes.clear();
    if (dropped.size === 0) return;
    const kept = this.history.filter((o) => !dropped.has(o));
    this.history.length = 0;
    this.history.push(...kept);
  }
}
