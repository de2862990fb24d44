/**
 * The key-value model for the linearizability checker: get, put, delete and compare-and-swap
 * on string keys, checked one key at a time (a key-value store is linearizable iff each key,
 * seen as a register, is: Herlihy and Wing's locality, Lowe's P-compositionality).
 */
import { Hash53 } from '../sim/prng.ts';
import type { Model, Operation } from './checker.ts';

/** KvOp names the operations of the model. */
export const KvOp = { Get: 'get', Put: 'put', Delete: 'delete', Cas: 'cas' } as const;
/** KvOp is the name of one operation. */
export type KvOp = (typeof KvOp)[keyof typeof KvOp];

/** KvInput is an operation's request. `null` stands for "no value" (key absent). */
export type KvInput =
  | { op: typeof KvOp.Get; key: string }
  | { op: typeof KvOp.Put; key: string; value: string }
  | { op: typeof KvOp.Delete; key: string }
  | { op: typeof KvOp.Cas; key: string; expected: string | null; value: string };

/**
 * KvOutput is an operation's response: `unknown` when it never came back (the operation may
 * or may not have happened); otherwise `value` for get, `existed` for delete, `ok` for cas,
 * nothing for put.
 */
export interface KvOutput {
  unknown?: boolean;
  value?: string | null;
  existed?: boolean;
  ok?: boolean;
}

/** KvOperation is one operation of a key-value history. */
export type KvOperation = Operation<KvInput, KvOutput>;

/** KvState is the value of the one key of a partition, or null if absent. */
export type KvState = string | null;

function hashState(s: KvState): number {
  return s === null ? 0 : new Hash53().addString(s).value() % 0x7fffffff;
}

/** kvStep is the sequential specification of one operation on one key. */
function kvStep(state: KvState, input: KvInput, output: KvOutput): { ok: boolean; state: KvState } {
  const unknown = output.unknown === true;
  switch (input.op) {
    case KvOp.Get:
      return { ok: unknown || output.value === state, state };
    case KvOp.Put:
      return { ok: true, state: input.value };
    case KvOp.Delete:
      return { ok: unknown || output.existed === (state !== null), state: null };
    case KvOp.Cas: {
      const swap = state === input.expected;
      return { ok: unknown || output.ok === swap, state: swap ? input.value : state };
    }
  }
}

/** partitionByKey splits a history into one history per key, in order of first appearance. */
export function partitionByKey(history: readonly KvOperation[]): KvOperation[][] {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    let list = byKey.get(op.input.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.input.key, list);
    }
    list.push(op);
  }
  return [...byKey.values()];
}

/** describeKv prints one operation, e.g. `cas(a, v1 -> v7) = true`. */
export function describeKv(input: KvInput, output: KvOutput): string {
  const show = (v: string | null | undefined): string => (v === null || v === undefined ? '∅' : v);
  const res = (s: string): string => (output.unknown === true ? ' = ?' : ` = ${s}`);
  switch (input.op) {
    case KvOp.Get:
      return `get(${input.key})${res(show(output.value))}`;
    case KvOp.Put:
      return `put(${input.key}, ${input.value})${output.unknown === true ? ' ?' : ''}`;
    case KvOp.Delete:
      return `delete(${input.key})${res(String(output.existed))}`;
    case KvOp.Cas:
      return `cas(${input.key}, ${show(input.expected)} -> ${input.value})${res(String(output.ok))}`;
  }
}

/** kvModel is the key-value Model, partitioned per key; every key starts absent. */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => null,
  step: kvStep,
  equal: (a, b) => a === b,
  hash: hashState,
  partition: partitionByKey,
  describeOperation: describeKv,
};
