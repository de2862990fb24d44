/**
 * KvService: the etcd v3 operations raftkv serves, independent of the wire (grpc.ts and
 * http.ts call it). It validates requests, sends writes through raft as one proposal each,
 * serves linearizable reads after a ReadIndex and serializable ones locally, bounds every
 * request by a timeout, and answers failures as KvErrors with etcd's codes and texts.
 */
import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { BackendErrorCode, errorCode } from './backend.ts';
import type { RaftBackend } from './backend.ts';
import type { AbortLike } from '../node/waiter.ts';
import { Expiry, RequestCall } from './call.ts';
import type { CallOptions } from './call.ts';
import { encodeCommand, wrapCommand } from './command.ts';
import type { CommandKind } from './command.ts';
import { Etcd, GrpcCode, KvError } from './errors.ts';
import type { ApplyResult, KvStateMachine } from './state_machine.ts';
import { isReadOnlyTxn } from './txn.ts';
import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  Member,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  StatusResponse,
  TxnRequest,
  TxnResponse,
} from './types.ts';
import { DeadlineWheel } from './deadlines.ts';
import { checkDeleteRange, checkPut, checkRange, checkTxn, DefaultLimits } from './validate.ts';
import type { KvLimits } from './validate.ts';
import { Deferred, waitFor } from './wait.ts';

/** ServerVersion is the etcd version raftkv reports: the API level it speaks. */
export const ServerVersion = '3.5.0';

/** KvServiceOptions configures a KvService. */
export interface KvServiceOptions {
  backend: RaftBackend;
  /** stateMachine must be the backend's state machine. */
  stateMachine: KvStateMachine;
  limits?: Partial<KvLimits> | undefined;
  /**
   * requestTimeoutMs bounds every request, including the wait for a leader: past it the
   * request fails with UNAVAILABLE ("no leader" or "request timed out"). Default 5000.
   */
  requestTimeoutMs?: number | undefined;
}

/**
 * ProposalStats counts a KvService's proposals (one per write request), for metrics and the
 * dashboard: etcd's proposals_pending and proposals_failed_total are counted at this level.
 */
export interface ProposalStats {
  /** pending is the number of proposals waiting for their result. */
  pending: number;
  /** failed counts proposals that ended in an error (timeout, abort, lost leader...). */
  failed: number;
  /** onDone, if set, hears how long each proposal took, in seconds, and whether it failed. */
  onDone: ((seconds: number, failed: boolean) => void) | undefined;
}

export { Cancel } from './call.ts';
export type { CallOptions } from './call.ts';

/** LeaderAddress is the leader a request is relayed to: its id and published client URLs. */
export interface LeaderAddress {
  id: number;
  clientURLs: readonly string[];
}

/**
 * Relay hands a leader-only request to the leader and resolves with its answer (relay.ts
 * makes one over gRPC). Error contract: it rejects with a KvError when the leader answered
 * one (passed on unchanged), with an error of code RelayErrorCode.Unreachable when the
 * request could not be sent, and with `signal.reason` once the signal aborts.
 */
export type Relay<T> = (leader: LeaderAddress, signal: RequestCall) => Promise<T>;

/** RelayErrorCode lists the `code` of the errors of a Relay that KvService retries. */
export const RelayErrorCode = { Unreachable: 'ERR_LEADER_UNREACHABLE' } as const;

/**
 * MaxRelayHops bounds how many members a relayed request may reach that answer "not leader"
 * (leadership moved while it was on its way) before that answer is the client's.
 */
export const MaxRelayHops = 3;

/** CatchUpMs bounds the wait, after a relayed change, for this member to apply it too. */
const CatchUpMs = 1000;

/** Write is the answer of a write request. */
type Write = PutResponse | DeleteRangeResponse | TxnResponse;

const timeoutDueToLeaderFail = () =>
  new KvError(
    GrpcCode.UNAVAILABLE,
    'etcdserver: request timed out, possibly due to previous leader failure',
  );

/**
 * KvService serves requests on one member. Error contract: every method rejects with a
 * KvError (its `code` is the gRPC status), or with the caller's `signal.reason` when the
 * caller aborted.
 */
export class KvService {
  readonly backend: RaftBackend;
  readonly stateMachine: KvStateMachine;
  readonly limits: Readonly<KvLimits>;
  readonly requestTimeoutMs: number;
  /** proposalStats counts this member's proposals; see ProposalStats. */
  readonly proposalStats: ProposalStats = { pending: 0, failed: 0, onDone: undefined };
  /** deadlines holds every running request's timeout (one timer, not one per request). */
  private readonly deadlines = new DeadlineWheel();

  constructor(o: KvServiceOptions) {
    this.backend = o.backend;
    this.stateMachine = o.stateMachine;
    this.limits = Object.freeze({ ...DefaultLimits, ...o.limits });
    this.requestTimeoutMs = o.requestTimeoutMs ?? 5000;
    if (!(this.requestTimeoutMs > 0)) {
      throw new RangeError(`KvService: requestTimeoutMs ${this.requestTimeoutMs} must be > 0`);
    }
  }

  /** header returns the response header for a response at `revision` (default: current). */
  header(revision?: number): ResponseHeader {
    return {
      clusterId: this.backend.clusterId,
      memberId: this.backend.id,
      revision: revision ?? this.stateMachine.revision,
      raftTerm: this.backend.status().term,
    };
  }

  /** range serves KV.Range: after a ReadIndex, or at once when `serializable`. */
  range(r: RangeRequest, o: CallOptions = {}): Promise<RangeResponse> {
    return this.call(o, async (signal) => {
      checkRange(this.limits, r);
      if (!r.serializable) await this.linearize(signal);
      const out = this.stateMachine.range(r);
      return { ...out, header: this.header(out.header?.revision) };
    });
  }

  /** put serves KV.Put; `raw` is the request as it arrived, if it came as protobuf. */
  put(p: PutRequest, o: CallOptions & { raw?: Uint8Array } = {}): Promise<PutResponse> {
    return this.call(o, (signal) => {
      checkPut(this.limits, p);
      return this.write('put', p, o.raw, signal);
    });
  }

  /** deleteRange serves KV.DeleteRange. */
  deleteRange(
    d: DeleteRangeRequest,
    o: CallOptions & { raw?: Uint8Array } = {},
  ): Promise<DeleteRangeResponse> {
    return this.call(o, (signal) => {
      checkDeleteRange(this.limits, d);
      return this.write('deleteRange', d, o.raw, signal) as Promise<DeleteRangeResponse>;
    });
  }

  /**
   * txn serves KV.Txn as one proposal (applied atomically); a txn that cannot write is
   * served as a read, like etcd does.
   */
  txn(t: TxnRequest, o: CallOptions & { raw?: Uint8Array } = {}): Promise<TxnResponse> {
    return this.call(o, async (signal) => {
      checkTxn(this.limits, t);
      if (!isReadOnlyTxn(t)) return this.write('txn', t, o.raw, signal) as Promise<TxnResponse>;
      if (!serializableTxn(t)) await this.linearize(signal);
      const out = this.stateMachine.readTxn(t);
      return { ...out, header: this.header(out.header?.revision) };
    });
  }

  /** write proposes a write request; not async itself, see propose. */
  private write(
    kind: CommandKind,
    request: PutRequest | DeleteRangeRequest | TxnRequest,
    raw: Uint8Array | undefined,
    signal: RequestCall,
  ): Promise<Write> {
    const cmd = raw !== undefined ? wrapCommand(kind, raw) : encodeCommand({ [kind]: request });
    if (cmd.length > this.limits.maxRequestBytes) throw Etcd.requestTooLarge();
    return this.propose(cmd, signal, this.toWrite);
  }

  /** toWrite turns the state machine's result of a write into the write's answer. */
  private readonly toWrite = (applied: unknown): Write => {
    const result = applied as ApplyResult;
    if (result instanceof KvError) throw result;
    if (result === undefined) throw new KvError(GrpcCode.INTERNAL, 'raftkv: write had no result');
    return { ...result, header: this.header(result.header?.revision) };
  };

  /** publish proposes this member's attributes (name, client URLs) through raft. */
  publish(name: string, clientUrls: readonly string[], o: CallOptions = {}): Promise<void> {
    const cmd = encodeCommand({
      memberAttributes: { id: this.backend.id, name, clientUrls: [...clientUrls] },
    });
    return this.call(o, async (signal) => {
      await this.propose(cmd, signal);
    });
  }

  /** members lists the members (Cluster.MemberList), linearizably if asked. */
  memberList(linearizable: boolean, o: CallOptions = {}): Promise<Member[]> {
    return this.call(o, async (signal) => {
      if (linearizable) await this.linearize(signal);
      return this.members();
    });
  }

  /** members returns the configuration with each member's published attributes. */
  members(): Member[] {
    return this.backend.members().map((m) => {
      const a = this.stateMachine.memberAttributes(m.id);
      return {
        ID: m.id,
        name: a?.name ?? '',
        peerURLs: m.peerURLs,
        clientURLs: a?.clientUrls ?? [],
        isLearner: m.isLearner,
      };
    });
  }

  /** memberAdd adds a member (Cluster.MemberAdd) with a new random id and returns it. */
  memberAdd(peerURLs: readonly string[], isLearner: boolean, o: CallOptions = {}): Promise<Member> {
    return this.call(o, async (signal) => {
      checkPeerURLs(peerURLs);
      const current = this.backend.members();
      const taken = new Set(current.flatMap((m) => m.peerURLs));
      if (peerURLs.some((u) => taken.has(u))) throw Etcd.peerUrlExists();
      const ids = new Set(current.map((m) => m.id));
      let id = randomInt(1, 2 ** 48);
      while (ids.has(id)) id = randomInt(1, 2 ** 48);
      await this.backend.addMember(id, peerURLs, { learner: isLearner, signal });
      return { ID: id, name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner };
    });
  }

  /** memberRemove removes a member (Cluster.MemberRemove). */
  memberRemove(id: number, o: CallOptions = {}): Promise<Member[]> {
    return this.call(o, async (signal) => {
      const m = this.backend.members().find((x) => x.id === id);
      if (m === undefined) throw Etcd.memberNotFound();
      await this.backend.removeMember(id, { signal });
      return this.members();
    });
  }

  /** memberPromote makes a learner a voter (Cluster.MemberPromote). */
  memberPromote(id: number, o: CallOptions = {}): Promise<Member[]> {
    return this.call(o, async (signal) => {
      const m = this.backend.members().find((x) => x.id === id);
      if (m === undefined) throw Etcd.memberNotFound();
      if (!m.isLearner) throw Etcd.memberNotLearner();
      await this.backend.promoteMember(id, { signal });
      return this.members();
    });
  }

  /**
   * atLeader serves a leader-only request (a membership change): through `here` while this
   * member leads (or when there is no relay), and otherwise through `relay` to the leader
   * it knows, with the leader's answer, success or error, as the answer. Without a leader it
   * waits for one within the request's time, as writes do. A leader that cannot be reached
   * is tried again, after a backoff or once another leads; one that answers "not leader"
   * too, up to MaxRelayHops times. A request that was itself relayed here is never relayed
   * on: a member that does not lead answers it "not leader". After a relayed change, unless
   * `catchUp` is false (a member removing itself), the member waits (best effort) until it
   * has applied the change, so that its own MemberList shows it.
   */
  atLeader<T>(
    o: CallOptions,
    here: (o: CallOptions) => Promise<T>,
    relay: Relay<T> | undefined,
    catchUp = true,
  ): Promise<T> {
    const b = this.backend;
    if (relay === undefined || b.status().leader === b.id) return here(o);
    if (o.forwarded === true) return Promise.reject(Etcd.notLeader());
    return this.call(o, (signal) => this.relayToLeader(here, relay, catchUp, signal));
  }

  private async relayToLeader<T>(
    here: (o: CallOptions) => Promise<T>,
    relay: Relay<T>,
    catchUp: boolean,
    signal: RequestCall,
  ): Promise<T> {
    const b = this.backend;
    for (let hops = 0, backoffMs = 50; ; backoffMs = Math.min(backoffMs * 2, 1000)) {
      if (b.status().leader === 0) await this.waitForLeader(signal);
      const leader = b.status().leader;
      if (leader === b.id) return here({ signal: signal.signal });
      const clientURLs = this.stateMachine.memberAttributes(leader)?.clientUrls ?? [];
      try {
        const out = await relay({ id: leader, clientURLs }, signal);
        if (catchUp) {
          const bounded = AbortSignal.any([signal.signal, AbortSignal.timeout(CatchUpMs)]);
          await this.linearize(bounded).catch(() => undefined);
        }
        return out;
      } catch (err) {
        if (signal.aborted) throw err;
        const moved = isNotLeader(err);
        if (!moved && errorCode(err) !== RelayErrorCode.Unreachable) throw err;
        if (moved && ++hops >= MaxRelayHops) throw err;
      }
      await this.leaderChangeOr(leader, backoffMs, signal);
    }
  }

  /** leaderChangeOr resolves once a leader other than `from` is known, or after ms. */
  private leaderChangeOr(from: number, ms: number, signal: RequestCall): Promise<void> {
    const b = this.backend;
    if (b.status().leader !== from) return Promise.resolve();
    const w: { timer?: ReturnType<typeof setTimeout>; off?: () => void } = {};
    const stop = (): void => {
      clearTimeout(w.timer);
      w.off?.();
    };
    const d = new Deferred<void>(signal, stop);
    if (d.settled) return d.promise;
    const wake = (): void => {
      stop();
      d.resolve();
    };
    w.timer = setTimeout(wake, ms);
    w.off = b.onLeaderChange((l) => {
      if (l !== from) wake();
    });
    return d.promise;
  }

  /** moveLeader hands leadership to a voter (Maintenance.MoveLeader); leader only. */
  moveLeader(target: number, o: CallOptions = {}): Promise<void> {
    return this.call(o, async (signal) => {
      if (this.backend.status().leader !== this.backend.id) throw Etcd.notLeader();
      const m = this.backend.members().find((x) => x.id === target);
      if (m === undefined || m.isLearner) throw Etcd.badLeaderTransferee();
      await this.backend.transferLeadership(target, { signal });
    });
  }

  /** status answers Maintenance.Status from local state; it never waits. */
  status(): StatusResponse {
    const st = this.backend.status();
    const size = this.stateMachine.store.byteSize;
    return {
      header: this.header(),
      version: ServerVersion,
      dbSize: size,
      leader: st.leader,
      raftIndex: st.commitIndex,
      raftTerm: st.term,
      raftAppliedIndex: st.appliedIndex,
      errors: st.leader === 0 ? ['etcdserver: no leader'] : [],
      dbSizeInUse: size,
      isLearner: st.isLearner,
    };
  }

  /** health resolves with whether a linearizable read succeeds in time (etcd's /health). */
  async health(o: CallOptions = {}): Promise<{ health: boolean; reason: string }> {
    try {
      await this.call(o, (signal) => this.linearize(signal));
      return { health: true, reason: '' };
    } catch (err) {
      if (o.signal?.aborted === true || o.cancel?.cancelled === true) throw err;
      return { health: false, reason: err instanceof Error ? err.message : String(err) };
    }
  }

  /**
   * call runs one request under a RequestCall (the AbortLike its waits take) that aborts
   * when the caller cancels, the request timeout passes or the client's deadline does, and
   * turns what it throws into a KvError.
   */
  private async call<T>(o: CallOptions, f: (signal: RequestCall) => Promise<T> | T): Promise<T> {
    const c = new RequestCall(o, this.deadlines, this.requestTimeoutMs);
    try {
      return await f(c);
    } catch (err) {
      if (c.callerAborted) throw c.callerReason;
      throw this.toKvError(err, c.expired);
    } finally {
      c.finish();
    }
  }

  private toKvError(err: unknown, expired: Expiry): KvError {
    if (err instanceof KvError) return err;
    if (expired === Expiry.Deadline) {
      return new KvError(GrpcCode.DEADLINE_EXCEEDED, 'raftkv: client deadline exceeded', {
        cause: err,
      });
    }
    const noLeader = this.backend.status().leader === 0;
    if (expired === Expiry.Timeout) return noLeader ? Etcd.noLeader(err) : Etcd.timeout(err);
    switch (errorCode(err)) {
      case BackendErrorCode.ProposalDropped:
        return noLeader ? Etcd.noLeader(err) : Etcd.timeout(err);
      case BackendErrorCode.LeaderChanged:
        return Etcd.leaderChanged(err);
      case BackendErrorCode.OutcomeUnknown:
        return timeoutDueToLeaderFail();
      case BackendErrorCode.NotLeader:
        return Etcd.notLeader(err);
      case BackendErrorCode.NodeClosed:
      case BackendErrorCode.NodeStopped:
        return Etcd.stopped(err);
      case BackendErrorCode.TransferFailed:
        return new KvError(
          GrpcCode.UNAVAILABLE,
          'etcdserver: request timed out, leader transfer took too long',
          { cause: err },
        );
      case BackendErrorCode.LearnerNotReady:
        return Etcd.learnerNotReady(err);
    }
    const msg = err instanceof Error ? err.message : String(err);
    if (err instanceof RangeError) {
      return new KvError(GrpcCode.FAILED_PRECONDITION, `raftkv: ${msg}`, { cause: err });
    }
    return new KvError(GrpcCode.INTERNAL, `raftkv: internal error: ${msg}`, { cause: err });
  }

  private waitForLeader(signal: AbortLike): Promise<true> {
    const b = this.backend;
    return waitFor(
      (l) => b.onLeaderChange(l),
      () => (b.status().leader !== 0 ? true : undefined),
      signal,
    );
  }

  private async linearize(signal: AbortLike): Promise<void> {
    await this.waitForLeader(signal);
    await this.backend.readIndex({ signal });
  }

  /**
   * propose sends one command through raft, counted in proposalStats, until it is applied,
   * and resolves with map(result), or the result without a map. A proposal that raft
   * dropped or that lost its log slot to another leader was not applied, so it is retried
   * (with backoff, after a leader is known) until the signal aborts. One async function,
   * and no wait for a leader that is known: each async layer and await costs a put a few
   * hundred bytes of garbage.
   */
  private async propose<T = unknown>(
    cmd: Uint8Array,
    signal: RequestCall,
    map?: (result: unknown) => T,
  ): Promise<T> {
    const stats = this.proposalStats;
    const start = performance.now();
    let failed = true;
    stats.pending++;
    try {
      for (let backoffMs = 5; ; backoffMs = Math.min(backoffMs * 2, 200)) {
        if (this.backend.status().leader === 0) await this.waitForLeader(signal);
        let result: unknown;
        try {
          result = await this.backend.propose(cmd, { signal });
        } catch (err) {
          const code = errorCode(err);
          const retry =
            code === BackendErrorCode.ProposalDropped || code === BackendErrorCode.LeaderChanged;
          if (!retry || signal.aborted) throw err;
          await delay(backoffMs, undefined, { signal: signal.signal });
          continue;
        }
        failed = false;
        return map === undefined ? (result as T) : map(result);
      }
    } finally {
      stats.pending--;
      if (failed) stats.failed++;
      try {
        stats.onDone?.((performance.now() - start) / 1000, failed);
      } catch (err) {
        // A listener's failure is reported as uncaught; it never fails the write.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

function serializableTxn(t: TxnRequest): boolean {
  const ok = (op: RequestOp): boolean =>
    op.request === 'requestRange'
      ? op.requestRange?.serializable === true
      : op.request === 'requestTxn' && op.requestTxn != null && serializableTxn(op.requestTxn);
  return [...t.success, ...t.failure].every(ok);
}

function isNotLeader(err: unknown): boolean {
  const e = Etcd.notLeader();
  return err instanceof KvError && err.code === e.code && err.message === e.message;
}

function checkPeerURLs(urls: readonly string[]): void {
  if (urls.length === 0) {
    throw new KvError(GrpcCode.INVALID_ARGUMENT, 'raftkv: member needs at least one peer URL');
  }
  for (const u of urls) {
    if (!URL.canParse(u)) {
      throw new KvError(
        GrpcCode.INVALID_ARGUMENT,
        `raftkv: peer URL ${JSON.stringify(u)} is invalid`,
      );
    }
  }
}
