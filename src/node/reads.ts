import type { ReadState } from '../raft/ready.ts';
import type { Waiter } from './waiter.ts';

/** Pending is a read that has its read index and waits for the apply index to reach it. */
interface Pending {
  index: number;
  waiter: Waiter<number>;
}

/**
 * ReadIndexQueue serves linearizable reads with raft's ReadIndex (Raft thesis §6.4), after
 * etcd's linearizableReadLoop: the reads that arrive while one request is in flight share
 * the next request (never the current one, whose index may predate them), each request
 * carries a fresh 8-byte context, a request without an answer after `retryTicks` ticks is
 * sent again with a new context (raft drops requests when there is no leader), and a read
 * resolves with its index once the state machine has applied it.
 */
export class ReadIndexQueue {
  private readonly send: (rctx: Uint8Array) => void;
  private readonly retryTicks: number;
  private readonly session: number;
  private counter = 0;
  /** Reads that wait for the next request. */
  private queued: Waiter<number>[] = [];
  /** The request in flight: its context (as hex) and reads; undefined when none. */
  private inflight: { key: string; waiters: Waiter<number>[]; ticks: number } | undefined;
  /** Reads with an index, in arrival order. */
  private ready: Pending[] = [];

  /** send hands a request context to raft (RawNode.readIndex). */
  constructor(send: (rctx: Uint8Array) => void, retryTicks: number, session: number) {
    this.send = send;
    this.retryTicks = retryTicks;
    this.session = session;
  }

  /** add queues a read; call flush() to send it. */
  add(w: Waiter<number>): void {
    this.queued.push(w);
  }

  /** flush sends a request for the queued reads unless one is in flight. */
  flush(): void {
    if (this.inflight !== undefined) return;
    const waiters = this.queued.filter((w) => !w.settled);
    this.queued = [];
    if (waiters.length === 0) return;
    this.request(waiters);
  }

  private request(waiters: Waiter<number>[]): void {
    const rctx = new Uint8Array(8);
    const v = new DataView(rctx.buffer);
    v.setUint32(0, this.session);
    v.setUint32(4, ++this.counter >>> 0);
    this.inflight = { key: hex(rctx), waiters, ticks: 0 };
    this.send(rctx);
  }

  /** onReadStates takes the ReadStates of a Ready, then resolves what `applied` allows. */
  onReadStates(states: readonly ReadState[], applied: number): void {
    for (const rs of states) {
      const f = this.inflight;
      if (f === undefined || hex(rs.requestCtx) !== f.key) continue;
      this.inflight = undefined;
      for (const waiter of f.waiters) this.ready.push({ index: rs.index, waiter });
    }
    this.onApplied(applied);
    this.flush();
  }

  /** onApplied resolves the reads whose index is at most applied. */
  onApplied(applied: number): void {
    if (this.ready.length === 0) return;
    const keep: Pending[] = [];
    for (const p of this.ready) {
      if (p.waiter.settled) continue;
      if (p.index <= applied) p.waiter.resolve(p.index);
      else keep.push(p);
    }
    this.ready = keep;
  }

  /** tick counts a tick; a request unanswered for retryTicks is sent again. */
  tick(): void {
    const f = this.inflight;
    if (f === undefined || ++f.ticks < this.retryTicks) return;
    this.inflight = undefined;
    const waiters = [...f.waiters, ...this.queued].filter((w) => !w.settled);
    this.queued = [];
    if (waiters.length > 0) this.request(waiters);
  }

  /** rejectAll rejects every read with err. */
  rejectAll(err: unknown): void {
    for (const w of this.queued) w.reject(err);
    for (const w of this.inflight?.waiters ?? []) w.reject(err);
    for (const p of this.ready) p.waiter.reject(err);
    this.queued = [];
    this.inflight = undefined;
    this.ready = [];
  }
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
