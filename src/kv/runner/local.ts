/**
 * `raftkv local`: a cluster of N members on this machine, each `raftkv serve` in its own
 * process, with data under ./data/node<i>. The supervisor prints every member's log lines
 * prefixed with its name, prints the endpoints with curl and etcdctl examples once a leader
 * is elected, serves the control API (control.ts) and, on Ctrl-C (SIGINT) or SIGTERM, stops
 * every member cleanly (SIGTERM, then SIGKILL after 10 s) before it exits. Started again on
 * the same data directory, the cluster comes back with its data: ./data/local.json keeps
 * the layout (ids and ports) of the first start.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { listenControl } from './control.ts';
import type { Flags, FlagSpec } from './flags.ts';
import { envName, FlagType, helpText, parseFlags, UsageError } from './flags.ts';
import { logLevelOf, timingFlags } from './serve.ts';
import { Supervisor } from './supervisor.ts';
import type { Layout } from './supervisor.ts';

/** localFlags are the flags of `raftkv local`. */
export const localFlags: FlagSpec[] = [
  {
    name: 'nodes',
    type: FlagType.Int,
    min: 1,
    placeholder: 'N',
    fallback: '3',
    help: 'number of members',
  },
  {
    name: 'data-dir',
    type: FlagType.String,
    placeholder: 'dir',
    fallback: './data',
    help: "members' data: <dir>/node<i>",
  },
  {
    name: 'host',
    type: FlagType.String,
    fallback: '127.0.0.1',
    help: 'address every member listens on',
  },
  {
    name: 'client-ports',
    type: FlagType.String,
    placeholder: 'port,...',
    fallback: '2379,12379,22379,...',
    help: "the members' client ports (etcd API and JSON API)",
  },
  {
    name: 'peer-ports',
    type: FlagType.String,
    placeholder: 'port,...',
    fallback: '2380,12380,22380,...',
    help: "the members' raft (peer) ports",
  },
  {
    name: 'control-addr',
    type: FlagType.String,
    placeholder: 'host:port',
    fallback: '127.0.0.1:2378',
    help: "the supervisor's control API (kill, restart, isolate, heal a member)",
  },
  {
    name: 'cluster-token',
    type: FlagType.String,
    fallback: 'raftkv-local',
    help: 'names the cluster (see raftkv serve)',
  },
  {
    name: 'wal-segment-bytes',
    type: FlagType.Int,
    min: 512,
    fallback: '16777216',
    help: 'size of one WAL segment file',
  },
  ...timingFlags,
];

const localDescription = `
Runs a raftkv cluster of --nodes members on this machine, each in its own process, with its
data under --data-dir. Prints the endpoints and examples once a leader is elected; Ctrl-C
stops every member. Run it again to restart the cluster from its data.`;

/** localHelp is the text of `raftkv local --help`. */
export const localHelp = helpText('raftkv local [flags]', localDescription, localFlags);

/** defaultPort is the i-th member's default port: 2379, 12379, 22379, ... (base 2379 or 2380). */
function defaultPort(base: number, i: number): number {
  return base + 10_000 * i;
}

function ports(f: Flags, name: string, base: number, n: number): number[] {
  const given = f.list(name).map((p) => {
    const v = Number(p);
    if (!Number.isInteger(v) || v < 1 || v > 65535)
      throw new UsageError(`--${name}: ${p} is not a port`);
    return v;
  });
  if (given.length === 0) {
    const out = Array.from({ length: n }, (_, i) => defaultPort(base, i));
    if (out.some((p) => p > 65535)) throw new UsageError(`--nodes ${n} needs --${name}`);
    return out;
  }
  if (given.length !== n)
    throw new UsageError(`--${name} lists ${given.length} ports for ${n} members`);
  return given;
}

/** freshLayout is the layout the flags ask for. */
function freshLayout(f: Flags): Layout {
  const n = f.int('nodes', 3);
  const client = ports(f, 'client-ports', 2379, n);
  const peer = ports(f, 'peer-ports', 2380, n);
  return {
    format: 1,
    host: f.string('host', '127.0.0.1'),
    clusterToken: f.string('cluster-token', 'raftkv-local'),
    nodes: Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      clientPort: client[i]!,
      peerPort: peer[i]!,
    })),
  };
}

/** conflicts names the flags given now that disagree with the saved layout. */
function conflicts(f: Flags, saved: Layout): string[] {
  const csv = (xs: number[]) => xs.join(',');
  const savedValue: Record<string, string> = {
    nodes: String(saved.nodes.length),
    host: saved.host,
    'cluster-token': saved.clusterToken,
    'client-ports': csv(saved.nodes.map((n) => n.clientPort)),
    'peer-ports': csv(saved.nodes.map((n) => n.peerPort)),
  };
  return Object.keys(savedValue).filter((name) => {
    if (!f.has(name)) return false;
    const given = name === 'nodes' ? String(f.int('nodes')) : f.list(name).join(',');
    return given !== savedValue[name];
  });
}

/**
 * layoutOf returns the data directory's saved layout or, on a first start, the one the
 * flags ask for (and saves it). Flags that disagree with a saved layout are refused: the
 * members' logs hold their peers' addresses.
 */
async function layoutOf(
  f: Flags,
  dataDir: string,
): Promise<{ layout: Layout; restarted: boolean }> {
  const path = join(dataDir, 'local.json');
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (text === undefined) {
    const fresh = freshLayout(f);
    await mkdir(dataDir, { recursive: true });
    await writeFile(path, JSON.stringify(fresh, null, 2) + '\n');
    return { layout: fresh, restarted: false };
  }
  const saved = JSON.parse(text) as Layout;
  const bad = conflicts(f, saved);
  if (bad.length > 0) {
    throw new UsageError(
      `${dataDir} holds a cluster of ${saved.nodes.length} members laid out otherwise than ` +
        `--${bad.join(', --')} say (see ${path}); remove ${dataDir} to start a new one`,
    );
  }
  return { layout: saved, restarted: true };
}

/** portFree reports whether host:port can be listened on now. */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** serveArgs passes the timing flags that were set on to every member. */
function serveArgs(f: Flags): string[] {
  const out: string[] = [];
  for (const name of [...timingFlags.map((t) => t.name), 'wal-segment-bytes']) {
    if (f.has(name)) out.push(`--${name}`, f.string(name) ?? '');
  }
  if (!f.has('wal-segment-bytes')) out.push('--wal-segment-bytes', String(16 * 1024 * 1024));
  return out;
}

/** banner is what `raftkv local` prints once the cluster is up. */
export function banner(
  sup: Supervisor,
  dataDir: string,
  restarted: boolean,
  controlUrl: string,
  leader: number | undefined,
): string {
  const nodes = sup.nodes();
  const endpoints = nodes.map((n) => n.clientUrl.replace('http://', '')).join(',');
  const first = nodes[0]?.clientUrl ?? '';
  const second = nodes[1]?.clientUrl ?? first;
  const rows = nodes.map(
    (n) =>
      `  ${n.name.padEnd(7)} clients ${n.clientUrl.padEnd(24)} peers ${n.peerUrl.padEnd(24)} pid ${n.pid ?? '-'}` +
      (n.id === leader ? '  (leader)' : ''),
  );
  const how = restarted ? 'restarted from its data in' : 'new, data in';
  const noLeader =
    leader === undefined ? ["  no leader yet: see the members' log lines above"] : [];
  return [
    '',
    `raftkv local: a cluster of ${nodes.length} members (${how} ${dataDir})`,
    ...rows,
    ...noLeader,
    '',
    'Try it:',
    `  curl -X PUT --data-binary hello ${first}/kv/greeting`,
    `  curl ${second}/kv/greeting`,
    `  etcdctl --endpoints=${endpoints} put greeting hi`,
    `  etcdctl --endpoints=${endpoints} get greeting`,
    `  etcdctl --endpoints=${endpoints} member list -w table`,
    '',
    `Control API (kill, restart, isolate, heal a member): ${controlUrl}/cluster`,
    'Press Ctrl-C to stop every member.',
    '',
  ].join('\n');
}

/**
 * onSignals calls f with each SIGINT, SIGTERM or SIGHUP and whether it is a repeat: one
 * that comes a second or more after the first (a Ctrl-C arrives twice at once under npm,
 * which forwards the terminal's signal to its child).
 */
function onSignals(f: (sig: NodeJS.Signals, repeat: boolean) => void): void {
  let first: number | undefined;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      const now = performance.now();
      first ??= now;
      if (now === first) f(sig, false);
      else if (now - first >= 1000) f(sig, true);
    });
  }
}

/** checkPorts throws a UsageError naming the first port of the layout that is taken. */
async function checkPorts(layout: Layout): Promise<void> {
  for (const n of layout.nodes) {
    for (const port of [n.clientPort, n.peerPort]) {
      if (!(await portFree(layout.host, port))) {
        throw new UsageError(
          `${layout.host}:${port} is in use: is another raftkv (or etcd) running? ` +
            'Choose other ports with --client-ports and --peer-ports and another --data-dir',
        );
      }
    }
  }
}

function splitAddr(flag: string, addr: string): [string, number] {
  const m = /^(.*):(\d{1,5})$/.exec(addr);
  if (m === null) throw new UsageError(`${flag}: ${JSON.stringify(addr)} is not host:port`);
  return [m[1] as string, Number(m[2])];
}

/**
 * localCommand runs `raftkv local` with argv (after "local") and env; it resolves with the
 * exit status once every member has stopped.
 */
export async function localCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const f = parseFlags(localFlags, argv, env);
  if (f.help) {
    process.stdout.write(localHelp);
    return 0;
  }
  logLevelOf(f);
  const dataDir = f.string('data-dir', './data');
  const { layout, restarted } = await layoutOf(f, dataDir);
  await checkPorts(layout);
  const [chost, cport] = splitAddr('--control-addr', f.string('control-addr', '127.0.0.1:2378'));
  const supervisor = new Supervisor(layout, dataDir, serveArgs(f));
  let control: { server: Server; url: string };
  try {
    control = await listenControl(supervisor, chost, cport);
  } catch (err) {
    throw new UsageError(
      `control API: cannot listen on ${chost}:${cport} (${(err as Error).message}): is another ` +
        `raftkv local running? Choose another address with --control-addr (${envName('control-addr')})`,
    );
  }
  supervisor.controlUrl = control.url;
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      await supervisor.stopAll('SIGTERM');
      control.server.closeAllConnections();
      await new Promise((resolve) => control.server.close(resolve));
      process.stdout.write('raftkv local: every member stopped\n');
    })());
  const stopped = new Promise<void>((resolve) =>
    onSignals((sig, repeat) => {
      if (repeat) {
        process.stdout.write(`raftkv local: ${sig} again, killing every member\n`);
        void supervisor.stopAll('SIGKILL');
        return;
      }
      process.stdout.write(`raftkv local: ${sig}, stopping every member\n`);
      void stopAll().then(resolve);
    }),
  );
  supervisor.startAll();
  try {
    await supervisor.waitReady(60_000);
  } catch (err) {
    if (stopping !== undefined) return stopped.then(() => 0);
    process.stderr.write(`raftkv local: ${(err as Error).message}; stopping\n`);
    await stopAll();
    return 1;
  }
  if (stopping === undefined) {
    const leader = await supervisor.waitLeader(30_000);
    if (stopping === undefined) {
      process.stdout.write(banner(supervisor, dataDir, restarted, control.url, leader));
    }
  }
  await stopped;
  return 0;
}
