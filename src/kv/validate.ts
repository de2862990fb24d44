/**
 * Checks on requests before they are served or proposed (etcd's v3rpc key.go checks and
 * checkIntervals): bad requests are refused with INVALID_ARGUMENT and never reach raft.
 */
import { Etcd, invalidArgument } from './errors.ts';
import { inSpan, keyString, spanOf } from './store.ts';
import type { Span } from './store.ts';
import type {
  Compare,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from './types.ts';

/** KvLimits bound what one request may carry. */
export interface KvLimits {
  /** maxKeyBytes is the largest key (and range end) accepted. Default 4 KiB. */
  maxKeyBytes: number;
  /** maxValueBytes is the largest value accepted. Default 1 MiB. */
  maxValueBytes: number;
  /** maxRequestBytes is the largest encoded request accepted. Default 1.5 MiB (etcd's). */
  maxRequestBytes: number;
  /** maxTxnOps is the most compares, or ops in one branch, of a txn. Default 128 (etcd's). */
  maxTxnOps: number;
  /** maxTxnDepth is how deep txns may nest. Default 16. */
  maxTxnDepth: number;
}

/** DefaultLimits are the limits when none are configured. */
export const DefaultLimits: Readonly<KvLimits> = Object.freeze({
  maxKeyBytes: 4096,
  maxValueBytes: 1024 * 1024,
  maxRequestBytes: 1.5 * 1024 * 1024,
  maxTxnOps: 128,
  maxTxnDepth: 16,
});

function tooLarge(what: string, n: number, limit: number) {
  return invalidArgument(
    `etcdserver: request is too large: ${what} of ${n} bytes exceeds the limit of ${limit} bytes`,
  );
}

/** checkInt refuses an int64 field that is not a safe integer (or is negative, if unsigned). */
export function checkInt(what: string, v: number, min = -Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min) {
    throw invalidArgument(`raftkv: ${what} ${v} is not a safe integer >= ${min}`);
  }
}

function checkKey(lim: KvLimits, key: Uint8Array, rangeEnd?: Uint8Array): void {
  if (key.length === 0) throw Etcd.emptyKey();
  if (key.length > lim.maxKeyBytes) throw tooLarge('key', key.length, lim.maxKeyBytes);
  if (rangeEnd !== undefined && rangeEnd.length > lim.maxKeyBytes) {
    throw tooLarge('range_end', rangeEnd.length, lim.maxKeyBytes);
  }
}

/** checkRange validates a RangeRequest. */
export function checkRange(lim: KvLimits, r: RangeRequest): void {
  checkKey(lim, r.key, r.rangeEnd);
  if (r.sortOrder < 0 || r.sortOrder > 2 || r.sortTarget < 0 || r.sortTarget > 4) {
    throw invalidArgument('etcdserver: invalid sort option');
  }
  checkInt('limit', r.limit);
  checkInt('revision', r.revision);
  checkInt('min_mod_revision', r.minModRevision);
  checkInt('max_mod_revision', r.maxModRevision);
  checkInt('min_create_revision', r.minCreateRevision);
  checkInt('max_create_revision', r.maxCreateRevision);
}

/** checkPut validates a PutRequest. */
export function checkPut(lim: KvLimits, p: PutRequest): void {
  checkKey(lim, p.key);
  if (p.value.length > lim.maxValueBytes) {
    throw tooLarge('value', p.value.length, lim.maxValueBytes);
  }
  checkInt('lease', p.lease);
  if (p.ignoreValue && p.value.length !== 0) throw invalidArgument('etcdserver: value is provided');
  if (p.ignoreLease && p.lease !== 0) throw invalidArgument('etcdserver: lease is provided');
}

/** checkDeleteRange validates a DeleteRangeRequest. */
export function checkDeleteRange(lim: KvLimits, d: DeleteRangeRequest): void {
  checkKey(lim, d.key, d.rangeEnd);
}

function checkCompare(lim: KvLimits, c: Compare): void {
  checkKey(lim, c.key, c.rangeEnd);
  if (c.result < 0 || c.result > 3 || c.target < 0 || c.target > 4) {
    throw invalidArgument(`raftkv: invalid compare (result ${c.result}, target ${c.target})`);
  }
  for (const f of ['version', 'createRevision', 'modRevision', 'lease'] as const) {
    const v = c[f];
    if (v !== undefined) checkInt(f, v);
  }
  if (c.value !== undefined && c.value.length > lim.maxValueBytes) {
    throw tooLarge('compare value', c.value.length, lim.maxValueBytes);
  }
}

function checkOp(lim: KvLimits, op: RequestOp, depth: number): void {
  if (op.request === 'requestRange' && op.requestRange) return checkRange(lim, op.requestRange);
  if (op.request === 'requestPut' && op.requestPut) return checkPut(lim, op.requestPut);
  if (op.request === 'requestDeleteRange' && op.requestDeleteRange) {
    return checkDeleteRange(lim, op.requestDeleteRange);
  }
  if (op.request === 'requestTxn' && op.requestTxn) {
    return checkTxnOps(lim, op.requestTxn, depth + 1);
  }
  throw invalidArgument('raftkv: txn operation has no request');
}

function checkTxnOps(lim: KvLimits, t: TxnRequest, depth: number): void {
  if (depth > lim.maxTxnDepth) {
    throw invalidArgument(`raftkv: txn nested deeper than ${lim.maxTxnDepth} levels`);
  }
  const n = lim.maxTxnOps;
  if (t.compare.length > n || t.success.length > n || t.failure.length > n) {
    throw Etcd.tooManyOps();
  }
  for (const c of t.compare) checkCompare(lim, c);
  for (const op of t.success) checkOp(lim, op, depth);
  for (const op of t.failure) checkOp(lim, op, depth);
}

/**
 * checkTxn validates a TxnRequest: sizes, every op, and that no branch writes a key twice or
 * both puts and deletes it (etcd's checkIntervals), since one revision cannot order them.
 */
export function checkTxn(lim: KvLimits, t: TxnRequest): void {
  checkTxnOps(lim, t, 1);
  checkIntervals(t.success);
  checkIntervals(t.failure);
}

interface Writes {
  puts: Set<string>;
  dels: Span[];
}

const deleted = (dels: readonly Span[], k: string): boolean => dels.some((s) => inSpan(s, k));

function addNestedPuts(w: Writes, then: Writes, other: Writes): void {
  for (const k of then.puts) {
    if (w.puts.has(k) || deleted(w.dels, k)) throw Etcd.duplicateKey();
    w.puts.add(k);
  }
  for (const k of other.puts) {
    // A key put on both branches of one nested txn is fine: only one branch runs.
    if ((w.puts.has(k) && !then.puts.has(k)) || deleted(w.dels, k)) throw Etcd.duplicateKey();
    w.puts.add(k);
  }
}

/** checkIntervals returns the keys a list of ops puts and the spans it deletes. */
function checkIntervals(ops: readonly RequestOp[]): Writes {
  const w: Writes = { puts: new Set(), dels: [] };
  for (const op of ops) {
    const d = op.requestDeleteRange;
    if (op.request === 'requestDeleteRange' && d) w.dels.push(spanOf(d.key, d.rangeEnd));
  }
  for (const op of ops) {
    if (op.request !== 'requestTxn' || !op.requestTxn) continue;
    const then = checkIntervals(op.requestTxn.success);
    const other = checkIntervals(op.requestTxn.failure);
    addNestedPuts(w, then, other);
    w.dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) {
    if (op.request !== 'requestPut' || !op.requestPut) continue;
    const k = keyString(op.requestPut.key);
    if (w.puts.has(k) || deleted(w.dels, k)) throw Etcd.duplicateKey();
    w.puts.add(k);
  }
  return w;
}
