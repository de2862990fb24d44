/**
 * A raftkv cluster for the chaos runner: `raftkv serve` processes on 127.0.0.1, each behind a
 * PeerProxy (every member's `--peers` and `--advertise-peer-addr` name the proxies), with the
 * operations the faults need: kill -9 and restart, SIGSTOP and SIGCONT, join a new member as a
 * learner and promote it, remove a member, find the leader, and wait until the cluster is
 * healthy. Each member's output goes to `<dir>/<name>.log`; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { bin } from '../raftkv_procs.ts';
import { MemberClient } from './client.ts';
import type { MemberStatus } from './client.ts';
import { FaultTable, PeerProxy } from './proxy.ts';

/** MemberState is where a member's process is. */
export const MemberState = {
  Running: 'running',
  Paused: 'paused',
  Down: 'down',
  Removed: 'removed',
} as const;
/** MemberState is one of the MemberState values. */
export type MemberState = (typeof MemberState)[keyof typeof MemberState];

/** Timing is the raft timing every member runs with. */
export interface Timing {
  tickMs: number;
  electionTicks: number;
  snapshotInterval: number;
  snapshotCatchupEntries: number;
  requestTimeoutMs: number;
}

/** ClusterOptions configure ChaosCluster.start. */
export interface ClusterOptions {
  nodes: number;
  /** dir holds the members' data directories and logs. */
  dir: string;
  timing: Timing;
  /** random drives the proxies' drops and jitter. */
  random: () => number;
  log: (line: string) => void;
}

/** firstEphemeralPort is where the kernel starts picking ports for outgoing connections. */
function firstEphemeralPort(): number {
  try {
    const lo = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isSafeInteger(lo) && lo > 11_000 ? lo : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * freePorts finds n free ports on 127.0.0.1 below the ephemeral range. A port that listen(0)
 * hands out and then releases is in that range: with thousands of client and peer
 * connections going on, an outgoing connection can take it before a restarted or joining
 * member listens on it (EADDRINUSE). Ports below the range are only taken by listeners.
 */
export async function freePorts(n: number): Promise<number[]> {
  const hi = firstEphemeralPort();
  const ports: number[] = [];
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > 1000) throw new Error(`no ${n} free ports below ${hi}`);
    const p = 10_000 + Math.floor(Math.random() * (hi - 10_000));
    if (ports.includes(p)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) ports.push(p);
  }
  return ports;
}

/** liveProcesses holds every member process that runs, for the CLI's Ctrl-C handler. */
export const liveProcesses = new Set<ChildProcess>();

/** Member is one member's slot: its ports, proxy, data directory and process. */
export class Member {
  /** id is the raft id; a joiner's is 0 until it has joined. */
  id: number;
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly proxy: PeerProxy;
  readonly dir: string;
  readonly args: string[];
  readonly client: MemberClient;
  state: MemberState = MemberState.Down;
  proc: ChildProcess | undefined;
  /** expectExit is set when the runner kills or removes the member: its exit is no crash. */
  expectExit = false;
  /** crashes lists the exits nobody asked for, with the last lines of output. */
  readonly crashes: string[] = [];
  exited: Promise<void> = Promise.resolve();
  readonly tail: string[] = [];
  #out: WriteStream | undefined;

  constructor(o: {
    id: number;
    name: string;
    clientPort: number;
    peerPort: number;
    proxy: PeerProxy;
    dir: string;
    args: string[];
  }) {
    this.id = o.id;
    this.name = o.name;
    this.clientPort = o.clientPort;
    this.peerPort = o.peerPort;
    this.proxy = o.proxy;
    this.dir = o.dir;
    this.args = o.args;
    this.client = new MemberClient(this.clientUrl);
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  /** label names the member in reports: "m2(id 2)". */
  get label(): string {
    return `${this.name}(id ${this.id})`;
  }

  /** spawn starts the process and resolves once it printed its ready line (bounded). */
  async spawn(logDir: string, timeoutMs = 30_000): Promise<void> {
    this.#out ??= createWriteStream(join(logDir, `${this.name}.log`), { flags: 'a' });
    const out = this.#out;
    const where = `proxy ${this.proxy.address} → 127.0.0.1:${this.peerPort}`;
    out.write(`--- start ${new Date().toISOString()} (${where}): serve ${this.args.join(' ')}\n`);
    const proc = spawn(process.execPath, [bin, 'serve', ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    liveProcesses.add(proc);
    this.state = MemberState.Running;
    this.expectExit = false;
    let ready: ((id: number) => void) | undefined;
    const readyLine = new Promise<number>((resolve) => (ready = resolve));
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        liveProcesses.delete(proc);
        out.write(`--- exit code ${code} signal ${signal}\n`);
        if (!this.expectExit && this.state !== MemberState.Removed) {
          const last = this.tail.slice(-8).join('\n      ');
          this.crashes.push(
            `${this.label} exited (code ${code}, signal ${signal}):\n      ${last}`,
          );
        }
        if (this.proc === proc) {
          this.proc = undefined;
          if (this.state !== MemberState.Removed) this.state = MemberState.Down;
        }
        resolve();
      }),
    );
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (l) => {
        out.write(l + '\n');
        this.tail.push(l);
        if (this.tail.length > 50) this.tail.shift();
        const m = /^raftkv member (\d+) \(cluster [0-9a-f]+\) ready/.exec(l);
        if (m !== null) ready?.(Number(m[1]));
      });
    }
    const timeout = delay(timeoutMs, 'timeout', { ref: false });
    const r = await Promise.race([readyLine, this.exited.then(() => 'exited'), timeout]);
    if (typeof r === 'number') {
      this.id = r;
      return;
    }
    throw new Error(`${this.name} did not start (${r}):\n${this.tail.slice(-15).join('\n')}`);
  }

  /** signal sends a signal to the process, if it runs. */
  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** killNow sends SIGKILL at once (and SIGCONT, so that a paused process dies too). */
  killNow(): void {
    const p = this.proc;
    if (p === undefined) return;
    this.expectExit = true;
    p.kill('SIGKILL');
    p.kill('SIGCONT');
  }

  /** kill kills the process (see killNow) and waits until it has exited. */
  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  /** closeLog closes the log file. */
  closeLog(): Promise<void> {
    const out = this.#out;
    this.#out = undefined;
    return new Promise((resolve) => (out === undefined ? resolve() : out.end(resolve)));
  }
}

/** Health is what waitHealthy found. */
export interface Health {
  leader: Member;
  term: number;
  commit: number;
}

/** ChaosCluster is the cluster under test; see the file comment. */
export class ChaosCluster {
  readonly members: Member[] = [];
  readonly table = new FaultTable();
  readonly #o: ClusterOptions;
  readonly #token: string;
  #joined = 0;

  private constructor(o: ClusterOptions) {
    this.#o = o;
    this.#token = `chaos-${process.pid}-${Math.floor(o.random() * 1e9)}`;
  }

  /** start starts a new cluster of o.nodes members and waits for a leader. */
  static async start(o: ClusterOptions): Promise<ChaosCluster> {
    await mkdir(o.dir, { recursive: true });
    const c = new ChaosCluster(o);
    const ports = await freePorts(2 * o.nodes);
    const proxies = await Promise.all(
      Array.from({ length: o.nodes }, (_, i) =>
        PeerProxy.listen({
          target: `127.0.0.1:${ports[2 * i + 1]}`,
          table: c.table,
          random: o.random,
        }),
      ),
    );
    const peers = proxies.map((p, i) => `${i + 1}=${p.address}`).join(',');
    for (let i = 0; i < o.nodes; i++) {
      const id = i + 1;
      const clientPort = ports[2 * i] as number;
      const peerPort = ports[2 * i + 1] as number;
      const proxy = proxies[i] as PeerProxy;
      const dir = join(o.dir, `m${id}`);
      const args = [
        ...['--id', String(id), '--peers', peers],
        ...c.#commonArgs(clientPort, peerPort, proxy, dir),
      ];
      c.members.push(new Member({ id, name: `m${id}`, clientPort, peerPort, proxy, dir, args }));
    }
    try {
      await Promise.all(c.members.map((m) => m.spawn(o.dir)));
      await c.leader(30_000);
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  #commonArgs(clientPort: number, peerPort: number, proxy: PeerProxy, dir: string): string[] {
    const t = this.#o.timing;
    return [
      ...['--client-addr', `127.0.0.1:${clientPort}`, '--peer-addr', `127.0.0.1:${peerPort}`],
      ...['--advertise-peer-addr', proxy.address, '--data-dir', dir],
      ...['--cluster-token', this.#token, '--wal-segment-bytes', String(4 * 1024 * 1024)],
      ...['--tick-ms', String(t.tickMs), '--election-ticks', String(t.electionTicks)],
      ...['--snapshot-interval', String(t.snapshotInterval)],
      ...['--snapshot-catchup-entries', String(t.snapshotCatchupEntries)],
      ...['--request-timeout-ms', String(t.requestTimeoutMs), '--log-level', 'info'],
    ];
  }

  /** electionTimeoutMs is the longest a follower waits before campaigning. */
  get electionTimeoutMs(): number {
    return 2 * this.#o.timing.tickMs * this.#o.timing.electionTicks;
  }

  /** snapshotInterval is every member's --snapshot-interval. */
  get snapshotInterval(): number {
    return this.#o.timing.snapshotInterval;
  }

  /** snapshotCatchupEntries is every member's --snapshot-catchup-entries. */
  get snapshotCatchupEntries(): number {
    return this.#o.timing.snapshotCatchupEntries;
  }

  /**
   * healNetwork removes every proxy rule. With reset, the connections across a blackholed
   * link are closed first, and what they held is lost (TCP gave up); without, held frames
   * are delivered late (TCP retransmitted).
   */
  healNetwork(reset: boolean): void {
    if (reset) {
      const cut = (a: number, b: number): boolean =>
        this.table.get(a, b)?.blackhole === true || this.table.get(b, a)?.blackhole === true;
      for (const m of this.members) m.proxy.reset(cut);
    }
    this.table.heal();
  }

  /** current are the members that are not removed. */
  current(): Member[] {
    return this.members.filter((m) => m.state !== MemberState.Removed);
  }

  /** running are the members whose process runs and is not paused. */
  running(): Member[] {
    return this.members.filter((m) => m.state === MemberState.Running);
  }

  /** byId returns the member with raft id `id`. */
  byId(id: number): Member | undefined {
    return this.members.find((m) => m.id === id && m.state !== MemberState.Removed);
  }

  /** restart starts a member's process again on its data directory. */
  async restart(m: Member): Promise<void> {
    if (m.proc !== undefined) await m.kill();
    await m.spawn(this.#o.dir);
  }

  /** pause stops a member with SIGSTOP; resume continues it. */
  pause(m: Member): void {
    m.signal('SIGSTOP');
    m.state = MemberState.Paused;
  }

  /** resume continues a paused member with SIGCONT. */
  resume(m: Member): void {
    m.signal('SIGCONT');
    if (m.state === MemberState.Paused) m.state = MemberState.Running;
  }

  /**
   * leader polls the running members until they all name the same leader, one of them,
   * and returns it; it throws after timeoutMs.
   */
  async leader(timeoutMs = 15_000): Promise<Member> {
    const deadline = performance.now() + timeoutMs;
    let why = '';
    for (;;) {
      const running = this.running();
      const sts = await Promise.all(
        running.map((m) => m.client.status(1000).catch(() => undefined)),
      );
      const lead = sts[0]?.leader ?? 0;
      const agree = sts.every((s) => s !== undefined && s.leader === lead);
      const m = lead === 0 ? undefined : running.find((x) => x.id === lead);
      if (agree && m !== undefined) return m;
      why = sts.map((s, i) => `${running[i]?.name}:${s === undefined ? '?' : s.leader}`).join(' ');
      if (performance.now() > deadline) {
        throw new Error(`no leader agreed by every running member within ${timeoutMs} ms (${why})`);
      }
      await delay(100);
    }
  }

  /**
   * waitHealthy waits until every current member runs, all name the same leader, each answers
   * a linearizable read (GET /health), a write through the leader commits, and every member
   * has applied it. It throws, saying what was missing, after timeoutMs.
   */
  async waitHealthy(timeoutMs: number): Promise<Health> {
    const deadline = performance.now() + timeoutMs;
    const left = (): number => Math.max(1, deadline - performance.now());
    const notRunning = this.current().filter((m) => m.state !== MemberState.Running);
    if (notRunning.length > 0) {
      throw new Error(`members not running: ${notRunning.map((m) => m.label).join(', ')}`);
    }
    const leader = await this.leader(left());
    let last = '';
    for (;;) {
      try {
        const ok = await Promise.all(this.current().map((m) => m.client.healthy(2000)));
        const sick = this.current().filter((_, i) => ok[i] !== true);
        if (sick.length > 0)
          throw new Error(`/health failed on ${sick.map((m) => m.label).join(', ')}`);
        await leader.client.put('chaos/health', `probe-${Date.now()}`, 'grpc', 3000);
        const st = await leader.client.status(1000);
        await this.#waitApplied(st.raft_index, left());
        const lead = await this.leader(left());
        if (lead !== leader) continue;
        return { leader, term: st.raft_term, commit: st.raft_index };
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (performance.now() > deadline) {
        throw new Error(`cluster not healthy within ${timeoutMs} ms: ${last}`);
      }
      await delay(200);
    }
  }

  async #waitApplied(index: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const sts = await Promise.all(
        this.current().map((m) => m.client.status(1000).catch(() => undefined)),
      );
      const behind = this.current().filter((_, i) => (sts[i]?.raft_applied_index ?? 0) < index);
      if (behind.length === 0) return;
      if (performance.now() > deadline) {
        const who = behind.map((m) => m.label).join(', ');
        throw new Error(`${who} did not apply index ${index} in time`);
      }
      await delay(100);
    }
  }

  /** statuses reads GET /status of every running member (undefined where it fails). */
  statuses(): Promise<(MemberStatus | undefined)[]> {
    return Promise.all(this.running().map((m) => m.client.status(1000).catch(() => undefined)));
  }

  /**
   * join starts a new member with `--join` (added as a learner through the leader), waits
   * until it is ready, then promotes it (retrying while it is not caught up).
   */
  async join(timeoutMs = 30_000): Promise<Member> {
    const deadline = performance.now() + timeoutMs;
    const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
    const proxy = await PeerProxy.listen({
      target: `127.0.0.1:${peerPort}`,
      table: this.table,
      random: this.#o.random,
    });
    const name = `j${++this.#joined}`;
    const dir = join(this.#o.dir, name);
    const urls = this.current()
      .map((m) => m.clientUrl)
      .join(',');
    const args = ['--join', urls, ...this.#commonArgs(clientPort, peerPort, proxy, dir)];
    const m = new Member({ id: 0, name, clientPort, peerPort, proxy, dir, args });
    this.members.push(m);
    await m.spawn(this.#o.dir, timeoutMs);
    let last = '';
    for (;;) {
      try {
        const leader = await this.leader(Math.max(1, deadline - performance.now()));
        await leader.client.promoteMember(m.id, 3000);
        return m;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
      }
      if (performance.now() > deadline) throw new Error(`${m.label} not promoted in time: ${last}`);
      await delay(200);
    }
  }

  /**
   * remove removes a member through the leader; the member's process stops by itself
   * (killed if it has not within 10 s).
   */
  async remove(m: Member, timeoutMs = 20_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    m.expectExit = true;
    for (;;) {
      try {
        const leader = await this.leader(Math.max(1, deadline - performance.now()));
        await leader.client.removeMember(m.id, 3000);
        break;
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (/not found|member not found/i.test(last)) break;
      }
      if (performance.now() > deadline) throw new Error(`${m.label} not removed in time: ${last}`);
      await delay(200);
    }
    m.state = MemberState.Removed;
    const stopped = await Promise.race([m.exited.then(() => true), delay(5000, false)]);
    if (!stopped) await m.kill();
    await m.proxy.close();
    return stopped ? 'stopped by itself' : 'still running 5 s after its removal, killed';
  }

  /** crashes lists every member exit that nobody asked for. */
  crashes(): string[] {
    return this.members.flatMap((m) => m.crashes);
  }

  /** close kills every process, closes the proxies and the clients. */
  async close(): Promise<void> {
    this.table.heal();
    await Promise.all(
      this.members.map(async (m) => {
        await m.kill();
        m.client.close();
        await m.proxy.close().catch(() => undefined);
        await m.closeLog();
      }),
    );
  }
}
