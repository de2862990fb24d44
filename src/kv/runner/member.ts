/**
 * One raftkv member, put together: DiskStorage (the WAL) in the data directory, the TCP
 * transport (optionally TLS) behind a MemberTransport, the Node, and KvServer on the client
 * port. `raftkv serve` runs one; `raftkv local` runs several, each in its own process.
 *
 * The data directory holds `member.json` (this member's id and cluster id, written once,
 * before the first start of the Node) and `wal/` (DiskStorage). A member restarted on its
 * data directory keeps its id and cluster id whatever the flags say (a different --id is
 * refused: reusing another member's log would break raft's safety).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Node } from '../../node/node.ts';
import type { PeerAddress } from '../../node/options.ts';
import type { Logger } from '../../raft/logger.ts';
import type { ConfState } from '../../raftpb/types.ts';
import { removedByMajority } from '../../transport/refusal.ts';
import type { PeerRefusal } from '../../transport/refusal.ts';
import { TcpTransport } from '../../transport/tcp.ts';
import type { TransportTlsOptions } from '../../transport/options.ts';
import { openDiskStorage } from '../../wal/storage.ts';
import type { DiskStorage } from '../../wal/storage.ts';
import { Telemetry } from '../dashboard/telemetry.ts';
import { nodeBackend } from '../node_backend.ts';
import { KvServer } from '../server.ts';
import { KvService } from '../service.ts';
import { KvStateMachine } from '../state_machine.ts';
import { adminRoutes } from './admin.ts';
import { joinCluster } from './join.ts';
import { MemberTransport } from './member_transport.ts';

/** TlsFiles are the PEM files of the peer transport's mutual TLS. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** allowed is the allow-list of peer identities; default raft://<cluster>/<id> of each peer. */
  allowed: string[];
}

/** MemberConfig is everything a member needs to start (serve.ts builds it from flags). */
export interface MemberConfig {
  /** id of this member; may be undefined when joining (then the cluster assigns one). */
  id: number | undefined;
  name: string | undefined;
  /** peers: the initial members (bootstrap) or the current ones (join); may include self. */
  peers: PeerAddress[];
  clientHost: string;
  clientPort: number;
  /** advertiseClientUrl is published as this member's client URL; default from the port. */
  advertiseClientUrl: string | undefined;
  /** peerAddr is where the transport listens ("host:port"). */
  peerAddr: string;
  /** advertisePeerAddr is where the others reach it; default peerAddr. */
  advertisePeerAddr: string;
  dataDir: string;
  /** join: client URLs of running members to join through (on an empty data directory). */
  join: string[];
  clusterToken: string;
  tls: TlsFiles | undefined;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  snapshotInterval: number;
  /** snapshotCatchupEntries is how many entries the log keeps behind a snapshot. */
  snapshotCatchupEntries: number;
  requestTimeoutMs: number;
  walSegmentBytes: number;
  allowFaultInjection: boolean;
}

/** Identity is member.json: who this data directory belongs to. */
export interface Identity {
  format: 1;
  id: number;
  clusterId: number;
  /** joined: the member joined a running cluster (its Node never bootstraps). */
  joined: boolean;
  /** peers known when the identity was written (a joiner's only way to its peers). */
  peers: PeerAddress[];
}

/**
 * StopReason says why a member stopped on its own: removed from the configuration (it
 * applied its removal, or its peers refuse it as removed; `detail` says which), or a fatal
 * error. `raftkv serve` exits 0 after a removal, 1 after a fatal error; the data directory
 * is kept either way.
 */
export type StopReason = { kind: 'removed'; detail: string } | { kind: 'fatal'; error: Error };

/** Member is a running member; close() stops it (the server, then the Node). */
export interface Member {
  readonly id: number;
  readonly clusterId: number;
  readonly node: Node;
  readonly server: KvServer;
  readonly transport: MemberTransport;
  /** stopped resolves when the member must stop on its own: removed, or a fatal error. */
  readonly stopped: Promise<StopReason>;
  close(): Promise<void>;
}

/**
 * clusterIdOfToken derives the cluster id (48 bits, as etcd's are shown) from the cluster
 * token: every member of a cluster, joiners included, must use the same token.
 */
export function clusterIdOfToken(token: string): number {
  return createHash('sha256').update(`raftkv-cluster:${token}`).digest().readUIntBE(0, 6);
}

const identityFile = 'member.json';

/** readIdentity returns the data directory's identity, or undefined for a new directory. */
export async function readIdentity(dataDir: string): Promise<Identity | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, identityFile), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const v = JSON.parse(text) as Partial<Identity>;
  if (v.format !== 1 || !Number.isSafeInteger(v.id) || !Number.isSafeInteger(v.clusterId)) {
    throw new Error(`${join(dataDir, identityFile)} is not a raftkv member identity`);
  }
  return {
    format: 1,
    id: v.id!,
    clusterId: v.clusterId!,
    joined: v.joined === true,
    peers: v.peers ?? [],
  };
}

/** writeIdentity writes member.json through a temporary file and a rename. */
async function writeIdentity(dataDir: string, id: Identity): Promise<void> {
  const path = join(dataDir, identityFile);
  await writeFile(`${path}.tmp`, JSON.stringify(id, null, 2) + '\n', { flush: true });
  await rename(`${path}.tmp`, path);
}

/** resolveIdentity reads the identity, or makes one (joining if asked) for a new directory. */
async function resolveIdentity(
  c: MemberConfig,
  log: Logger,
  signal: AbortSignal,
): Promise<Identity> {
  const found = await readIdentity(c.dataDir);
  if (found !== undefined) {
    if (c.id !== undefined && c.id !== found.id) {
      throw new RangeError(
        `${c.dataDir} belongs to member ${found.id}, not ${c.id}: give each member its own data directory`,
      );
    }
    return found;
  }
  let id: Identity;
  if (c.join.length > 0) {
    const scheme = c.tls === undefined ? 'http' : 'https';
    const j = await joinCluster({
      urls: c.join,
      peerURL: `${scheme}://${c.advertisePeerAddr}`,
      id: c.id,
      signal,
      log: (l) => log.warning(l),
    });
    log.info(
      `joined cluster ${j.clusterId.toString(16)} as learner ${j.id.toString(16)} (${j.id})`,
    );
    id = { format: 1, id: j.id, clusterId: j.clusterId, joined: true, peers: j.peers };
  } else {
    // Without --id and --peers, a one-member cluster (etcd does the same without flags).
    const self = c.id ?? 1;
    const peers = c.peers.length > 0 ? c.peers : [{ id: self, address: c.advertisePeerAddr }];
    if (!peers.some((p) => p.id === self)) {
      throw new RangeError(`--peers must name this member (${self}) to start a new cluster`);
    }
    id = {
      format: 1,
      id: self,
      clusterId: clusterIdOfToken(c.clusterToken),
      joined: false,
      peers,
    };
  }
  await writeIdentity(c.dataDir, id);
  return id;
}

/** mergePeers returns the identity's peers overridden by those given now (same id). */
function mergePeers(saved: readonly PeerAddress[], given: readonly PeerAddress[]): PeerAddress[] {
  const m = new Map(saved.map((p) => [p.id, p.address]));
  for (const p of given) m.set(p.id, p.address);
  return [...m].map(([id, address]) => ({ id, address }));
}

async function tlsOptions(
  t: TlsFiles,
  clusterId: number,
  ids: number[],
): Promise<TransportTlsOptions> {
  const [cert, key, ca] = await Promise.all(
    [t.certFile, t.keyFile, t.caFile].map((f) => readFile(f)),
  );
  const allowed = t.allowed.length > 0 ? t.allowed : ids.map((id) => `raft://${clusterId}/${id}`);
  return { cert: cert!, key: key!, ca: ca!, allowedPeers: allowed };
}

function memberIds(cs: ConfState): Set<number> {
  return new Set([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]);
}

/**
 * refusedAsRemoved says whether a peer's refusal shows that this member was removed: a
 * `removed-member` answer from a majority of the peers it knows, or from the last leader
 * it heard of. One refusal from another peer is not enough (a peer restored from a stale
 * state, say); the member keeps dialing and decides on the next answers.
 */
export function refusedAsRemoved(r: PeerRefusal, lastLeader: number): boolean {
  if (r.reason !== 'removed-member') return false;
  return removedByMajority(r) || r.peer === lastLeader;
}

/**
 * watchStop resolves when this member is removed from the configuration (it was in one,
 * and a later one drops it: etcd's member then stops too), when its peers refuse it as a
 * removed member (it missed its removal while cut off: the leader stopped sending to it
 * before it learned of the commit), or when the Node fails.
 */
function watchStop(node: Node, tcp: TcpTransport, log: Logger): Promise<StopReason> {
  let wasMember = memberIds(node.status().confState).has(node.id);
  let lastLeader = node.leader;
  return new Promise((resolve) => {
    node.on('membershipChange', (cs) => {
      const isMember = memberIds(cs).has(node.id);
      if (isMember) wasMember = true;
      else if (wasMember && cs.voters.length > 0)
        resolve({ kind: 'removed', detail: 'it applied a configuration without itself' });
    });
    node.on('leaderChange', (e) => {
      if (e.leader !== 0) lastLeader = e.leader;
    });
    tcp.onRefusal((r) => {
      if (!refusedAsRemoved(r, lastLeader)) return;
      const by =
        r.peer === lastLeader && !removedByMajority(r)
          ? `its last known leader ${r.peer}`
          : `peers ${r.removedBy.join(', ')} (of ${r.peers} known)`;
      const detail = `${by} refuse its connections as removed-member (${r.detail})`;
      log.warning(`member ${node.id}: ${detail}: it was removed while cut off; stopping`);
      resolve({ kind: 'removed', detail });
    });
    node.on('fatal', (error) => resolve({ kind: 'fatal', error }));
  });
}

/** NodeParts are what startMember builds before the client port. */
interface NodeParts {
  identity: Identity;
  storage: DiskStorage;
  tcp: TcpTransport;
  transport: MemberTransport;
  node: Node;
  sm: KvStateMachine;
}

async function startNode(
  c: MemberConfig,
  log: Logger,
  signal: AbortSignal,
  telemetry: Telemetry,
): Promise<NodeParts> {
  await mkdir(c.dataDir, { recursive: true });
  const identity = await resolveIdentity(c, log, signal);
  const { id, clusterId } = identity;
  const peers = mergePeers(identity.peers, c.peers);
  const ids = [...new Set([id, ...peers.map((p) => p.id)])];
  const tls = c.tls === undefined ? undefined : await tlsOptions(c.tls, clusterId, ids);
  const storage = await openDiskStorage(join(c.dataDir, 'wal'), {
    logger: log,
    segmentSize: c.walSegmentBytes,
    fs: telemetry.walFS(),
  });
  // Only the member with the lower id dials; a restarted peer waits for its redial, so the
  // backoff is capped at 1 s (default 5 s) to bring links back well within an election.
  // The other side dials (probes) after 2 s without a link: a member removed while cut off
  // hears its peers refuse it even if it has the highest id (watchStop).
  const tcp = new TcpTransport({
    id,
    clusterId,
    listen: c.peerAddr,
    logger: log,
    backoff: { initialMs: 100, maxMs: 1000 },
    probeIntervalMs: 2000,
    ...(tls && { tls }),
  });
  const transport = new MemberTransport(tcp);
  const sm = new KvStateMachine();
  try {
    const node = await Node.start({
      id,
      storage,
      transport: telemetry.transport(transport),
      stateMachine: sm,
      peers: identity.joined ? peers.filter((p) => p.id !== id) : peers,
      join: identity.joined,
      tickMs: c.tickMs,
      electionTick: c.electionTicks,
      heartbeatTick: c.heartbeatTicks,
      snapshotInterval: c.snapshotInterval,
      compactionMargin: c.snapshotCatchupEntries,
      logger: log,
    });
    return { identity, storage, tcp, transport, node, sm };
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
}

/**
 * startMember starts a member on its data directory and resolves once its client port
 * listens. It rejects with a RangeError for a configuration that cannot work (--peers
 * without this member, a data directory of another member), with `signal.reason` if aborted while joining, and
 * with what opening the WAL or listening throws (the parts started are closed again).
 */
export async function startMember(
  c: MemberConfig,
  log: Logger,
  signal: AbortSignal,
): Promise<Member> {
  const telemetry = new Telemetry();
  const { identity, storage, tcp, transport, node, sm } = await startNode(
    c,
    log,
    signal,
    telemetry,
  );
  telemetry.attach({ node, storage, transport: tcp });
  const { id, clusterId } = identity;
  const scheme = c.tls === undefined ? 'http' : 'https';
  const selfURL = `${scheme}://${c.advertisePeerAddr}`;
  const peerURLs = (m: number): string[] => {
    if (m === id) return [selfURL];
    const a = transport.address(m);
    return a === undefined ? [] : [`${scheme}://${a}`];
  };
  const backend = nodeBackend(node, { clusterId, peerURLs });
  const service = new KvService({
    backend,
    stateMachine: sm,
    requestTimeoutMs: c.requestTimeoutMs,
  });
  const routes: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined =
    c.allowFaultInjection ? adminRoutes(transport, log) : undefined;
  let server: KvServer;
  try {
    server = await KvServer.listen({
      service,
      host: c.clientHost,
      port: c.clientPort,
      name: c.name ?? `raftkv-${id}`,
      ...(c.advertiseClientUrl !== undefined && { clientURLs: [c.advertiseClientUrl] }),
      ...(routes !== undefined && { httpRoutes: routes }),
      telemetry,
    });
  } catch (err) {
    await node.close({ signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    throw err;
  }
  const stopped = watchStop(node, tcp, log);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await server.close();
      await node.close({ signal: AbortSignal.timeout(5000) });
      telemetry.close();
    })());
  return { id, clusterId, node, server, transport, stopped, close };
}
