// Benchmark: the TCP transport between two processes on 127.0.0.1, with batching on and off.
//
// The parent is a leader (member 1) that streams MsgApp messages of 64 entries x 256 B to a
// child process (member 2, `node --import tsx bench/transport.ts --child`). Like raft in
// StateReplicate, it keeps at most 256 appends in flight (etcd's MaxInflightMsgs) and, in one
// "Ready" per event-loop turn, sends as many new appends as acknowledgements came in. The
// child answers every MsgApp with a MsgAppResp, also in one Ready per turn. One op is one
// MsgApp acknowledged. Write syscalls are counted from /proc/self/io (`syscw`) in each
// process over the measured window, per MsgApp sent (sender) and per MsgAppResp (receiver),
// and the CPU time of both processes per MsgApp.
//
// Usage: npm run bench -- transport [--json] [--quick] [--rounds=N] [--ms=N] [--window=N]
//        [--verbose] (prints each round on stderr)
// Profiling: TRANSPORT_BENCH_NODE_ARGS='--cpu-prof' adds node flags to the child process.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { TransportHandler } from '../src/node/interfaces.ts';
import { discardLogger } from '../src/raft/logger.ts';
import { encodeMessage } from '../src/raftpb/codec.ts';
import { EntryType, MessageType, newMessage } from '../src/raftpb/types.ts';
import type { Entry, Message } from '../src/raftpb/types.ts';
import { TcpTransport } from '../src/transport/tcp.ts';

/** The default number of MsgApps in flight (etcd's MaxInflightMsgs default). */
const WINDOW = 256;
/** TRANSPORT_BENCH_NODE_ARGS adds node flags to the child, e.g. "--cpu-prof" for profiling. */
const extraNodeArgs = (process.env['TRANSPORT_BENCH_NODE_ARGS'] ?? '')
  .split(' ')
  .filter((x) => x !== '');
const CLUSTER = 1;

/** Counters is what each side reports at the start and end of the measured window. */
interface Counters {
  syscw: number | undefined;
  writes: number;
  msgs: number;
  /** cpuUs is the process's user + system CPU time in microseconds. */
  cpuUs: number;
}

/** cpuUs returns this process's user + system CPU time in microseconds. */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** writeSyscalls reads this process's write syscall count (Linux), or undefined. */
function writeSyscalls(): number | undefined {
  try {
    const m = /^syscw:\s*(\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

function flag(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** entries64 is the payload of every MsgApp: 64 entries of 256 bytes. */
function entries64(): Entry[] {
  return Array.from({ length: 64 }, (_, i) => ({
    term: 2,
    index: i + 1,
    type: EntryType.EntryNormal,
    data: new Uint8Array(256).fill(i),
  }));
}

// ---------------------------------------------------------------------------------------
// Child: the follower.

async function child(args: string[]): Promise<void> {
  const batching = flag(args, 'batching') !== 'off';
  const t = new TcpTransport({ id: 2, clusterId: CLUSTER, batching, logger: discardLogger });
  let pending: Message[] = [];
  let acks = 0;
  const handler: TransportHandler = {
    receive(m) {
      if (m.type !== MessageType.MsgApp) return;
      if (pending.length === 0) setImmediate(ready);
      pending.push(
        newMessage({
          type: MessageType.MsgAppResp,
          from: 2,
          to: 1,
          term: m.term,
          index: m.index + m.entries.length,
        }),
      );
    },
    reportUnreachable() {},
    reportSnapshot() {},
  };
  const ready = (): void => {
    acks += pending.length;
    t.send(pending);
    pending = [];
  };
  await t.start(handler);
  t.addPeer(1, '127.0.0.1:1'); // member 1 dials; the address is never used
  console.log(JSON.stringify({ address: t.listenAddress() }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'mark') {
      const c: Counters = {
        syscw: writeSyscalls(),
        writes: t.stats().writes,
        msgs: acks,
        cpuUs: cpuUs(),
      };
      console.log(JSON.stringify(c));
    } else if (line === 'exit') {
      break;
    }
  }
  await t.close();
  process.stdin.destroy();
}

// ---------------------------------------------------------------------------------------
// Parent: the leader.

/** Child wraps the follower process and its line protocol. */
class Follower {
  readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  readonly #lines: AsyncIterator<string>;

  constructor(batching: boolean) {
    const self = fileURLToPath(import.meta.url);
    this.proc = spawn(
      process.execPath,
      [
        ...extraNodeArgs,
        '--import',
        'tsx',
        self,
        '--child',
        `--batching=${batching ? 'on' : 'off'}`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    this.#lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async read<T>(): Promise<T> {
    const r = await this.#lines.next();
    if (r.done === true) throw new Error('bench child exited early');
    return JSON.parse(r.value) as T;
  }

  async mark(): Promise<Counters> {
    this.proc.stdin.write('mark\n');
    return this.read<Counters>();
  }

  async exit(): Promise<void> {
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin.end('exit\n');
    await exited;
  }
}

/** Result is one measured run. */
interface Result {
  msgsPerSec: number;
  senderSyscallsPerMsg: number;
  receiverSyscallsPerMsg: number;
  senderWritesPerMsg: number;
  /** cpuUsPerMsg is the CPU time of both processes per MsgApp, in microseconds. */
  cpuUsPerMsg: number;
  dropped: number;
}

async function measure(
  batching: boolean,
  window: number,
  warmMs: number,
  ms: number,
): Promise<Result> {
  const follower = new Follower(batching);
  const { address } = await follower.read<{ address: string }>();
  const t = new TcpTransport({ id: 1, clusterId: CLUSTER, batching, logger: discardLogger });
  const entries = entries64();
  let index = 0;
  let inflight = 0;
  let acked = 0;
  let sent = 0;
  let scheduled = false;
  let running = true;
  const ready = (): void => {
    scheduled = false;
    if (!running) return;
    const msgs: Message[] = [];
    while (inflight < window) {
      msgs.push(
        newMessage({
          type: MessageType.MsgApp,
          from: 1,
          to: 2,
          term: 2,
          logTerm: 2,
          index,
          commit: index,
          entries,
        }),
      );
      index += entries.length;
      inflight++;
    }
    sent += msgs.length;
    t.send(msgs);
  };
  const handler: TransportHandler = {
    receive(m) {
      if (m.type !== MessageType.MsgAppResp) return;
      inflight--;
      acked++;
      if (!scheduled) {
        scheduled = true;
        setImmediate(ready);
      }
    },
    reportUnreachable() {},
    reportSnapshot() {},
  };
  await t.start(handler);
  t.addPeer(2, address);
  ready();
  await new Promise((r) => setTimeout(r, warmMs));
  const c0 = await follower.mark();
  const s0 = {
    syscw: writeSyscalls(),
    writes: t.stats().writes,
    sent,
    acked,
    cpu: cpuUs(),
    at: performance.now(),
  };
  await new Promise((r) => setTimeout(r, ms));
  const s1 = {
    syscw: writeSyscalls(),
    writes: t.stats().writes,
    sent,
    acked,
    cpu: cpuUs(),
    at: performance.now(),
  };
  const c1 = await follower.mark();
  running = false;
  const dropped = t.stats().peers[0]?.dropped ?? 0;
  await t.close();
  await follower.exit();
  const secs = (s1.at - s0.at) / 1000;
  const nSent = s1.sent - s0.sent;
  const nAcks = c1.msgs - c0.msgs;
  const per = (a: number | undefined, b: number | undefined, n: number): number =>
    a === undefined || b === undefined || n === 0 ? NaN : (b - a) / n;
  return {
    msgsPerSec: (s1.acked - s0.acked) / secs,
    senderSyscallsPerMsg: per(s0.syscw, s1.syscw, nSent),
    receiverSyscallsPerMsg: per(c0.syscw, c1.syscw, nAcks),
    senderWritesPerMsg: per(s0.writes, s1.writes, nSent),
    cpuUsPerMsg: (s1.cpu - s0.cpu + c1.cpuUs - c0.cpuUs) / (s1.acked - s0.acked),
    dropped,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** run is the suite entry point (see bench/main.ts). */
export default async function run(args: string[]): Promise<void> {
  if (args.includes('--child')) return child(args);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const window = Number(flag(args, 'window') ?? WINDOW);
  const rounds = Number(flag(args, 'rounds') ?? (quick ? 1 : 5));
  const ms = Number(flag(args, 'ms') ?? (quick ? 500 : 2000));
  const warmMs = quick ? 200 : 500;
  const results: Record<'on' | 'off', Result[]> = { on: [], off: [] };
  for (let r = 0; r < rounds; r++) {
    const order: ('on' | 'off')[] = r % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const mode of order) {
      const x = await measure(mode === 'on', window, warmMs, ms);
      results[mode].push(x);
      if (args.includes('--verbose')) {
        console.error(`  round ${r + 1} batching=${mode}: ${Math.round(x.msgsPerSec)} msgs/s`);
      }
    }
  }
  const size = encodeMessage(newMessage({ type: MessageType.MsgApp, entries: entries64() })).length;
  if (!json) {
    console.log(
      `transport: MsgApp 64 x 256 B (${size} B encoded), ${window} in flight, 2 processes on ` +
        `127.0.0.1, median of ${rounds} round(s) x ${ms} ms`,
    );
  }
  const med: Record<string, number> = {};
  for (const mode of ['on', 'off'] as const) {
    const rs = results[mode];
    const v = {
      rate: median(rs.map((x) => x.msgsPerSec)),
      send: median(rs.map((x) => x.senderSyscallsPerMsg)),
      recv: median(rs.map((x) => x.receiverSyscallsPerMsg)),
      writes: median(rs.map((x) => x.senderWritesPerMsg)),
      cpu: median(rs.map((x) => x.cpuUsPerMsg)),
      dropped: Math.max(...rs.map((x) => x.dropped)),
    };
    med[mode] = v.rate;
    const lo = Math.round(Math.min(...rs.map((x) => x.msgsPerSec)));
    const hi = Math.round(Math.max(...rs.map((x) => x.msgsPerSec)));
    const name = `transport/batching=${mode}`;
    if (json) {
      console.log(JSON.stringify({ bench: name, value: Math.round(v.rate), unit: 'msgs/s' }));
      const round3 = (x: number): number => Math.round(x * 1000) / 1000;
      console.log(
        JSON.stringify({
          bench: `${name}/sender-write-syscalls`,
          value: round3(v.send),
          unit: 'syscalls/msg',
        }),
      );
      console.log(
        JSON.stringify({
          bench: `${name}/receiver-write-syscalls`,
          value: round3(v.recv),
          unit: 'syscalls/msg',
        }),
      );
      const cpu = Math.round(v.cpu * 10) / 10;
      console.log(JSON.stringify({ bench: `${name}/cpu`, value: cpu, unit: 'us/msg' }));
    } else {
      const rate = Math.round(v.rate).toLocaleString('en-US').padStart(9);
      console.log(
        `  batching=${mode.padEnd(3)} ${rate} msgs/s (rounds ${lo}..${hi})\n` +
          `    write syscalls per MsgApp ${v.send.toFixed(3)} (transport writes ` +
          `${v.writes.toFixed(3)}), per MsgAppResp ${v.recv.toFixed(3)}; ` +
          `CPU of both processes ${v.cpu.toFixed(1)} us per MsgApp; dropped ${v.dropped}`,
      );
    }
  }
  const ratio = Math.round((med['on']! / med['off']!) * 100) / 100;
  if (json)
    console.log(JSON.stringify({ bench: 'transport/batching-on-vs-off', value: ratio, unit: 'x' }));
  else console.log(`  ratio on/off: ${ratio}x`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run(process.argv.slice(2));
}
