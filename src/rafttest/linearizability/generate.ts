/**
 * Generators of key-value histories for testing the checker: linearizable ones, built by
 * running a sequential store at a hidden linearization point inside each operation's
 * interval, and the same histories with one stale read planted.
 */
import type { Prng } from '../sim/prng.ts';
import { KvOp } from './kv_model.ts';
import type { KvInput, KvOperation, KvOutput } from './kv_model.ts';

/** HistoryShape sizes a generated history. */
export interface HistoryShape {
  clients: number;
  ops: number;
  keys: number;
  /** pendingPm: per mille of writes that never return (half of them take effect). */
  pendingPm: number;
}

interface Planned {
  input: KvInput;
  call: number;
  point: number;
  ret: number;
  client: number;
  pending: boolean;
  happens: boolean;
}

function randomInput(rng: Prng, keys: number, id: number, values: string[]): KvInput {
  const key = `k${rng.int(keys)}`;
  const x = rng.int(100);
  if (x < 40) return { op: KvOp.Get, key };
  if (x < 70) return { op: KvOp.Put, key, value: `v${id}` };
  if (x < 80) return { op: KvOp.Delete, key };
  const expected = values.length > 0 && rng.chance(0.8) ? rng.pick(values) : null;
  return { op: KvOp.Cas, key, expected, value: `v${id}` };
}

/**
 * generateHistory returns a linearizable history: each client runs operations one after
 * another; every operation takes effect at a random point inside its interval, in point
 * order on one sequential store, which gives the outputs. A pending write has no return
 * and may or may not take effect.
 */
export function generateHistory(rng: Prng, shape: HistoryShape): KvOperation[] {
  const plans: Planned[] = [];
  const clock = new Array<number>(shape.clients).fill(0);
  const values: string[] = [];
  for (let id = 0; id < shape.ops; id++) {
    const client = rng.int(shape.clients);
    const call = (clock[client] as number) + rng.range(1, 10);
    const point = call + rng.range(0, 20);
    const ret = point + rng.range(0, 20);
    const input = randomInput(rng, shape.keys, id, values);
    if (input.op === KvOp.Put || input.op === KvOp.Cas) values.push(input.value);
    const pending = input.op !== KvOp.Get && rng.perMille(shape.pendingPm);
    plans.push({ input, call, point, ret, client, pending, happens: !pending || rng.chance(0.5) });
    clock[client] = ret;
  }
  const store = new Map<string, string>();
  const outputs = new Map<Planned, KvOutput>();
  for (const p of [...plans].sort((a, b) => a.point - b.point)) {
    if (p.happens) outputs.set(p, apply(store, p.input));
  }
  return plans.map((p) => ({
    clientId: p.client,
    input: p.input,
    call: p.call,
    output: p.pending ? { unknown: true } : (outputs.get(p) as KvOutput),
    return: p.pending ? Infinity : p.ret,
  }));
}

function apply(store: Map<string, string>, i: KvInput): KvOutput {
  const cur = store.get(i.key) ?? null;
  switch (i.op) {
    case KvOp.Get:
      return { value: cur };
    case KvOp.Put:
      store.set(i.key, i.value);
      return {};
    case KvOp.Delete:
      store.delete(i.key);
      return { existed: cur !== null };
    case KvOp.Cas:
      if (cur !== i.expected) return { ok: false };
      store.set(i.key, i.value);
      return { ok: true };
  }
}

/** writesValue returns the value an operation certainly wrote, if it is a completed write. */
function writtenValue(o: KvOperation): string | undefined {
  if (o.return === Infinity) return undefined;
  if (o.input.op === KvOp.Put) return o.input.value;
  if (o.input.op === KvOp.Cas && o.output.ok === true) return o.input.value;
  return undefined;
}

/**
 * plantStaleRead returns a copy of history in which one completed read returns a stale
 * value: one written by w1 where w1 returned before another completed write w2 to the same
 * key was called, and w2 returned before the read was called. Values are unique, so no
 * linearization can explain it. Returns undefined when the history has no such triple.
 */
export function plantStaleRead(
  rng: Prng,
  history: readonly KvOperation[],
): KvOperation[] | undefined {
  const cands: { read: number; stale: string }[] = [];
  history.forEach((r, ri) => {
    if (r.input.op !== KvOp.Get || r.return === Infinity) return;
    for (const w2 of history) {
      if (w2.input.key !== r.input.key || writtenValue(w2) === undefined || w2.return >= r.call)
        continue;
      for (const w1 of history) {
        const v = writtenValue(w1);
        if (v === undefined || w1.input.key !== r.input.key || w1.return >= w2.call) continue;
        if (r.output.value !== v) cands.push({ read: ri, stale: v });
      }
    }
  });
  if (cands.length === 0) return undefined;
  const c = rng.pick(cands);
  return history.map((o, i) => (i === c.read ? { ...o, output: { value: c.stale } } : o));
}
