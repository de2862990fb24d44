import type { Config } from '../raft/config.ts';
import type { Peer } from '../raft/rawnode.ts';
import { isEmptyHardState, isEmptySnap } from '../raftpb/types.ts';
import { encodeAddressContext } from './envelope.ts';
import { discardLogger } from '../raft/logger.ts';
import type { Logger } from '../raft/logger.ts';
import type { DurableStorage, StateMachine, Transport } from './interfaces.ts';

/** PeerAddress names a node and the address its transport listens on. */
export interface PeerAddress {
  id: number;
  address: string;
}

/**
 * RaftTuning are the raft core settings a Node passes through (see src/raft/config.ts).
 * The Node's defaults: maxSizePerMsg 1 MiB, maxInflightMsgs 256, checkQuorum, preVote and
 * stepDownOnRemoval on.
 */
export type RaftTuning = Partial<
  Pick<
    Config,
    | 'maxSizePerMsg'
    | 'maxCommittedSizePerReady'
    | 'maxUncommittedEntriesSize'
    | 'maxInflightMsgs'
    | 'maxInflightBytes'
    | 'checkQuorum'
    | 'preVote'
    | 'readOnlyOption'
    | 'stepDownOnRemoval'
    | 'randomIntn'
  >
>;

/** NodeOptions configures Node.start(). Only id, storage, transport and stateMachine are required. */
export interface NodeOptions {
  /** id is this node's id: a positive safe integer, unique in the cluster, never reused. */
  id: number;
  /** storage holds the log, hard state and snapshots; the Node closes it in close(). */
  storage: DurableStorage;
  /** transport carries raft messages; the Node starts it and closes it in close(). */
  transport: Transport;
  /** stateMachine is the application's replicated state. */
  stateMachine: StateMachine;
  /**
   * peers are the cluster's initial members with their addresses. On an empty storage
   * (and without `join`) the Node bootstraps the cluster with them: every initial member
   * must get the same list. Otherwise they only seed the transport's address list.
   */
  peers?: readonly PeerAddress[];
  /**
   * join starts a node with an empty storage that an existing cluster will add (with
   * addVoter/addLearner on its leader) instead of bootstrapping; `peers` should then name
   * the current members so that this node can answer them. Default false.
   */
  join?: boolean;
  /** tickMs is the length of one raft tick in milliseconds. Default 100. */
  tickMs?: number;
  /** electionTick is the election timeout in ticks. Default 10. */
  electionTick?: number;
  /** heartbeatTick is the leader's heartbeat interval in ticks. Default 1. */
  heartbeatTick?: number;
  /** snapshotInterval: snapshot after this many applied entries; 0 never. Default 10000. */
  snapshotInterval?: number;
  /**
   * compactionMargin is how many entries the log keeps behind a snapshot, so that a
   * follower slightly behind catches up by log rather than by snapshot. Default 5000.
   */
  compactionMargin?: number;
  /**
   * asyncStorageWrites lets the leader write its own log in parallel with replication and
   * overlaps writes with applies (etcd-raft's AsyncStorageWrites). Default true.
   */
  asyncStorageWrites?: boolean;
  /**
   * forwardProposals makes a follower forward proposals to the leader (etcd's behaviour).
   * When false, propose() on a follower rejects with ErrNotLeader (hashicorp's). Default true.
   */
  forwardProposals?: boolean;
  /** raft passes settings through to the raft core. */
  raft?: RaftTuning;
  /** logger receives raft's and the Node's log lines. Default: none. */
  logger?: Logger;
}

/** ResolvedOptions are NodeOptions with every default filled in. */
export interface ResolvedOptions {
  id: number;
  storage: DurableStorage;
  transport: Transport;
  stateMachine: StateMachine;
  peers: readonly PeerAddress[];
  join: boolean;
  tickMs: number;
  electionTick: number;
  heartbeatTick: number;
  snapshotInterval: number;
  compactionMargin: number;
  asyncStorageWrites: boolean;
  forwardProposals: boolean;
  raft: RaftTuning;
  logger: Logger;
}

/** idError returns a RangeError naming `what` unless id is a positive safe integer. */
export function idError(what: string, id: unknown): RangeError | undefined {
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return undefined;
  return new RangeError(`${what}: node id ${String(id)} must be a positive safe integer`);
}

/** checkId throws a RangeError unless id is a positive safe integer. */
export function checkId(what: string, id: unknown): number {
  const err = idError(what, id);
  if (err !== undefined) throw err;
  return id as number;
}

function checkCount(what: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`Node.start: ${what} ${v} must be an integer >= ${min}`);
  }
  return v;
}

/** resolveOptions fills in defaults; it throws TypeError/RangeError naming a bad option. */
export function resolveOptions(o: NodeOptions): ResolvedOptions {
  for (const k of ['storage', 'transport', 'stateMachine'] as const) {
    if (typeof o[k] !== 'object' || o[k] === null) {
      throw new TypeError(`Node.start: options.${k} is required`);
    }
  }
  const peers = (o.peers ?? []).map((p) => ({
    id: checkId('Node.start peers', p.id),
    address: p.address,
  }));
  const seen = new Set<number>();
  for (const p of peers) {
    if (typeof p.address !== 'string' || p.address === '') {
      throw new TypeError(`Node.start: peer ${p.id} needs a non-empty address`);
    }
    if (seen.has(p.id)) throw new RangeError(`Node.start: peer ${p.id} is listed twice`);
    seen.add(p.id);
  }
  const tickMs = o.tickMs ?? 100;
  if (!(tickMs > 0) || !Number.isFinite(tickMs)) {
    throw new RangeError(`Node.start: tickMs ${tickMs} must be a positive number`);
  }
  return {
    id: checkId('Node.start', o.id),
    storage: o.storage,
    transport: o.transport,
    stateMachine: o.stateMachine,
    peers,
    join: o.join ?? false,
    tickMs,
    electionTick: checkCount('electionTick', o.electionTick ?? 10, 1),
    heartbeatTick: checkCount('heartbeatTick', o.heartbeatTick ?? 1, 1),
    snapshotInterval: checkCount('snapshotInterval', o.snapshotInterval ?? 10_000, 0),
    compactionMargin: checkCount('compactionMargin', o.compactionMargin ?? 5_000, 0),
    asyncStorageWrites: o.asyncStorageWrites ?? true,
    forwardProposals: o.forwardProposals ?? true,
    raft: o.raft ?? {},
    logger: o.logger ?? discardLogger,
  };
}

/** raftConfig builds the raft core's Config for a Node. */
export function raftConfig(o: ResolvedOptions, applied: number): Config {
  return {
    maxSizePerMsg: 1024 * 1024,
    maxInflightMsgs: 256,
    checkQuorum: true,
    preVote: true,
    stepDownOnRemoval: true,
    ...o.raft,
    id: o.id,
    electionTick: o.electionTick,
    heartbeatTick: o.heartbeatTick,
    storage: o.storage,
    applied,
    asyncStorageWrites: o.asyncStorageWrites,
    disableProposalForwarding: !o.forwardProposals,
    logger: o.asyncStorageWrites ? withRoutineWriteNotices(o.logger) : o.logger,
  };
}

/**
 * ROUTINE_WRITE_NOTICE matches raft's notice that a completed write named an entry no longer
 * in its unstable log. With asynchronous storage writes this is routine, not a problem: a
 * write that carries only a new HardState (say, the commit index) while entries are still
 * being written names the last of those entries, and when it completes after them (one
 * fsync makes both durable) they have already left the unstable log. Raft ignores it, as it
 * must; at info level it was one line per few dozen proposals under load.
 */
const ROUTINE_WRITE_NOTICE = /^entry at index \d+ missing from unstable log; ignoring$/;

/** withRoutineWriteNotices passes everything to logger, but ROUTINE_WRITE_NOTICE at debug. */
export function withRoutineWriteNotices(logger: Logger): Logger {
  return {
    debug: (m) => logger.debug(m),
    info: (m) => (ROUTINE_WRITE_NOTICE.test(m) ? logger.debug(m) : logger.info(m)),
    warning: (m) => logger.warning(m),
    error: (m) => logger.error(m),
    fatal: (m) => logger.fatal(m),
    panic: (m) => logger.panic(m),
  };
}

/** isFresh reports whether a storage has never been written. */
export function isFresh(s: DurableStorage): boolean {
  const hs = s.initialState().hardState;
  return s.lastIndex() === 0 && isEmptySnap(s.snapshot()) && isEmptyHardState(hs);
}

/**
 * bootstrapPeers returns the initial members for RawNode.bootstrap, each with its address
 * in the conf change context (format 2 of envelope.ts). It throws a RangeError when peers
 * is empty or misses this node.
 */
export function bootstrapPeers(o: ResolvedOptions): Peer[] {
  if (o.peers.length === 0) {
    throw new RangeError('Node.start: an empty storage needs options.peers (or options.join)');
  }
  if (!o.peers.some((p) => p.id === o.id)) {
    throw new RangeError(`Node.start: options.peers must include this node (${o.id})`);
  }
  return o.peers.map((p) => ({
    id: p.id,
    context: encodeAddressContext(new Map([[p.id, p.address]])),
  }));
}
