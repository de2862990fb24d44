/**
 * The simulator's replicated state machine: a key-value map driven by commands in log
 * entries. Each command carries a unique operation id; a command applied a second time (a
 * duplicated proposal) has no effect, the way etcd deduplicates by request id.
 */
import { EntryType } from '../../raftpb/types.ts';
import type { ConfState, Entry } from '../../raftpb/types.ts';
import { KvOp } from '../linearizability/kv_model.ts';
import type { KvInput, KvOutput } from '../linearizability/kv_model.ts';
import { hashBytes, hashChain } from './prng.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** KvCommand is a write operation with the id that makes it unique. */
export interface KvCommand {
  id: number;
  input: KvInput;
}

/** encodeCommand serializes a command for a log entry: `id|op|key|expected|value`. */
export function encodeCommand(c: KvCommand): Uint8Array {
  const i = c.input;
  const value = i.op === KvOp.Put || i.op === KvOp.Cas ? i.value : '';
  const expected = i.op === KvOp.Cas ? (i.expected ?? '\u0000') : '';
  return enc.encode(`${c.id}|${i.op}|${i.key}|${expected}|${value}`);
}

/** decodeCommand parses what encodeCommand wrote; it returns undefined for anything else. */
export function decodeCommand(data: Uint8Array | undefined): KvCommand | undefined {
  if (data === undefined || data.length === 0) return undefined;
  const parts = dec.decode(data).split('|');
  if (parts.length !== 5) return undefined;
  const [idStr, op, key, expected, value] = parts as [string, string, string, string, string];
  const id = Number(idStr);
  if (!Number.isSafeInteger(id)) return undefined;
  switch (op) {
    case KvOp.Put:
      return { id, input: { op, key, value } };
    case KvOp.Delete:
      return { id, input: { op, key } };
    case KvOp.Cas:
      return { id, input: { op, key, value, expected: expected === '\u0000' ? null : expected } };
    default:
      return undefined;
  }
}

/** SnapshotImage is the serialized state of a KvStateMachine (JSON inside Snapshot.data). */
interface SnapshotImage {
  index: number;
  term: number;
  chain: number;
  data: [string, string][];
  results: [number, KvOutput][];
}

/**
 * KvStateMachine applies committed entries in order. Besides the map it keeps the result of
 * every applied command (to answer duplicates and clients) and `chain`, a hash of every
 * entry applied so far, so two replicas that applied the same prefix have equal chains.
 */
export class KvStateMachine {
  /** index and term of the last applied entry (or of the snapshot restored). */
  index = 0;
  term = 0;
  /** chain hashes the whole applied prefix; see hashChain. */
  chain = 0;
  /** confState is the membership after the last applied entry, as applyConfChange returned it. */
  confState: ConfState | undefined;
  private readonly data = new Map<string, string>();
  private readonly results = new Map<number, KvOutput>();

  /** get returns the value of key, or null if absent. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  /** result returns the output of an applied command, or undefined if it was never applied. */
  result(id: number): KvOutput | undefined {
    return this.results.get(id);
  }

  /**
   * applyEntry applies one committed entry, which must be the next index. It returns the
   * command if the entry was a command applied for the first time, else undefined.
   */
  applyEntry(e: Entry): KvCommand | undefined {
    if (e.index !== this.index + 1) {
      throw new Error(`KvStateMachine: applying index ${e.index} after ${this.index}`);
    }
    this.index = e.index;
    this.term = e.term;
    this.chain = hashChain(this.chain, e.index, e.term, hashBytes(e.data) + e.type);
    if (e.type !== EntryType.EntryNormal) return undefined;
    const cmd = decodeCommand(e.data);
    if (cmd === undefined || this.results.has(cmd.id)) return undefined;
    this.results.set(cmd.id, this.execute(cmd.input));
    return cmd;
  }

  private execute(i: KvInput): KvOutput {
    const cur = this.data.get(i.key) ?? null;
    switch (i.op) {
      case KvOp.Get:
        return { value: cur };
      case KvOp.Put:
        this.data.set(i.key, i.value);
        return {};
      case KvOp.Delete:
        this.data.delete(i.key);
        return { existed: cur !== null };
      case KvOp.Cas: {
        const ok = cur === i.expected;
        if (ok) this.data.set(i.key, i.value);
        return { ok };
      }
    }
  }

  /** snapshot serializes the state machine. */
  snapshot(): Uint8Array {
    const img: SnapshotImage = {
      index: this.index,
      term: this.term,
      chain: this.chain,
      data: [...this.data.entries()],
      results: [...this.results.entries()],
    };
    return enc.encode(JSON.stringify(img));
  }

  /** restore replaces the state with a snapshot's; empty data means the empty machine. */
  restore(data: Uint8Array | undefined, index: number, term: number, cs: ConfState): void {
    this.data.clear();
    this.results.clear();
    this.index = index;
    this.term = term;
    this.chain = 0;
    this.confState = cs;
    if (data === undefined || data.length === 0) {
      if (index !== 0) throw new Error(`KvStateMachine: snapshot at ${index} without data`);
      return;
    }
    const img = JSON.parse(dec.decode(data)) as SnapshotImage;
    if (img.index !== index || img.term !== term) {
      throw new Error(
        `KvStateMachine: snapshot image at ${img.index}/${img.term} ≠ ${index}/${term}`,
      );
    }
    this.chain = img.chain;
    for (const [k, v] of img.data) this.data.set(k, v);
    for (const [id, r] of img.results) this.results.set(id, r);
  }

  /** digest hashes the visible state (the map), to compare replicas. */
  digest(): string {
    return JSON.stringify([...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }
}
