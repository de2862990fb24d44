/**
 * KvStore: the key space of raftkv with etcd's revision model, without history.
 *
 * The store has one revision, bumped by every write (a put, a delete that deleted something,
 * a txn that changed something: one bump for the whole txn). Each key records the revision
 * that created it, the revision of its last write, and its version (writes since creation).
 * Deleting a key forgets it: writing it again starts a new life at version 1. Only the
 * current revision can be read; etcd's history and compaction are not kept.
 *
 * Keys are ordered as bytes. Inside, a key is its latin1 string (one char per byte, which
 * JavaScript compares exactly like the bytes) in a B+ tree, and its record one packed latin1
 * string: the revisions, then the value's bytes (see packRec). That is about 65 bytes per
 * key beyond the key and value bytes. Reads build KeyValue objects (with fresh Uint8Arrays)
 * from them.
 */
import BTreeModule from 'sorted-btree';
import type { KeyValue } from './types.ts';

const BTree = BTreeModule.default;

/** keyString returns the latin1 string of a key: same order as the bytes. */
export function keyString(key: Uint8Array): string {
  return latin1(key);
}

/** Span is a key interval: one key (end undefined), [start, end), or start..∞ (end null). */
export interface Span {
  start: string;
  /** undefined: just `start`; null: no upper bound; else exclusive upper bound. */
  end: string | undefined | null;
}

/**
 * spanOf turns etcd's (key, range_end) into a Span: empty range_end selects one key, "\0"
 * every key >= key, anything else [key, range_end).
 */
export function spanOf(key: Uint8Array, rangeEnd: Uint8Array): Span {
  const start = keyString(key);
  if (rangeEnd.length === 0) return { start, end: undefined };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null };
  return { start, end: keyString(rangeEnd) };
}

/** inSpan reports whether key string k lies in span s. */
export function inSpan(s: Span, k: string): boolean {
  if (s.end === undefined) return k === s.start;
  return k >= s.start && (s.end === null || k < s.end);
}

/** RangeScan is what KvStore.scan found: up to `limit` records and the total count. */
export interface RangeScan {
  kvs: KeyValue[];
  /** count is the number of keys in the span. */
  count: number;
}

/**
 * Rec is one key's record as the store hands it out (to snapshots, to reads): the value as a
 * latin1 string (one char per byte) and the revisions. Inside, the store keeps each record
 * packed in one string (packRec) and builds a Rec when asked; a Rec is never changed.
 */
export class Rec {
  constructor(
    /** value is the value's bytes as a latin1 string. */
    readonly value: string,
    readonly createRevision: number,
    readonly modRevision: number,
    readonly version: number,
    readonly lease: number,
  ) {}
}

/** Below this size the scratch buffer that packRec writes into is kept between calls. */
const SCRATCH_KEEP = 1 << 16;
let scratch = Buffer.allocUnsafeSlow(1024);

/** putUvarint writes n (a non-negative safe integer) as a base-128 varint at pos. */
function putUvarint(buf: Buffer, pos: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Cannot pack record: ${n} is not a non-negative safe integer`);
  }
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos] = n;
  return pos + 1;
}

/**
 * packRec returns a record packed in one flat latin1 string: createRevision, modRevision,
 * version and lease as base-128 varints (one char per 7 bits), then the value's bytes.
 * A Rec object beside a value string costs 64 bytes more per key than the few chars of
 * the varints (bench/store_memory.ts).
 */
export function packRec(
  value: Uint8Array | string,
  createRevision: number,
  modRevision: number,
  version: number,
  lease: number,
): string {
  const max = 4 * 8 + value.length;
  const buf = max <= scratch.length ? scratch : Buffer.allocUnsafeSlow(max);
  if (max <= SCRATCH_KEEP) scratch = buf;
  let pos = putUvarint(buf, 0, createRevision);
  pos = putUvarint(buf, pos, modRevision);
  pos = putUvarint(buf, pos, version);
  pos = putUvarint(buf, pos, lease);
  if (typeof value === 'string') pos += buf.write(value, pos, 'latin1');
  else {
    buf.set(value, pos);
    pos += value.length;
  }
  return buf.toString('latin1', 0, pos);
}

/** headerEnd returns the index of the first value char of packed record p. */
function headerEnd(p: string): number {
  let i = 0;
  for (let n = 0; n < 4; n++) while (p.charCodeAt(i++) >= 0x80);
  return i;
}

/** unpackRec returns the Rec of a packed record (packRec). */
export function unpackRec(p: string): Rec {
  const f = [0, 0, 0, 0];
  let i = 0;
  for (let n = 0; n < 4; n++) {
    let v = 0;
    let mul = 1;
    for (;;) {
      const c = p.charCodeAt(i++);
      v += (c & 0x7f) * mul;
      if (c < 0x80) break;
      mul *= 0x80;
    }
    f[n] = v;
  }
  return new Rec(p.slice(i), f[0] as number, f[1] as number, f[2] as number, f[3] as number);
}

/** latin1 returns the latin1 string of bytes: one char per byte. */
export function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

/** latin1Bytes returns a new Uint8Array (never a pooled Buffer) holding string s's bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  if (s.length > 0) Buffer.from(out.buffer).write(s, 'latin1');
  return out;
}

/** toKeyValue materializes a record as the KeyValue handed to callers. */
export function toKeyValue(k: string, r: Rec, withValue = true): KeyValue {
  return {
    key: latin1Bytes(k),
    createRevision: r.createRevision,
    modRevision: r.modRevision,
    version: r.version,
    value: withValue ? latin1Bytes(r.value) : new Uint8Array(),
    lease: r.lease,
  };
}

/** recSize is the bookkeeping size of one packed record (what Status reports as dbSize). */
function recSize(k: string, p: string): number {
  return k.length + (p.length - headerEnd(p)) + 40;
}

/** Tree maps key strings to packed records (packRec). */
type Tree = InstanceType<typeof BTree<string, string>>;

/** unpacked yields the entries of a Tree with their records unpacked. */
function* unpacked(it: IterableIterator<[string, string]>): IterableIterator<[string, Rec]> {
  for (const [k, p] of it) yield [k, unpackRec(p)];
}

/**
 * KvView is a frozen copy of a KvStore (KvStore.view): it costs O(1) to take, shares the
 * store's B+ tree nodes until the store writes to them (copy on write), and does not change
 * when the store does. A snapshot is encoded from a view while writes go on.
 */
export interface KvView {
  readonly revision: number;
  /** size is the number of keys. */
  readonly size: number;
  /** entries iterates over [key string, record] in key order. */
  entries(): IterableIterator<[string, Rec]>;
}

/**
 * KvStore holds the keys. It only stores: deciding what a request does (compares, limits,
 * errors) is txn.ts's job. Records handed out are fresh KeyValue objects, built from the
 * compact records kept inside (Rec) on every read.
 */
export class KvStore {
  /** revision is the store's current revision; 1 when empty, as in etcd. */
  revision = 1;
  private tree: Tree = new BTree<string, string>();
  private bytes = 0;

  /** size is the number of keys. */
  get size(): number {
    return this.tree.size;
  }

  /** byteSize is the live data: key and value bytes plus 40 per key (Status dbSize). */
  get byteSize(): number {
    return this.bytes;
  }

  /** get returns the record of one key. */
  get(k: string): KeyValue | undefined {
    const p = this.tree.get(k);
    return p === undefined ? undefined : toKeyValue(k, unpackRec(p));
  }

  /** has reports whether key k exists. */
  has(k: string): boolean {
    return this.tree.has(k);
  }

  /**
   * scan returns the records in span (at most limit; 0 is no limit) and their count;
   * keysOnly leaves their values empty.
   */
  scan(s: Span, limit = 0, keysOnly = false): RangeScan {
    if (s.end === undefined) {
      const p = this.tree.get(s.start);
      if (p === undefined) return { kvs: [], count: 0 };
      return { kvs: [toKeyValue(s.start, unpackRec(p), !keysOnly)], count: 1 };
    }
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const [k, p] of this.tree.entries(s.start)) {
      if (s.end !== null && k >= s.end) break;
      count++;
      if (limit === 0 || kvs.length < limit) kvs.push(toKeyValue(k, unpackRec(p), !keysOnly));
    }
    return { kvs, count };
  }

  /** count returns the number of keys in span. */
  count(s: Span): number {
    if (s.end === undefined) return this.tree.has(s.start) ? 1 : 0;
    let n = 0;
    for (const [k] of this.tree.entries(s.start)) {
      if (s.end !== null && k >= s.end) break;
      n++;
    }
    return n;
  }

  /**
   * put writes key k (the latin1 string of the key's bytes, see keyString) at revision rev.
   * The value is copied into the store's own string, so the store never holds a view into
   * a larger buffer (a raft entry, a request). `key` is k's bytes; only k is kept.
   */
  put(k: string, key: Uint8Array, value: Uint8Array, rev: number, lease: number): void {
    void key;
    const old = this.tree.get(k);
    const prev = old === undefined ? undefined : unpackRec(old);
    const p = packRec(value, prev?.createRevision ?? rev, rev, (prev?.version ?? 0) + 1, lease);
    this.tree.set(k, p);
    this.bytes += recSize(k, p) - (old === undefined ? 0 : recSize(k, old));
  }

  /**
   * delete removes the keys in span and returns how many it removed and, if `records`, their
   * records in key order.
   */
  delete(s: Span, records: true): KeyValue[];
  delete(s: Span, records: false): number;
  delete(s: Span): KeyValue[];
  delete(s: Span, records = true): KeyValue[] | number {
    const gone: [string, string][] = [];
    if (s.end === undefined) {
      const p = this.tree.get(s.start);
      if (p !== undefined) gone.push([s.start, p]);
    } else {
      for (const e of this.tree.entries(s.start)) {
        if (s.end !== null && e[0] >= s.end) break;
        gone.push(e);
      }
    }
    for (const [k, p] of gone) {
      this.tree.delete(k);
      this.bytes -= recSize(k, p);
    }
    return records ? gone.map(([k, p]) => toKeyValue(k, unpackRec(p))) : gone.length;
  }

  /** all iterates over every record in key order. */
  *all(): IterableIterator<KeyValue> {
    for (const [k, p] of this.tree.entries()) yield toKeyValue(k, unpackRec(p));
  }

  /**
   * view returns a frozen copy of the store as it is now, in O(1): later writes to the store
   * copy the tree nodes they touch instead of changing the view's.
   */
  view(): KvView {
    const tree = this.tree.clone();
    const { revision } = this;
    return { revision, size: tree.size, entries: () => unpacked(tree.entries()) };
  }

  /** reset replaces the whole content (restore from a snapshot). */
  reset(revision: number, kvs: Iterable<KeyValue>): void {
    const b = new KvStoreBuilder();
    for (const kv of kvs) {
      const p = packRec(kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease);
      b.addPacked(keyString(kv.key), p);
    }
    this.install(revision, b);
  }

  /** install replaces the whole content with what a builder gathered. */
  install(revision: number, b: KvStoreBuilder): void {
    this.tree = b.tree;
    this.bytes = b.bytes;
    this.revision = revision;
  }
}

/**
 * KvStoreBuilder gathers records for KvStore.install (a restore), in any order, without
 * touching the store: reads go on against the old content until the new one is installed.
 */
export class KvStoreBuilder {
  /** tree and bytes are read by KvStore.install. */
  readonly tree: Tree = new BTree<string, string>();
  bytes = 0;

  /** add sets key k's record; a later add of the same key replaces it. */
  add(k: string, r: Rec): void {
    this.addPacked(k, packRec(r.value, r.createRevision, r.modRevision, r.version, r.lease));
  }

  /** addPacked is add with the record already packed (packRec). */
  addPacked(k: string, p: string): void {
    if (!this.tree.setIfNotPresent(k, p)) {
      const prev = this.tree.get(k) as string;
      this.tree.set(k, p);
      this.bytes -= recSize(k, prev);
    }
    this.bytes += recSize(k, p);
  }
}
