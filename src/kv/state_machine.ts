/**
 * KvStateMachine: raftkv's replicated state, plugged into the Node as its StateMachine. It
 * applies Commands (command.ts) to a KvStore (store.ts) with txn.ts, keeps the attributes
 * the members publish, and snapshots both as one raftkv.Snapshot.
 */
import type { StateMachine } from '../node/interfaces.ts';
import type { Entry } from '../raftpb/types.ts';
import { decodeCommand } from './command.ts';
import type { Command } from './command.ts';
import { invalidArgument, KvError } from './errors.ts';
import { concatBytes } from '../raft/util.ts';
import { decodeSnapshot, encodeSnapshot } from './snapshot.ts';
import { KvStore, KvStoreBuilder } from './store.ts';
import { beginWrite, deleteRange, endWrite, put, range, txn } from './txn.ts';
import type {
  DeleteRangeResponse,
  MemberAttributes,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from './types.ts';

/** SnapshotFormat is the `format` of the snapshots this code writes and reads. */
export const SnapshotFormat = 1;

/**
 * ApplyResult is what apply() gives the proposer of each entry: the response (its header
 * holds only the revision), undefined for member attributes, or the KvError that refused
 * the request, in which case nothing changed.
 */
export type ApplyResult = PutResponse | DeleteRangeResponse | TxnResponse | KvError | undefined;

/**
 * KvStateMachine implements StateMachine. apply() never throws for a bad command: a command
 * that cannot be decoded or is refused yields a KvError result on every replica alike, so
 * replicas stay identical. restore() throws a RangeError on a snapshot it cannot read,
 * which stops the Node.
 */
export class KvStateMachine implements StateMachine {
  /** store is the key space; read it only between applies (reads in service.ts do). */
  readonly store = new KvStore();
  private readonly attributes = new Map<number, MemberAttributes>();

  /** apply implements StateMachine. */
  apply(entries: readonly Entry[]): ApplyResult[] {
    return entries.map((e) => this.applyData(e.data ?? new Uint8Array()));
  }

  /** applyData applies one command's bytes. */
  applyData(data: Uint8Array): ApplyResult {
    let cmd: Command;
    try {
      cmd = decodeCommand(data);
    } catch (err) {
      return invalidArgument('raftkv: cannot decode command', err);
    }
    try {
      return this.applyCommand(cmd);
    } catch (err) {
      if (err instanceof KvError) return err;
      throw err;
    }
  }

  private applyCommand(cmd: Command): ApplyResult {
    if (cmd.op === 'memberAttributes' && cmd.memberAttributes) {
      const a = cmd.memberAttributes;
      this.attributes.set(a.id, { id: a.id, name: a.name, clientUrls: [...a.clientUrls] });
      return undefined;
    }
    const w = beginWrite(this.store);
    let out: PutResponse | DeleteRangeResponse | TxnResponse;
    if (cmd.op === 'put' && cmd.put) out = put(w, cmd.put);
    else if (cmd.op === 'deleteRange' && cmd.deleteRange) out = deleteRange(w, cmd.deleteRange);
    else if (cmd.op === 'txn' && cmd.txn) out = txn(w, cmd.txn);
    else return invalidArgument('raftkv: command carries no request');
    const revision = endWrite(w);
    out.header = { clusterId: 0, memberId: 0, revision, raftTerm: 0 };
    return out;
  }

  /** range serves a read from the current state (the caller decides when that is safe). */
  range(r: RangeRequest): RangeResponse {
    return range(this.store, r);
  }

  /** readTxn runs a txn that writes nothing (see isReadOnlyTxn) on the current state. */
  readTxn(t: TxnRequest): TxnResponse {
    const w = beginWrite(this.store);
    const out = txn(w, t);
    if (w.changed) throw new Error('readTxn: the txn wrote to the store');
    return out;
  }

  /** revision is the key space's current revision. */
  get revision(): number {
    return this.store.revision;
  }

  /** memberAttributes returns what member id published, if anything. */
  memberAttributes(id: number): MemberAttributes | undefined {
    return this.attributes.get(id);
  }

  /**
   * snapshotChunks implements StateMachine: the whole state as one raftkv.Snapshot, in
   * chunks. The state is captured when it is called (a frozen view of the store, O(1)); the
   * chunks are encoded as they are pulled, yielding to the event loop, while later entries
   * are applied.
   */
  snapshotChunks(): AsyncIterable<Uint8Array> {
    const members = [...this.attributes.values()].map(copyAttributes);
    return encodeSnapshot(SnapshotFormat, this.store.view(), members);
  }

  /** snapshot implements StateMachine: snapshotChunks joined into one buffer. */
  async snapshot(): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    for await (const c of this.snapshotChunks()) chunks.push(c);
    return concatBytes(chunks);
  }

  /**
   * restore implements StateMachine: replaces the state with a snapshot's (empty: none). The
   * new key space is built aside, yielding to the event loop, and installed at the end.
   */
  async restore(data: Uint8Array): Promise<void> {
    if (data.length === 0) {
      this.store.reset(1, []);
      this.attributes.clear();
      return;
    }
    const b = new KvStoreBuilder();
    const s = await decodeSnapshot(data, b);
    if (s.format !== SnapshotFormat) {
      throw new RangeError(
        `Cannot restore raftkv snapshot: format ${s.format} is not ${SnapshotFormat}`,
      );
    }
    this.store.install(s.revision, b);
    this.attributes.clear();
    for (const a of s.members) this.attributes.set(a.id, a);
  }
}

function copyAttributes(a: MemberAttributes): MemberAttributes {
  return { id: a.id, name: a.name, clientUrls: [...a.clientUrls] };
}
