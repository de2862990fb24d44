/**
 * A linearizability checker for histories of operations on a sequential model, written from
 * the published algorithm the way porcupine implements it:
 *
 * - Wing and Gong's search (J. Parallel Distrib. Comput. 17, 1993): walk the history in
 *   time order, try to linearize each pending call whose effect the model accepts, and
 *   backtrack when a return is reached whose call was not linearized yet.
 * - Lowe's improvements ("Testing for linearizability", Concurrency Computat.: Pract.
 *   Exper. 29, 2017): memoize every (set of linearized operations, model state) pair seen,
 *   so that no configuration is explored twice, and check the history in independent
 *   partitions (P-compositionality: for a key-value store, one partition per key).
 *
 * An operation that never returned (return === Infinity) may or may not have taken effect:
 * the search may place it anywhere after its call, including after everything else, which is
 * the same as "it did not happen". A check that runs out of time or steps reports
 * CheckResult.Unknown, which callers must treat as a failure, never as a pass.
 */

/** Operation is one client call: its input, its output, and when it was called and returned. */
export interface Operation<I, O> {
  /** clientId is informational (for reports). */
  clientId?: number;
  input: I;
  /** call is the time of the invocation. */
  call: number;
  output: O;
  /** return is the time of the response; Infinity if the operation never returned. */
  return: number;
}

/** StepResult is what Model.step answers: whether the operation is legal, and the new state. */
export interface StepResult<S> {
  ok: boolean;
  state: S;
}

/** Model is the sequential specification that a concurrent history is checked against. */
export interface Model<S, I, O> {
  /** init returns the initial state. */
  init(): S;
  /**
   * step applies input to state; ok is false when output is not what the sequential object
   * would have answered. It must not modify state.
   */
  step(state: S, input: I, output: O): StepResult<S>;
  /** equal compares two states. */
  equal(a: S, b: S): boolean;
  /** hash returns a number that is equal for equal states (used by the memo cache). */
  hash(state: S): number;
  /** partition splits a history into independently checkable parts; default: one part. */
  partition?(history: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** describeOperation prints one operation for reports. */
  describeOperation?(input: I, output: O): string;
}

/** CheckResult is the verdict of a check. */
export const CheckResult = {
  /** Ok: a linearization was found for every partition. */
  Ok: 'ok',
  /** Illegal: some partition has no linearization. */
  Illegal: 'illegal',
  /** Unknown: the check ran out of time or steps; count it as a failure. */
  Unknown: 'unknown',
} as const;
/** CheckResult is the verdict string of a check. */
export type CheckResult = (typeof CheckResult)[keyof typeof CheckResult];

/** CheckOptions bound the work of a check. */
export interface CheckOptions {
  /** timeoutMs bounds the wall time of the whole check; default 10,000. */
  timeoutMs?: number;
  /** maxSteps bounds the search steps of the whole check; default 50 million. */
  maxSteps?: number;
  /** now returns a time in milliseconds; default performance.now. */
  now?: () => number;
}

/** PartitionReport is the outcome for one partition of the history. */
export interface PartitionReport<I, O> {
  result: CheckResult;
  operations: Operation<I, O>[];
  /**
   * longest is the longest linearizable prefix found, as indexes into operations, in
   * linearization order; for an Ok partition it is a complete linearization.
   */
  longest: number[];
  steps: number;
}

/** CheckReport is the outcome of a check. */
export interface CheckReport<I, O> {
  result: CheckResult;
  partitions: PartitionReport<I, O>[];
  steps: number;
}

/** Budget is the shared step and time allowance of one check. */
interface Budget {
  steps: number;
  readonly maxSteps: number;
  readonly deadline: number;
  readonly now: () => number;
}

/**
 * checkOperations checks that history is linearizable with respect to model. It throws a
 * RangeError for an operation that returns before it is called.
 */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckReport<I, O> {
  for (const op of history) {
    if (!(op.call <= op.return)) {
      throw new RangeError(
        `Cannot check history: operation returns (${op.return}) before its call (${op.call})`,
      );
    }
  }
  const now = options.now ?? (() => performance.now());
  const budget: Budget = {
    steps: 0,
    maxSteps: options.maxSteps ?? 50_000_000,
    deadline: now() + (options.timeoutMs ?? 10_000),
    now,
  };
  const parts = model.partition !== undefined ? model.partition(history) : [history.slice()];
  const partitions: PartitionReport<I, O>[] = [];
  let result: CheckResult = CheckResult.Ok;
  for (const ops of parts) {
    const before = budget.steps;
    const single = checkSingle(model, ops, budget);
    partitions.push({ ...single, operations: ops, steps: budget.steps - before });
    if (single.result === CheckResult.Illegal) result = CheckResult.Illegal;
    else if (single.result === CheckResult.Unknown && result === CheckResult.Ok) {
      result = CheckResult.Unknown;
    }
  }
  return { result, partitions, steps: budget.steps };
}

/**
 * EntryList is the history of one partition as a doubly linked list of call and return
 * entries in time order. Node 0 is the head sentinel; entry k is node k + 1.
 */
class EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** op is the operation index of a node. */
  readonly op: Int32Array;
  /** match is, for a call node, its return node; -1 for return nodes. */
  readonly match: Int32Array;

  constructor(ops: readonly Operation<unknown, unknown>[]) {
    const n = ops.length;
    const order: { t: number; ret: number; op: number }[] = [];
    for (let i = 0; i < n; i++) {
      const o = ops[i] as Operation<unknown, unknown>;
      order.push({ t: o.call, ret: 0, op: i }, { t: o.return, ret: 1, op: i });
    }
    // Time order; at equal times calls come first, so equal stamps count as concurrent.
    order.sort((a, b) => a.t - b.t || a.ret - b.ret || a.op - b.op);
    const size = 2 * n + 1;
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.op = new Int32Array(size).fill(-1);
    this.match = new Int32Array(size).fill(-1);
    const retNode = new Int32Array(n);
    order.forEach((e, k) => {
      this.op[k + 1] = e.op;
      if (e.ret === 1) retNode[e.op] = k + 1;
    });
    order.forEach((e, k) => {
      if (e.ret === 0) this.match[k + 1] = retNode[e.op] as number;
    });
    for (let k = 0; k < size; k++) {
      this.next[k] = k + 1 < size ? k + 1 : -1;
      this.prev[k] = k - 1;
    }
  }

  /** lift removes a call node and its return node from the list. */
  lift(call: number): void {
    this.unlink(call);
    this.unlink(this.match[call] as number);
  }

  /** unlift puts back what lift(call) removed (in reverse order). */
  unlift(call: number): void {
    this.relink(this.match[call] as number);
    this.relink(call);
  }

  private unlink(k: number): void {
    const p = this.prev[k] as number;
    const nx = this.next[k] as number;
    this.next[p] = nx;
    if (nx !== -1) this.prev[nx] = p;
  }

  private relink(k: number): void {
    const p = this.prev[k] as number;
    const nx = this.next[k] as number;
    this.next[p] = k;
    if (nx !== -1) this.prev[nx] = k;
  }
}

/** Bitset is a fixed-size set of operation indexes. */
class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(n / 32)));
  }
  set(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) | (1 << (i & 31));
  }
  clear(i: number): void {
    this.words[i >>> 5] = (this.words[i >>> 5] as number) & ~(1 << (i & 31));
  }
  hashWith(i: number, stateHash: number): number {
    let h = stateHash | 0;
    const w = this.words;
    for (let k = 0; k < w.length; k++) {
      let v = w[k] as number;
      if (k === i >>> 5) v |= 1 << (i & 31);
      h = Math.imul(h ^ v, 0x01000193) + k;
    }
    return h | 0;
  }
  equalsWith(other: Uint32Array, i: number): boolean {
    const w = this.words;
    for (let k = 0; k < w.length; k++) {
      let v = w[k] as number;
      if (k === i >>> 5) v |= 1 << (i & 31);
      if (v >>> 0 !== (other[k] as number)) return false;
    }
    return true;
  }
  copyWith(i: number): Uint32Array {
    const c = this.words.slice();
    c[i >>> 5] = (c[i >>> 5] as number) | (1 << (i & 31));
    return c;
  }
}

interface SingleResult {
  result: CheckResult;
  longest: number[];
}

/**
 * checkSingle searches one partition (porcupine's checkSingle). The stack holds the calls
 * linearized so far with the state before each; the cache holds every (linearized set, state)
 * reached, so a configuration is never explored twice.
 */
function checkSingle<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: Budget,
): SingleResult {
  const list = new EntryList(ops);
  const linearized = new Bitset(ops.length);
  const cache = new Map<number, { bits: Uint32Array; state: S }[]>();
  const stackNode: number[] = [];
  const stackState: S[] = [];
  let longest: number[] = [];
  let state = model.init();
  let entry = list.next[0] as number;
  while (list.next[0] !== -1) {
    if ((++budget.steps & 0x3ff) === 1 && budget.now() > budget.deadline) {
      return { result: CheckResult.Unknown, longest };
    }
    if (budget.steps > budget.maxSteps) return { result: CheckResult.Unknown, longest };
    const opIdx = list.op[entry] as number;
    if (list.match[entry] !== -1) {
      const o = ops[opIdx] as Operation<I, O>;
      const r = model.step(state, o.input, o.output);
      if (r.ok && !seen(model, cache, linearized, opIdx, r.state)) {
        stackNode.push(entry);
        stackState.push(state);
        state = r.state;
        linearized.set(opIdx);
        list.lift(entry);
        entry = list.next[0] as number;
      } else {
        entry = list.next[entry] as number;
      }
      continue;
    }
    // A return whose call is not linearized yet: this path is dead, backtrack.
    if (stackNode.length === 0) return { result: CheckResult.Illegal, longest };
    if (stackNode.length > longest.length) longest = stackNode.map((k) => list.op[k] as number);
    const top = stackNode.pop() as number;
    state = stackState.pop() as S;
    linearized.clear(list.op[top] as number);
    list.unlift(top);
    entry = list.next[top] as number;
  }
  return { result: CheckResult.Ok, longest: stackNode.map((k) => list.op[k] as number) };
}

/** seen looks (linearized ∪ {opIdx}, state) up in the cache, adding it if absent. */
function seen<S, I, O>(
  model: Model<S, I, O>,
  cache: Map<number, { bits: Uint32Array; state: S }[]>,
  linearized: Bitset,
  opIdx: number,
  state: S,
): boolean {
  const h = linearized.hashWith(opIdx, model.hash(state));
  let bucket = cache.get(h);
  if (bucket === undefined) {
    bucket = [];
    cache.set(h, bucket);
  }
  for (const e of bucket) {
    if (linearized.equalsWith(e.bits, opIdx) && model.equal(e.state, state)) return true;
  }
  bucket.push({ bits: linearized.copyWith(opIdx), state });
  return false;
}

/** describeReport prints the failing partitions of a report, for humans. */
export function describeReport<S, I, O>(model: Model<S, I, O>, report: CheckReport<I, O>): string {
  const lines: string[] = [`linearizability: ${report.result} (${report.steps} steps)`];
  const fmt = (o: Operation<I, O>): string => {
    const d = model.describeOperation?.(o.input, o.output) ?? JSON.stringify(o);
    const ret = o.return === Infinity ? 'never' : String(o.return);
    return `[${o.call}, ${ret}] ${d}`;
  };
  for (const p of report.partitions) {
    if (p.result === CheckResult.Ok) continue;
    lines.push(`  partition (${p.operations.length} ops): ${p.result}`);
    const inPrefix = new Set(p.longest);
    lines.push(`    longest linearizable prefix:`);
    for (const i of p.longest) lines.push(`      ${fmt(p.operations[i] as Operation<I, O>)}`);
    lines.push(`    not linearized:`);
    const rest = p.operations
      .map((o, i) => ({ o, i }))
      .filter(({ i }) => !inPrefix.has(i))
      .sort((a, b) => a.o.call - b.o.call);
    for (const { o } of rest.slice(0, 20)) lines.push(`      ${fmt(o)}`);
  }
  return lines.join('\n');
}
