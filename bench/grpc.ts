// Benchmark: raftkv's gRPC servers, GrpcH2Server (src/kv/grpc_h2.ts, its own HTTP/2),
// GrpcHttp2Server (src/kv/grpc_http2.ts, node:http2) and grpc-js's Server, on unary KV.Put
// and linearizable KV.Range round trips.
//
// This process serves all three, one KvServer each on 127.0.0.1, over one KvService on a
// StubBackend (writes apply at once: the cost measured is the request path, not raft). A
// child process (`node --import tsx bench/grpc.ts --child`) is the client: @grpc/grpc-js
// channels, one connection per client as etcd's benchmark runs (`--conns` = `--clients`),
// each client keeping one call in flight. Runs are interleaved: each round runs every
// scenario on every server, alternating the order, so both see the same machine.
// Reported: the median over rounds of calls/s and of this (the server's) process CPU time
// per call, and the CPU ratios of h2 to the others.
//
// Usage: npm run bench -- grpc [--json] [--rounds=N] [--ms=N] [--clients=1,16,128]
//        [--ops=put,range] [--conns=N] (default: one connection per client)
//        [--impls=h2] (profile one server; the first listed is the base of the ratios)
// Then grpc_cancel.ts: a request's cancellation and timeout alone, before and now (skipped
// with --no-cancel; alone with --cancel-only).
// Profiling: GRPC_BENCH_NODE_ARGS='--cpu-prof' adds node flags to the client process; run
// the parent itself under --cpu-prof for the servers.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';

import { codec } from '../src/kv/codec.ts';
import { cancelBench } from './grpc_cancel.ts';
import { KvServer } from '../src/kv/server.ts';
import type { GrpcImpl } from '../src/kv/server.ts';
import { KvService } from '../src/kv/service.ts';
import { KvStateMachine } from '../src/kv/state_machine.ts';
import { putReq, rangeReq, StubBackend } from '../src/kv/testing.ts';
import type { PutRequest, RangeRequest } from '../src/kv/types.ts';

const Impls: readonly GrpcImpl[] = ['h2', 'http2', 'grpc-js'];
const Ops = { put: '/etcdserverpb.KV/Put', range: '/etcdserverpb.KV/Range' } as const;
type Op = keyof typeof Ops;
const KEYS = 10_000;
const VALUE = 'v'.repeat(256);

/** Job is what the parent asks the child to run. */
interface Job {
  port: number;
  op: Op;
  clients: number;
  conns: number;
  warmMs: number;
  ms: number;
}

/** ChildReport is a line the child prints: the measured window starts, or it ended. */
type ChildReport =
  { phase: 'start' } | { phase: 'end'; calls: number; errors: number; cpuUs: number };

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
}

// ---- the client (child process) ---------------------------------------------------------

function requests(op: Op): Buffer[] {
  if (op === 'range') {
    const c = codec<RangeRequest>('etcdserverpb.RangeRequest');
    return [Buffer.from(c.encode(rangeReq('bench/000001')))];
  }
  const c = codec<PutRequest>('etcdserverpb.PutRequest');
  return Array.from({ length: 1000 }, (_, i) =>
    Buffer.from(c.encode(putReq(`bench/${String(i % KEYS).padStart(6, '0')}`, VALUE))),
  );
}

async function runJob(job: Job): Promise<void> {
  const identity = (b: Buffer): Buffer => b;
  const channels = Array.from(
    { length: job.conns },
    () =>
      new grpc.Client(`127.0.0.1:${job.port}`, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  const bodies = requests(job.op);
  const path = Ops[job.op];
  let calls = 0;
  let errors = 0;
  let stop = false;
  const one = (client: grpc.Client, body: Buffer) =>
    new Promise<void>((resolve) => {
      client.makeUnaryRequest(path, identity, identity, body, (err) => {
        if (err === null) calls++;
        else errors++;
        resolve();
      });
    });
  const worker = async (w: number) => {
    const client = channels[w % channels.length] as grpc.Client;
    for (let i = w; !stop; i += job.clients) await one(client, bodies[i % bodies.length] as Buffer);
  };
  const workers = Array.from({ length: job.clients }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, job.warmMs));
  calls = 0;
  errors = 0;
  const cpu0 = cpuUs();
  process.stdout.write(JSON.stringify({ phase: 'start' }) + '\n');
  await new Promise((r) => setTimeout(r, job.ms));
  const report = { phase: 'end', calls, errors, cpuUs: cpuUs() - cpu0 };
  process.stdout.write(JSON.stringify(report) + '\n');
  stop = true;
  await Promise.all(workers);
  for (const c of channels) c.close();
}

async function child(): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    await runJob(JSON.parse(line) as Job);
  }
}

// ---- the servers (parent process) -------------------------------------------------------

/** Sample is one run: one scenario on one server. */
interface Sample {
  rps: number;
  /** serverUs is the server process's CPU time per call, in microseconds. */
  serverUs: number;
  clientUs: number;
  errors: number;
}

class Client {
  private readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;

  constructor() {
    const extra = (process.env['GRPC_BENCH_NODE_ARGS'] ?? '').split(' ').filter((x) => x !== '');
    const self = fileURLToPath(import.meta.url);
    this.proc = spawn(process.execPath, [...extra, '--import', 'tsx', self, '--child'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  private async next(): Promise<ChildReport> {
    const r = await this.lines.next();
    if (r.done === true) throw new Error('bench/grpc: the client process exited');
    return JSON.parse(r.value) as ChildReport;
  }

  async run(job: Job): Promise<Sample> {
    this.proc.stdin.write(JSON.stringify(job) + '\n');
    const start = await this.next();
    if (start.phase !== 'start') throw new Error('bench/grpc: expected the start line');
    const cpu0 = cpuUs();
    const t0 = performance.now();
    const end = await this.next();
    const secs = (performance.now() - t0) / 1000;
    const cpu = cpuUs() - cpu0;
    if (end.phase !== 'end') throw new Error('bench/grpc: expected the end line');
    const calls = Math.max(1, end.calls);
    return {
      rps: end.calls / secs,
      serverUs: cpu / calls,
      clientUs: end.cpuUs / calls,
      errors: end.errors,
    };
  }

  close(): void {
    this.proc.stdin.end();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

async function reportCancel(json: boolean): Promise<void> {
  const samples = await cancelBench();
  if (!json) {
    console.log('\n| request cancellation + timeout | concurrency | CPU µs per request |');
    console.log('|---|---|---|');
  }
  for (const s of samples) {
    if (json) {
      const bench = `grpc/cancel/${s.mechanism}/concurrency=${s.concurrency}`;
      console.log(JSON.stringify({ bench, value: +s.cpuUs.toFixed(2), unit: 'us/op' }));
    } else {
      console.log(`| ${s.mechanism} | ${s.concurrency} | ${s.cpuUs.toFixed(2)} |`);
    }
  }
}

export default async function main(args: string[]): Promise<void> {
  if (args.includes('--child')) return child();
  const json = args.includes('--json');
  if (args.includes('--cancel-only')) return reportCancel(json);
  const rounds = Number(flag(args, 'rounds') ?? 3);
  const ms = Number(flag(args, 'ms') ?? 2000);
  const clientsList = (flag(args, 'clients') ?? '1,16,128').split(',').map(Number);
  const ops = (flag(args, 'ops') ?? 'put,range').split(',') as Op[];
  const conns = flag(args, 'conns');
  const impls = (flag(args, 'impls')?.split(',') ?? Impls) as GrpcImpl[];

  const sm = new KvStateMachine();
  const service = new KvService({ backend: new StubBackend(sm), stateMachine: sm });
  const servers = new Map<GrpcImpl, KvServer>();
  for (const impl of impls) {
    servers.set(impl, await KvServer.listen({ service, port: 0, publish: false, grpc: { impl } }));
  }
  const client = new Client();
  const samples = new Map<string, Sample[]>();
  try {
    // Round 0 warms the servers up (JIT, connections) and is not counted.
    for (let round = 0; round <= rounds; round++) {
      let scenario = 0;
      for (const op of ops) {
        for (const clients of clientsList) {
          // Who goes first alternates between scenarios and, for each scenario, between rounds.
          const first = (scenario++ + round) % 2 === 0;
          for (const impl of first ? impls : [...impls].reverse()) {
            const port = (servers.get(impl) as KvServer).port;
            const c = conns === undefined ? clients : Math.min(clients, Number(conns));
            const job: Job = { port, op, clients, conns: c, warmMs: 300, ms: round ? ms : 500 };
            const s = await client.run(job);
            if (round === 0) continue;
            const key = `${op}/clients=${clients}/${impl}`;
            samples.set(key, [...(samples.get(key) ?? []), s]);
            if (args.includes('--verbose')) console.error(`round ${round} ${key}`, s);
          }
        }
      }
    }
  } finally {
    client.close();
    for (const s of servers.values()) await s.close();
  }
  report(samples, ops, clientsList, json);
  if (!args.includes('--no-cancel')) await reportCancel(json);
}

function report(samples: Map<string, Sample[]>, ops: Op[], clients: number[], json: boolean) {
  const med = (key: string, f: (s: Sample) => number) => median((samples.get(key) ?? []).map(f));
  const impls = Impls.filter((impl) => [...samples.keys()].some((k) => k.endsWith(`/${impl}`)));
  const [base, ...others] = impls;
  if (base === undefined) return;
  if (!json) {
    const cols = [
      ...impls.map((i) => `${i} req/s`),
      ...impls.map((i) => `${i} server µs/call`),
      ...others.map((o) => `CPU ${base}/${o}`),
    ];
    console.log(`| op | clients | ${cols.join(' | ')} | errors |`);
    console.log(`|---|---|${cols.map(() => '---|').join('')}---|`);
  }
  for (const op of ops) {
    for (const c of clients) {
      const keys = impls.map((impl) => `${op}/clients=${c}/${impl}`);
      const rps = keys.map((k) => med(k, (s) => s.rps));
      const us = keys.map((k) => med(k, (s) => s.serverUs));
      const errs = keys.reduce(
        (n, k) => n + (samples.get(k) ?? []).reduce((m, s) => m + s.errors, 0),
        0,
      );
      const cpuRatios = others.map((_, i) => (us[0] as number) / (us[i + 1] as number));
      if (json) {
        const line: Record<string, unknown> = {
          bench: `grpc/${op}/clients=${c}`,
          value: Math.round(rps[0] as number),
          unit: 'req/s',
          server: base,
          serverUsPerCall: +(us[0] as number).toFixed(1),
          errors: errs,
        };
        others.forEach((o, i) => {
          line[`${o}ReqPerSec`] = Math.round(rps[i + 1] as number);
          line[`${o}ServerUsPerCall`] = +(us[i + 1] as number).toFixed(1);
          line[`cpuVs_${o}`] = +(cpuRatios[i] as number).toFixed(2);
        });
        console.log(JSON.stringify(line));
        continue;
      }
      const cells = [
        ...rps.map((r) => r.toFixed(0)),
        ...us.map((u) => u.toFixed(1)),
        ...cpuRatios.map((r) => r.toFixed(2)),
      ];
      console.log(`| ${op} | ${c} | ${cells.join(' | ')} | ${errs} |`);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--child')) {
  await child();
}
