/**
 * Test support for raftkv: a whole member on a loopback port (LocalBackend), a backend
 * whose leader and proposals the test controls, and byte helpers. Not part of the API.
 */
import { BackendError, BackendErrorCode } from './backend.ts';
import type { BackendMember, BackendStatus, BackendWaitOptions, RaftBackend } from './backend.ts';
import { LocalBackend } from './local_backend.ts';
import { KvServer } from './server.ts';
import type { KvServerOptions } from './server.ts';
import { KvService } from './service.ts';
import type { KvServiceOptions } from './service.ts';
import { KvStateMachine } from './state_machine.ts';
import type {
  Compare,
  CompareResult,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from './types.ts';
import { Deferred } from './wait.ts';
import type { AbortLike } from '../node/waiter.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** b encodes a string as UTF-8 bytes. */
export function b(s: string): Uint8Array {
  return enc.encode(s);
}

/** str decodes UTF-8 bytes. */
export function str(u: Uint8Array | undefined): string {
  return u === undefined ? '' : dec.decode(u);
}

/** Stack is one raftkv member on a loopback port. */
export interface Stack {
  sm: KvStateMachine;
  backend: RaftBackend;
  service: KvService;
  server: KvServer;
  url: string;
  close(): Promise<void>;
}

/** StackOptions configure startStack(). */
export interface StackOptions {
  /** backend replaces the LocalBackend (it must apply to `sm`). */
  backend?: (sm: KvStateMachine) => RaftBackend | Promise<RaftBackend>;
  service?: Partial<Omit<KvServiceOptions, 'backend' | 'stateMachine'>>;
  server?: Partial<Omit<KvServerOptions, 'service'>>;
}

/** startStack starts a member (a LocalBackend unless told otherwise) on 127.0.0.1:0. */
export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const sm = new KvStateMachine();
  const local =
    o.backend === undefined ? await LocalBackend.start({ stateMachine: sm }) : undefined;
  const backend = local ?? (await (o.backend as NonNullable<StackOptions['backend']>)(sm));
  const service = new KvService({ backend, stateMachine: sm, ...o.service });
  const server = await KvServer.listen({ service, port: 0, ...o.server });
  return {
    sm,
    backend,
    service,
    server,
    url: server.url,
    close: async () => {
      await server.close();
      await local?.close();
    },
  };
}

/**
 * StubBackend is a RaftBackend that applies proposals to a KvStateMachine at once, with a
 * leader the test sets (setLeader) and proposals the test can hold (hold/release).
 */
export class StubBackend implements RaftBackend {
  readonly id = 7;
  readonly clusterId = 99;
  leader = 7;
  term = 3;
  /** proposals counts propose() calls that reached the backend. */
  proposals = 0;
  /** dropNext makes the next n proposals fail with ERR_PROPOSAL_DROPPED. */
  dropNext = 0;
  private held: Deferred<void> | undefined;
  private readonly listeners = new Set<(leader: number) => void>();
  private readonly sm: KvStateMachine;

  constructor(sm: KvStateMachine) {
    this.sm = sm;
  }

  /** setLeader changes the leader and tells the listeners. */
  setLeader(id: number): void {
    this.leader = id;
    for (const l of [...this.listeners]) l(id);
  }

  /** hold makes proposals and reads wait until release(). */
  hold(): void {
    this.held = new Deferred<void>();
  }

  /** release lets held proposals and reads go on. */
  release(): void {
    this.held?.resolve();
    this.held = undefined;
  }

  private async gate(signal: AbortLike | undefined): Promise<void> {
    if (this.held === undefined) return;
    const d = new Deferred<void>(signal);
    void this.held.promise.then(() => d.resolve());
    await d.promise;
  }

  /** propose implements RaftBackend: without a leader raft drops it, as the Node does. */
  async propose(cmd: Uint8Array, o: BackendWaitOptions = {}): Promise<unknown> {
    this.proposals++;
    if (this.leader === 0 || this.dropNext > 0) {
      this.dropNext = Math.max(0, this.dropNext - 1);
      throw new BackendError(BackendErrorCode.ProposalDropped, 'raft proposal dropped');
    }
    await this.gate(o.signal);
    return this.sm.applyData(cmd);
  }

  /** readIndex implements RaftBackend: waits (like the Node) while there is no leader. */
  async readIndex(o: BackendWaitOptions = {}): Promise<void> {
    if (this.leader === 0) await new Deferred<void>(o.signal).promise;
    await this.gate(o.signal);
  }

  /** status implements RaftBackend. */
  status(): BackendStatus {
    return {
      leader: this.leader,
      term: this.term,
      commitIndex: 5,
      appliedIndex: 5,
      isLearner: false,
    };
  }

  /** members implements RaftBackend. */
  members(): BackendMember[] {
    return [{ id: this.id, peerURLs: ['http://127.0.0.1:1'], isLearner: false }];
  }

  /** addMember implements RaftBackend (refused). */
  addMember(): Promise<void> {
    return Promise.reject(new BackendError(BackendErrorCode.NotLeader, 'not leader'));
  }

  /** promoteMember implements RaftBackend (refused). */
  promoteMember(): Promise<void> {
    return Promise.reject(new BackendError(BackendErrorCode.NotLeader, 'not leader'));
  }

  /** removeMember implements RaftBackend (refused). */
  removeMember(): Promise<void> {
    return Promise.reject(new BackendError(BackendErrorCode.NotLeader, 'not leader'));
  }

  /** transferLeadership implements RaftBackend (refused). */
  transferLeadership(): Promise<void> {
    return Promise.reject(new BackendError(BackendErrorCode.TransferFailed, 'transfer failed'));
  }

  /** onLeaderChange implements RaftBackend. */
  onLeaderChange(listener: (leader: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** until polls cond every few milliseconds until it holds; throws after maxMs. */
export async function until(cond: () => boolean, maxMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${maxMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** rangeReq builds a RangeRequest with etcd's defaults. */
export function rangeReq(key: string, o: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: b(key),
    rangeEnd: new Uint8Array(),
    limit: 0,
    revision: 0,
    sortOrder: 0,
    sortTarget: 0,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...o,
  };
}

/** putReq builds a PutRequest. */
export function putReq(key: string, value: string, o: Partial<PutRequest> = {}): PutRequest {
  const base = { lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false };
  return { key: b(key), value: b(value), ...base, ...o };
}

/** delReq builds a DeleteRangeRequest. */
export function delReq(key: string, o: Partial<DeleteRangeRequest> = {}): DeleteRangeRequest {
  return { key: b(key), rangeEnd: new Uint8Array(), prevKv: false, ...o };
}

/** cmp builds a Compare of key's target against a number or a string value. */
export function cmp(
  key: string,
  target: 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease',
  result: CompareResult,
  operand: number | string,
): Compare {
  const targets = { version: 0, createRevision: 1, modRevision: 2, value: 3, lease: 4 } as const;
  const c: Compare = { result, target: targets[target], key: b(key), rangeEnd: new Uint8Array() };
  c.targetUnion = target;
  if (typeof operand === 'string') c.value = b(operand);
  else c[target as 'version'] = operand;
  return c;
}

/** op wraps a request as a RequestOp. */
export function op(
  r:
    | { range: RangeRequest }
    | { put: PutRequest }
    | { del: DeleteRangeRequest }
    | { txn: TxnRequest },
): RequestOp {
  if ('range' in r) return { request: 'requestRange', requestRange: r.range };
  if ('put' in r) return { request: 'requestPut', requestPut: r.put };
  if ('del' in r) return { request: 'requestDeleteRange', requestDeleteRange: r.del };
  return { request: 'requestTxn', requestTxn: r.txn };
}
