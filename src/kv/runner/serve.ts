/**
 * `raftkv serve`: one member of a cluster, on its own machine (or its own process). It runs
 * until SIGINT or SIGTERM (or, when started by `raftkv local`, until its supervisor goes
 * away), then closes the client port and the Node, and exits 0. A member removed from the
 * configuration stops by itself, as etcd's does.
 */
import { parseAddress } from '../../transport/options.ts';
import type { PeerAddress } from '../../node/options.ts';
import type { Flags, FlagSpec } from './flags.ts';
import { capHeapGrowth, reduceWhenIdle } from './heap.ts';
import type { IdleReduction } from './heap.ts';
import { FlagType, helpText, parseFlags, UsageError } from './flags.ts';
import { isLogLevel, levelLogger } from './log.ts';
import type { LogLevel } from './log.ts';
import { clusterIdOfToken, startMember } from './member.ts';
import type { MemberConfig } from './member.ts';

const S = FlagType.String;
const I = FlagType.Int;
const B = FlagType.Bool;

/** timingFlags are the raft timing flags, shared with `raftkv local`. */
export const timingFlags: FlagSpec[] = [
  {
    name: 'tick-ms',
    type: I,
    min: 1,
    fallback: '100',
    help: 'length of one raft tick, in milliseconds',
  },
  {
    name: 'election-ticks',
    type: I,
    min: 2,
    fallback: '10',
    help: 'election timeout in ticks; each follower waits a random 1-2x this long for a leader',
  },
  {
    name: 'heartbeat-ticks',
    type: I,
    min: 1,
    fallback: '1',
    help: "the leader's heartbeat interval in ticks",
  },
  {
    name: 'log-level',
    type: S,
    placeholder: 'level',
    fallback: 'info',
    help: 'least severe log level printed: debug, info, warn or error',
  },
];

/** serveFlags are the flags of `raftkv serve`. */
export const serveFlags: FlagSpec[] = [
  {
    name: 'id',
    type: I,
    min: 1,
    placeholder: 'N',
    help: 'member id (decimal, or hex with 0x as etcdctl prints it); not needed with --join',
  },
  { name: 'name', type: S, fallback: 'raftkv-<id>', help: 'member name shown by member list' },
  {
    name: 'peers',
    type: S,
    placeholder: 'id=host:port,...',
    help: 'the initial members and their peer addresses (or, with --join, the current ones)',
  },
  {
    name: 'client-addr',
    type: S,
    placeholder: 'host:port',
    fallback: '127.0.0.1:2379',
    help: 'where clients connect: the etcd v3 gRPC API and the JSON API on one port',
  },
  {
    name: 'advertise-client-url',
    type: S,
    placeholder: 'url',
    fallback: 'http://<client-addr>',
    help: 'client URL published to the cluster (member list)',
  },
  {
    name: 'peer-addr',
    type: S,
    placeholder: 'host:port',
    fallback: "this member's entry in --peers",
    help: 'where this member listens for raft traffic from its peers',
  },
  {
    name: 'advertise-peer-addr',
    type: S,
    placeholder: 'host:port',
    fallback: '--peer-addr',
    help: 'where the peers reach this member (when it listens on 0.0.0.0 or behind NAT)',
  },
  {
    name: 'data-dir',
    type: S,
    placeholder: 'dir',
    fallback: './raftkv-data',
    help: 'the WAL and member.json',
  },
  {
    name: 'join',
    type: S,
    placeholder: 'url,...',
    help: 'client URLs of a running cluster: on an empty --data-dir, ask it to add this member as a learner',
  },
  {
    name: 'cluster-token',
    type: S,
    placeholder: 'token',
    fallback: 'raftkv',
    help: 'names the cluster: its cluster id is derived from it (the same on every member)',
  },
  {
    name: 'peer-cert-file',
    type: S,
    placeholder: 'file',
    help: "TLS for peers: this member's certificate (PEM)",
  },
  {
    name: 'peer-key-file',
    type: S,
    placeholder: 'file',
    help: "TLS for peers: this member's private key (PEM)",
  },
  {
    name: 'peer-trusted-ca-file',
    type: S,
    placeholder: 'file',
    help: 'TLS for peers: the CA that signs every member (PEM)',
  },
  {
    name: 'peer-allowed',
    type: S,
    placeholder: 'identity,...',
    fallback: 'raft://<cluster id>/<id> of each peer',
    help: 'TLS for peers: certificate identities (CN or SAN URI) allowed to connect',
  },
  ...timingFlags,
  {
    name: 'snapshot-interval',
    type: I,
    fallback: '10000',
    help: 'take a snapshot every this many applied entries (0: never)',
  },
  {
    name: 'snapshot-catchup-entries',
    type: I,
    fallback: '5000',
    help: 'log entries kept behind each snapshot, for slow followers to catch up without one',
  },
  {
    name: 'request-timeout-ms',
    type: I,
    min: 1,
    fallback: '5000',
    help: 'bound on every client request, the wait for a leader included (then UNAVAILABLE)',
  },
  {
    name: 'wal-segment-bytes',
    type: I,
    min: 512,
    fallback: '67108864',
    help: 'size of one WAL segment file',
  },
  {
    name: 'heap-growing-percent',
    type: I,
    fallback: '30',
    help: "V8's old-generation growth between full GCs once the heap is large, in percent of the live heap (0: V8's own)",
  },
  {
    name: 'heap-growing-from-mb',
    type: I,
    fallback: '192',
    help: 'heap in use (MB) from which --heap-growing-percent applies (0: from the start)',
  },
  {
    name: 'idle-compact-secs',
    type: I,
    fallback: '5',
    help: 'quiet seconds (nothing applied, idle event loop) after which V8 compacts a heap that grew; the next few seconds of load then run slower while code warms up again (0: never)',
  },
  {
    name: 'allow-fault-injection',
    type: B,
    help: 'serve POST /admin/isolate and /admin/heal on the client port (raftkv local sets it)',
  },
];

const serveDescription = `
Runs one member of a raftkv cluster: a key-value store with etcd's v3 API (etcdctl and etcd
clients work against --client-addr), replicated with raft over TCP (--peer-addr).

A new cluster: start every member with the same --peers and its own --id:
  raftkv serve --id 1 --peers 1=10.0.0.1:2380,2=10.0.0.2:2380,3=10.0.0.3:2380 \\
    --client-addr 10.0.0.1:2379 --data-dir /var/lib/raftkv

A new member of a running cluster: --join names its client URLs; the member is added as a
learner (promote it with etcdctl member promote <id> once it has caught up):
  raftkv serve --join http://10.0.0.1:2379 --peer-addr 10.0.0.4:2380 \\
    --client-addr 10.0.0.4:2379 --data-dir /var/lib/raftkv

A restart needs only --data-dir (and the addresses): the id and cluster are in it.`;

/** serveHelp is the text of `raftkv serve --help`. */
export const serveHelp = helpText('raftkv serve [flags]', serveDescription, serveFlags);

/** parsePeers reads "1=host:port,2=http://host:port" into peer addresses. */
export function parsePeers(items: readonly string[]): PeerAddress[] {
  const seen = new Set<number>();
  return items.map((item) => {
    const m = /^(0x[0-9a-f]+|\d+)=(.+)$/i.exec(item);
    const id = m === null ? NaN : Number(m[1]);
    if (m === null || !Number.isSafeInteger(id) || id <= 0) {
      throw new UsageError(`--peers: ${JSON.stringify(item)} is not id=host:port`);
    }
    let address = m[2] as string;
    if (/^https?:\/\//.test(address)) address = new URL(address).host;
    checkAddress('--peers', address);
    if (seen.has(id)) throw new UsageError(`--peers: member ${id} is listed twice`);
    seen.add(id);
    return { id, address };
  });
}

function checkAddress(flag: string, address: string): { host: string; port: number } {
  try {
    const a = parseAddress(address);
    return { host: a.host === '' ? '0.0.0.0' : a.host, port: a.port };
  } catch (err) {
    throw new UsageError(`${flag}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** logLevelOf reads --log-level. */
export function logLevelOf(f: Flags): LogLevel {
  const l = f.string('log-level', 'info');
  if (!isLogLevel(l))
    throw new UsageError(`--log-level: ${JSON.stringify(l)} is not debug, info, warn or error`);
  return l;
}

function tlsFiles(f: Flags): MemberConfig['tls'] {
  const names = ['peer-cert-file', 'peer-key-file', 'peer-trusted-ca-file'];
  const given = names.filter((n) => f.has(n));
  if (given.length === 0) return undefined;
  if (given.length < names.length) {
    throw new UsageError(`peer TLS needs all of --${names.join(', --')}`);
  }
  return {
    certFile: f.string('peer-cert-file', ''),
    keyFile: f.string('peer-key-file', ''),
    caFile: f.string('peer-trusted-ca-file', ''),
    allowed: f.list('peer-allowed'),
  };
}

/** serveConfig builds a member's configuration from the flags; it throws UsageError. */
export function serveConfig(f: Flags): MemberConfig {
  const id = f.int('id');
  const peers = parsePeers(f.list('peers'));
  const join = f.list('join');
  const clientAddr = f.string('client-addr', '127.0.0.1:2379');
  const client = checkAddress('--client-addr', clientAddr);
  const own = peers.find((p) => p.id === id)?.address;
  const peerAddr = f.string('peer-addr') ?? own ?? '127.0.0.1:2380';
  checkAddress('--peer-addr', peerAddr);
  const advertisePeerAddr = f.string('advertise-peer-addr', peerAddr);
  checkAddress('--advertise-peer-addr', advertisePeerAddr);
  if (id === undefined && join.length === 0 && peers.length > 0) {
    throw new UsageError('--id is required with --peers (or --join to join a running cluster)');
  }
  const electionTicks = f.int('election-ticks', 10);
  const heartbeatTicks = f.int('heartbeat-ticks', 1);
  if (heartbeatTicks >= electionTicks) {
    throw new UsageError(
      `--heartbeat-ticks ${heartbeatTicks} must be less than --election-ticks ${electionTicks}`,
    );
  }
  return {
    id,
    name: f.string('name'),
    peers,
    clientHost: client.host,
    clientPort: client.port,
    advertiseClientUrl: f.string('advertise-client-url'),
    peerAddr,
    advertisePeerAddr,
    dataDir: f.string('data-dir', './raftkv-data'),
    join,
    clusterToken: f.string('cluster-token', 'raftkv'),
    tls: tlsFiles(f),
    tickMs: f.int('tick-ms', 100),
    electionTicks,
    heartbeatTicks,
    snapshotInterval: f.int('snapshot-interval', 10_000),
    snapshotCatchupEntries: f.int('snapshot-catchup-entries', 5000),
    requestTimeoutMs: f.int('request-timeout-ms', 5000),
    walSegmentBytes: f.int('wal-segment-bytes', 64 * 1024 * 1024),
    allowFaultInjection: f.bool('allow-fault-injection'),
  };
}

/**
 * onceStopRequested resolves with the first SIGINT/SIGTERM/SIGHUP, or when the supervisor
 * goes. The handlers stay: a Ctrl-C reaches a member both from the terminal and from its
 * supervisor, and the second signal must not kill it halfway through closing (the
 * supervisor sends SIGKILL if closing takes too long).
 */
function onceStopRequested(): Promise<string> {
  return new Promise((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => resolve(sig));
    // Started by `raftkv local` with an IPC channel: its end means the supervisor is gone.
    if (process.channel !== undefined) {
      process.channel.unref();
      process.once('disconnect', () => resolve('supervisor gone'));
    }
  });
}

/**
 * heapCap returns how a member caps V8's old-generation growth: --heap-growing-percent
 * (0: never) once the heap in use reaches --heap-growing-from-mb. V8's own factor goes up to
 * 4x under a high allocation rate; a member's heap is mostly the store, which never shrinks,
 * so the garbage promoted by requests, raft messages and snapshots kept a leader at over 3x
 * its live data (bench/memory.sh; 1.3 keeps it near 2x). See heap.ts for why not from the
 * start.
 */
export function heapCap(f: Flags): { percent: number; fromBytes: number } {
  return {
    percent: f.int('heap-growing-percent', 30),
    fromBytes: f.int('heap-growing-from-mb', 192) * 1024 * 1024,
  };
}

/**
 * idleCompactMs returns --idle-compact-secs in milliseconds: how long a member must be quiet before
 * reduceWhenIdle asks V8 to compact its heap (0: never). Left to itself, V8 did so only 30
 * to 50 s after a burst of puts, the burst's garbage and free pages resident meanwhile (see
 * heap.ts).
 */
export function idleCompactMs(f: Flags): number {
  return f.int('idle-compact-secs', 5) * 1000;
}

/** idleCompactLine describes an idle reduction for the log. */
function idleCompactLine({ ms, before, after }: IdleReduction): string {
  const mb = (b: number): number => Math.round(b / 1048576);
  return (
    `idle: V8 heap held ${mb(before.total)} -> ${mb(after.total)} MB (in use ` +
    `${mb(before.used)} -> ${mb(after.used)} MB) ${(ms / 1000).toFixed(1)} s after asking`
  );
}

/**
 * serveCommand runs `raftkv serve` with argv (after "serve") and env; it resolves with the
 * process's exit status once the member has stopped.
 */
export async function serveCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const f = parseFlags(serveFlags, argv, env);
  if (f.help) {
    // The cluster id goes into TLS certificates (raft://<cluster id>/<member id>).
    const token = f.string('cluster-token', 'raftkv');
    const id = clusterIdOfToken(token);
    const line = `\nThe cluster id of --cluster-token ${JSON.stringify(token)} is ${id} (hex ${id.toString(16)}).\n`;
    process.stdout.write(serveHelp + line);
    return 0;
  }
  const config = serveConfig(f);
  const log = levelLogger(logLevelOf(f));
  const stopHeapCap = capHeapGrowth({
    ...heapCap(f),
    onCapped: (u) =>
      log.info(`heap in use ${Math.round(u / 1048576)} MB: V8 old-generation growth capped`),
  });
  const stop = new AbortController();
  const requested = onceStopRequested().then((why) => {
    stop.abort(new Error(`stopped (${why})`));
    return why;
  });
  let member;
  try {
    member = await startMember(config, log, stop.signal);
  } catch (err) {
    if (stop.signal.aborted) return 0;
    log.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const node = member.node;
  const stopIdleCompact = reduceWhenIdle({
    quietMs: idleCompactMs(f),
    progress: () => node.brief().appliedIndex,
    onReduced: (r) => log.debug(idleCompactLine(r)),
  });
  const hex = member.clusterId.toString(16);
  process.stdout.write(
    `raftkv member ${member.id} (cluster ${hex}) ready: clients ${member.server.url}, ` +
      `peers ${config.peerAddr}, data ${config.dataDir}\n`,
  );
  const outcome = await Promise.race([requested, member.stopped]);
  if (typeof outcome === 'string') log.info(`member ${member.id}: ${outcome}, stopping`);
  else if (outcome.kind === 'removed')
    log.warning(`member ${member.id} was removed from the cluster; stopping`);
  else log.error(`member ${member.id} failed: ${outcome.error.message}`);
  stopHeapCap();
  stopIdleCompact();
  await member.close().catch((err: unknown) => log.error(`close: ${String(err)}`));
  return typeof outcome !== 'string' && outcome.kind === 'fatal' ? 1 : 0;
}
