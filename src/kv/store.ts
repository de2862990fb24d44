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
 * JavaScript compares exactly like the bytes) in a B+ tree, and its value a latin1 string in
 * a small immutable record (Rec): about 120 bytes per key beyond the key and value bytes.
 * Reads build KeyValue objects (with fresh Uint8Arrays) from them.
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
 * Rec is how the store keeps one key's record: the value as a latin1 string (one char per
 * byte) and the revisions, in one small immutable object. A Uint8Array per value (plus its
 * ArrayBuffer and backing store) cost about 500 bytes more per key than this; see
 * bench/store_memory.ts. Records are never changed in place: a write replaces the record,
 * so a view taken with KvStore.view() keeps seeing the old one.
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

/** recSize is the bookkeeping size of one record (what Status reports as dbSize). */
function recSize(k: string, r: Rec): number {
  return k.length + r.value.length + 40;
}

type Tree = InstanceType<typeof BTree<string, Rec>>;

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
  private tree: Tree = new BTree<string, Rec>();
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
    const r = this.tree.get(k);
    return r === undefined ? undefined : toKeyValue(k, r);
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
      const r = this.tree.get(s.start);
      if (r === undefined) return { kvs: [], count: 0 };
      return { kvs: [toKeyValue(s.start, r, !keysOnly)], count: 1 };
    }
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const [k, r] of this.tree.entries(s.start)) {
      if (s.end !== null && k >= s.end) break;
      count++;
      if (limit === 0 || kvs.length < limit) kvs.push(toKeyValue(k, r, !keysOnly));
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
    const prev = this.tree.get(k);
    const r = new Rec(
      latin1(value),
      prev?.createRevision ?? rev,
      rev,
      (prev?.version ?? 0) + 1,
      lease,
    );
    this.tree.set(k, r);
    this.bytes += recSize(k, r) - (prev === undefined ? 0 : recSize(k, prev));
  }

  /**
   * delete removes the keys in span and returns how many it removed and, if `records`, their
   * records in key order.
   */
  delete(s: Span, records: true): KeyValue[];
  delete(s: Span, records: false): number;
  delete(s: Span): KeyValue[];
  delete(s: Span, records = true): KeyValue[] | number {
    const gone: [string, Rec][] = [];
    if (s.end === undefined) {
      const r = this.tree.get(s.start);
      if (r !== undefined) gone.push([s.start, r]);
    } else {
      for (const e of this.tree.entries(s.start)) {
        if (s.end !== null && e[0] >= s.end) break;
        gone.push(e);
      }
    }
    for (const [k, r] of gone) {
      this.tree.delete(k);
      this.bytes -= recSize(k, r);
    }
    return records ? gone.map(([k, r]) => toKeyValue(k, r)) : gone.length;
  }

  /** all iterates over every record in key order. */
  *all(): IterableIterator<KeyValue> {
    for (const [k, r] of this.tree.entries()) yield toKeyValue(k, r);
  }

  /**
   * view returns a frozen copy of the store as it is now, in O(1): later writes to the store
   * copy the tree nodes they touch instead of changing the view's.
   */
  view(): KvView {
    const tree = this.tree.clone();
    const { revision } = this;
    return { revision, size: tree.size, entries: () => tree.entries() };
  }

  /** reset replaces the whole content (restore from a snapshot). */
  reset(revision: number, kvs: Iterable<KeyValue>): void {
    const b = new KvStoreBuilder();
    for (const kv of kvs) b.add(keyString(kv.key), kvRec(kv));
    this.install(revision, b);
  }

  /** install replaces the whole content with what a builder gathered. */
  install(revision: number, b: KvStoreBuilder): void {
    this.tree = b.tree;
    this.bytes = b.bytes;
    this.revision = revision;
  }
}

/** kvRec returns the record of a KeyValue. */
export function kvRec(kv: KeyValue): Rec {
  return new Rec(latin1(kv.value), kv.createRevision, kv.modRevision, kv.version, kv.lease);
}

/**
 * KvStoreBuilder gathers records for KvStore.install (a restore), in any order, without
 * touching the store: reads go on against the old content until the new one is installed.
 */
export class KvStoreBuilder {
  /** tree and bytes are read by KvStore.install. */
  readonly tree: Tree = new BTree<string, Rec>();
  bytes = 0;

  /** add sets key k's record; a later add of the same key replaces it. */
  add(k: string, r: Rec): void {
    if (!this.tree.setIfNotPresent(k, r)) {
      const prev = this.tree.get(k) as Rec;
      this.tree.set(k, r);
      this.bytes -= recSize(k, prev);
    }
    this.bytes += recSize(k, r);
  }
}
