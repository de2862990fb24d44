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
 * JavaScript compares exactly like the bytes) in a B+ tree.
 */
import BTreeModule from 'sorted-btree';
import type { KeyValue } from './types.ts';

const BTree = BTreeModule.default;

/** keyString returns the latin1 string of a key: same order as the bytes. */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
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

/** kvSize is the bookkeeping size of one record (what Status reports as dbSize). */
function kvSize(kv: KeyValue): number {
  return kv.key.length + kv.value.length + 40;
}

/**
 * KvStore holds the keys. It only stores: deciding what a request does (compares, limits,
 * errors) is txn.ts's job. Records handed out are the stored objects: do not mutate them.
 */
export class KvStore {
  /** revision is the store's current revision; 1 when empty, as in etcd. */
  revision = 1;
  private tree = new BTree<string, KeyValue>();
  private bytes = 0;

  /** size is the number of keys. */
  get size(): number {
    return this.tree.size;
  }

  /** byteSize is the approximate memory the keys and values take. */
  get byteSize(): number {
    return this.bytes;
  }

  /** get returns the record of one key. */
  get(k: string): KeyValue | undefined {
    return this.tree.get(k);
  }

  /** scan returns the records in span (at most limit; 0 is no limit) and their count. */
  scan(s: Span, limit = 0): RangeScan {
    if (s.end === undefined) {
      const kv = this.tree.get(s.start);
      return { kvs: kv === undefined ? [] : [kv], count: kv === undefined ? 0 : 1 };
    }
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const [k, kv] of this.tree.entries(s.start)) {
      if (s.end !== null && k >= s.end) break;
      count++;
      if (limit === 0 || kvs.length < limit) kvs.push(kv);
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
   * put writes key k at revision rev and returns the previous record. Key and value are
   * copied (new Uint8Array, never Buffer#slice), so that the store never holds a view into a
   * larger buffer (a raft entry, a request).
   */
  put(
    k: string,
    key: Uint8Array,
    value: Uint8Array,
    rev: number,
    lease: number,
  ): KeyValue | undefined {
    const prev = this.tree.get(k);
    const kv: KeyValue = {
      key: prev?.key ?? new Uint8Array(key),
      createRevision: prev?.createRevision ?? rev,
      modRevision: rev,
      version: (prev?.version ?? 0) + 1,
      value: new Uint8Array(value),
      lease,
    };
    this.tree.set(k, kv);
    this.bytes += kvSize(kv) - (prev === undefined ? 0 : kvSize(prev));
    return prev;
  }

  /** delete removes the keys in span and returns their records, in key order. */
  delete(s: Span): KeyValue[] {
    const gone = this.scan(s).kvs;
    for (const kv of gone) {
      this.tree.delete(keyString(kv.key));
      this.bytes -= kvSize(kv);
    }
    return gone;
  }

  /** all iterates over every record in key order. */
  all(): IterableIterator<KeyValue> {
    return this.tree.values();
  }

  /** reset replaces the whole content (restore from a snapshot). */
  reset(revision: number, kvs: Iterable<KeyValue>): void {
    this.tree = new BTree<string, KeyValue>();
    this.bytes = 0;
    for (const kv of kvs) {
      this.tree.set(keyString(kv.key), kv);
      this.bytes += kvSize(kv);
    }
    this.revision = revision;
  }
}
