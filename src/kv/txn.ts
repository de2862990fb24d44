/**
 * What each request does to a KvStore (etcd server/etcdserver/txn): Range, Put, DeleteRange
 * and Txn, with etcd's semantics. Every function either throws a KvError before changing
 * anything, or does all of its work: a request is never half-applied. Deterministic: the
 * same requests on the same store give the same store and the same answers.
 */
import { Etcd } from './errors.ts';
import { keyString, spanOf } from './store.ts';
import type { KvStore } from './store.ts';
import { CompareResult, CompareTarget, SortOrder, SortTarget } from './types.ts';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from './types.ts';

/**
 * WriteContext is one write request in progress: every change it makes is at revision `rev`
 * (store.revision + 1), and the store moves to `rev` at the end if anything changed.
 */
export interface WriteContext {
  readonly store: KvStore;
  readonly rev: number;
  changed: boolean;
}

/** beginWrite starts a write request on store. */
export function beginWrite(store: KvStore): WriteContext {
  return { store, rev: store.revision + 1, changed: false };
}

/** endWrite finishes a write request: the revision moves iff something changed. */
export function endWrite(w: WriteContext): number {
  if (w.changed) w.store.revision = w.rev;
  return w.store.revision;
}

/** readRevision is the revision a read in w sees: its own, once it wrote something. */
function readRevision(store: KvStore, w?: WriteContext): number {
  return w?.changed === true ? w.rev : store.revision;
}

function innerHeader(revision: number): ResponseHeader {
  return { clusterId: 0, memberId: 0, revision, raftTerm: 0 };
}

const bytesCompare = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

function sortKey(target: number): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => a.version - b.version;
    case SortTarget.CREATE:
      return (a, b) => a.createRevision - b.createRevision;
    case SortTarget.MOD:
      return (a, b) => a.modRevision - b.modRevision;
    case SortTarget.VALUE:
      return (a, b) => bytesCompare(a.value, b.value);
    default:
      return (a, b) => bytesCompare(a.key, b.key);
  }
}

/** effectiveOrder mirrors etcd: keys come ascending; other targets sort ascending by default. */
function effectiveOrder(r: RangeRequest): number {
  if (r.sortTarget !== SortTarget.KEY && r.sortOrder === SortOrder.NONE) return SortOrder.ASCEND;
  if (r.sortTarget === SortTarget.KEY && r.sortOrder === SortOrder.ASCEND) return SortOrder.NONE;
  return r.sortOrder;
}

function filtered(r: RangeRequest): boolean {
  return (
    r.minModRevision !== 0 ||
    r.maxModRevision !== 0 ||
    r.minCreateRevision !== 0 ||
    r.maxCreateRevision !== 0
  );
}

function keep(r: RangeRequest, kv: KeyValue): boolean {
  return !(
    (r.maxModRevision !== 0 && kv.modRevision > r.maxModRevision) ||
    (r.minModRevision !== 0 && kv.modRevision < r.minModRevision) ||
    (r.maxCreateRevision !== 0 && kv.createRevision > r.maxCreateRevision) ||
    (r.minCreateRevision !== 0 && kv.createRevision < r.minCreateRevision)
  );
}

/** sortsByValue: the values are needed to sort, even for a keysOnly range. */
function sortsByValue(r: RangeRequest): boolean {
  return effectiveOrder(r) !== SortOrder.NONE && r.sortTarget === SortTarget.VALUE;
}

/** checkRevision refuses reads of any revision but the current one (no history is kept). */
function checkRevision(rev: number, current: number): void {
  if (rev > current) throw Etcd.futureRev();
  if (rev > 0 && rev < current) throw Etcd.compacted();
}

/**
 * range answers a RangeRequest from the store (etcd's Range): count is the number of keys
 * in the range; filters, sorting and limit apply to kvs only; keysOnly drops values.
 */
export function range(store: KvStore, r: RangeRequest, w?: WriteContext): RangeResponse {
  const revision = readRevision(store, w);
  checkRevision(r.revision, revision);
  const span = spanOf(r.key, r.rangeEnd);
  const order = effectiveOrder(r);
  const header = innerHeader(revision);
  if (r.countOnly) return { header, kvs: [], more: false, count: store.count(span) };
  const fetchAll = order !== SortOrder.NONE || filtered(r) || r.limit <= 0;
  const scan = store.scan(span, fetchAll ? 0 : r.limit + 1, r.keysOnly && !sortsByValue(r));
  let kvs = filtered(r) ? scan.kvs.filter((kv) => keep(r, kv)) : scan.kvs;
  if (order !== SortOrder.NONE) {
    const cmp = sortKey(r.sortTarget);
    kvs = [...kvs].sort(order === SortOrder.DESCEND ? (a, b) => cmp(b, a) : cmp);
  }
  let more = false;
  if (r.limit > 0 && kvs.length > r.limit) {
    kvs = kvs.slice(0, r.limit);
    more = true;
  }
  if (r.keysOnly && sortsByValue(r)) kvs = kvs.map((kv) => ({ ...kv, value: new Uint8Array() }));
  return { header, kvs, more, count: scan.count };
}

/** checkPut throws what etcd's checkRequestPut does: a missing key for ignore_*, a lease. */
function checkPut(store: KvStore, p: PutRequest): void {
  if ((p.ignoreValue || p.ignoreLease) && !store.has(keyString(p.key))) {
    throw Etcd.keyNotFound();
  }
  // raftkv has no leases: every lease id names a lease that does not exist.
  if (p.lease !== 0 && !p.ignoreLease) throw Etcd.leaseNotFound();
}

/** put writes one key (etcd's Put). */
export function put(w: WriteContext, p: PutRequest): PutResponse {
  checkPut(w.store, p);
  const k = keyString(p.key);
  const needPrev = p.prevKv || p.ignoreValue || p.ignoreLease;
  const prev = needPrev ? w.store.get(k) : undefined;
  const value = p.ignoreValue && prev !== undefined ? prev.value : p.value;
  const lease = p.ignoreLease && prev !== undefined ? prev.lease : p.lease;
  w.store.put(k, p.key, value, w.rev, lease);
  w.changed = true;
  const out: PutResponse = { header: innerHeader(w.rev) };
  if (p.prevKv && prev !== undefined) out.prevKv = prev;
  return out;
}

/** deleteRange deletes a key or a range (etcd's DeleteRange). */
export function deleteRange(w: WriteContext, d: DeleteRangeRequest): DeleteRangeResponse {
  const span = spanOf(d.key, d.rangeEnd);
  const prevKvs = d.prevKv ? w.store.delete(span, true) : [];
  const deleted = d.prevKv ? prevKvs.length : w.store.delete(span, false);
  if (deleted > 0) w.changed = true;
  return { header: innerHeader(readRevision(w.store, w)), deleted, prevKvs };
}

/** operandOf names the Compare field that holds the operand of each numeric target. */
const operandOf: Readonly<Record<number, 'version' | 'createRevision' | 'modRevision' | 'lease'>> =
  {
    [CompareTarget.VERSION]: 'version',
    [CompareTarget.CREATE]: 'createRevision',
    [CompareTarget.MOD]: 'modRevision',
    [CompareTarget.LEASE]: 'lease',
  };

/** operand is what a compare compares against; an operand that is not set counts as zero. */
function operand(c: Compare): number | Uint8Array {
  if (c.target === CompareTarget.VALUE) {
    return c.targetUnion === 'value' ? (c.value ?? new Uint8Array()) : new Uint8Array();
  }
  const name = operandOf[c.target];
  return name !== undefined && c.targetUnion === name ? (c[name] ?? 0) : 0;
}

function field(kv: KeyValue | undefined, target: number): number | Uint8Array {
  switch (target) {
    case CompareTarget.VERSION:
      return kv?.version ?? 0;
    case CompareTarget.CREATE:
      return kv?.createRevision ?? 0;
    case CompareTarget.MOD:
      return kv?.modRevision ?? 0;
    case CompareTarget.LEASE:
      return kv?.lease ?? 0;
    default:
      return kv?.value ?? new Uint8Array();
  }
}

function compareKV(c: Compare, kv: KeyValue | undefined): boolean {
  const a = field(kv, c.target);
  const b = operand(c);
  const r =
    a instanceof Uint8Array ? bytesCompare(a, b as Uint8Array) : Math.sign(a - (b as number));
  switch (c.result) {
    case CompareResult.EQUAL:
      return r === 0;
    case CompareResult.NOT_EQUAL:
      return r !== 0;
    case CompareResult.GREATER:
      return r > 0;
    case CompareResult.LESS:
      return r < 0;
    default:
      return true;
  }
}

/**
 * applyCompare evaluates one compare (etcd's applyCompare): every key in its range must
 * satisfy it; a missing key compares as zeros, except that a value compare on it fails.
 */
export function applyCompare(store: KvStore, c: Compare): boolean {
  const kvs = store.scan(spanOf(c.key, c.rangeEnd)).kvs;
  if (kvs.length === 0) return c.target !== CompareTarget.VALUE && compareKV(c, undefined);
  return kvs.every((kv) => compareKV(c, kv));
}

/**
 * txnPath evaluates the compares of a txn and of the nested txns on the branches it takes,
 * all against the store as it is before the txn (etcd's compareToPath).
 */
function txnPath(store: KvStore, t: TxnRequest, path: boolean[] = []): boolean[] {
  const ok = t.compare.every((c) => applyCompare(store, c));
  path.push(ok);
  for (const op of ok ? t.success : t.failure) {
    if (op.request === 'requestTxn' && op.requestTxn) txnPath(store, op.requestTxn, path);
  }
  return path;
}

/** checkPath runs checkPut on every put the txn will do, before anything changes. */
function checkPath(store: KvStore, t: TxnRequest, path: boolean[], at = { i: 0 }): void {
  const ok = path[at.i++] === true;
  for (const op of ok ? t.success : t.failure) {
    if (op.request === 'requestPut' && op.requestPut) checkPut(store, op.requestPut);
    if (op.request === 'requestTxn' && op.requestTxn) checkPath(store, op.requestTxn, path, at);
  }
}

function runOp(w: WriteContext, op: RequestOp, path: boolean[], at: { i: number }): ResponseOp {
  switch (op.request) {
    case 'requestRange':
      return { responseRange: range(w.store, op.requestRange as RangeRequest, w) };
    case 'requestPut':
      return { responsePut: put(w, op.requestPut as PutRequest) };
    case 'requestDeleteRange':
      return { responseDeleteRange: deleteRange(w, op.requestDeleteRange as DeleteRangeRequest) };
    case 'requestTxn':
      return { responseTxn: runTxn(w, op.requestTxn as TxnRequest, path, at) };
    default:
      // validate.ts refuses empty ops before they are proposed; skip one that slipped through.
      return {
        responseRange: { header: innerHeader(w.store.revision), kvs: [], more: false, count: 0 },
      };
  }
}

function runTxn(w: WriteContext, t: TxnRequest, path: boolean[], at: { i: number }): TxnResponse {
  const succeeded = path[at.i++] === true;
  const responses = (succeeded ? t.success : t.failure).map((op) => runOp(w, op, path, at));
  return { header: innerHeader(readRevision(w.store, w)), succeeded, responses };
}

/**
 * txn runs a TxnRequest (etcd's Txn): compares are evaluated first, on the state before the
 * txn; the chosen branch's writes all happen at one new revision, and reads inside the txn
 * see the writes before them. A failing put check fails the whole txn before any change.
 */
export function txn(w: WriteContext, t: TxnRequest): TxnResponse {
  const path = txnPath(w.store, t);
  checkPath(w.store, t, path);
  return runTxn(w, t, path, { i: 0 });
}

/** isReadOnlyTxn reports whether a txn can change nothing, on either branch. */
export function isReadOnlyTxn(t: TxnRequest): boolean {
  const ro = (ops: RequestOp[]): boolean =>
    ops.every(
      (op) =>
        op.request === 'requestRange' ||
        (op.request === 'requestTxn' && op.requestTxn != null && isReadOnlyTxn(op.requestTxn)),
    );
  return ro(t.success) && ro(t.failure);
}
