/**
 * Helpers of the raftkv end-to-end suites (raftkv_cluster.test.ts, raftkv_local.test.ts):
 * `raftkv` processes started through bin/raftkv.js, free loopback ports, bounded polling,
 * the JSON API and etcdctl.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** bin is the `raftkv` command as npm installs it. */
export const bin = fileURLToPath(new URL('../bin/raftkv.js', import.meta.url));

/** freePorts finds n free ports on 127.0.0.1 (listen on port 0, then release). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** until polls f every `everyMs` until it returns a value other than undefined, or throws. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await delay(everyMs);
  }
}

/** Proc is a raftkv process with its output collected line by line. */
export class Proc {
  readonly proc: ChildProcessByStdio<null, Readable, Readable>;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  readonly #name: string;

  constructor(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.#name = name;
    this.proc = spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => resolve((this.exit = { code, signal }))),
    );
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      createInterface({ input: stream }).on('line', (l) => {
        this.lines.push(l);
        if (process.env.RAFTKV_TEST_ECHO === '1') console.error(`[${this.#name}] ${l}`);
      });
    }
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  /** waitLine resolves with the first output line matching re. */
  waitLine(re: RegExp, timeoutMs = 20_000): Promise<string> {
    return until(
      `${this.#name} to print ${String(re)}`,
      () => {
        const l = this.lines.find((x) => re.test(x));
        if (l === undefined && this.exit !== undefined) {
          throw new Error(`${this.#name} exited (${JSON.stringify(this.exit)}):\n${this.tail()}`);
        }
        return l;
      },
      timeoutMs,
    );
  }

  /** stop sends signal and resolves with how the process ended (SIGKILL after timeoutMs). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) {
    if (this.exit !== undefined) return this.exit;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }

  /** tail is the last lines of output, for failure messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }
}

/** Status is the part of GET /status the tests read. */
export interface Status {
  leader: number;
  raft_term: number;
  raft_index: number;
  raft_applied_index: number;
  is_learner: boolean;
  header: { member_id: number; revision: number; cluster_id: number };
}

/** json makes an HTTP request and resolves with the status and parsed body. */
export async function json<T = Record<string, unknown>>(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000), ...init });
  const text = await r.text();
  return { status: r.status, body: (text === '' ? {} : JSON.parse(text)) as T, headers: r.headers };
}

/** status reads a member's GET /status (rejects when it does not answer within 1 s). */
export async function status(clientUrl: string): Promise<Status> {
  const r = await fetch(`${clientUrl}/status`, { signal: AbortSignal.timeout(1000) });
  return (await r.json()) as Status;
}

/** etcdctlVersion returns `etcdctl version`'s output, or undefined when it is missing. */
export function etcdctlVersion(): string | undefined {
  try {
    return execFileSync('etcdctl', ['version'], { env: { ETCDCTL_API: '3' } }).toString();
  } catch {
    return undefined;
  }
}

/**
 * etcdctlSkip is the `skip` option of the suites that need etcdctl: a reason when it is not
 * installed, except under CI (CI=true), where it must be (.ci/run installs it).
 */
export function etcdctlSkip(): string | false {
  if (etcdctlVersion() !== undefined) return false;
  if (process.env.CI === 'true') {
    throw new Error('etcdctl is not installed: .ci/run must install Debian package etcd-client');
  }
  return 'etcdctl is not installed (apt-get install etcd-client)';
}

/** EtcdctlResult is how an etcdctl run ended. */
export interface EtcdctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** etcdctl runs etcdctl against endpoints ("host:port,...") with stdin `input`. */
export function etcdctl(endpoints: string, args: string[], input?: string): Promise<EtcdctlResult> {
  const argv = [`--endpoints=${endpoints}`, '--dial-timeout=3s', '--command-timeout=10s', ...args];
  return new Promise((resolve) => {
    const child = execFile(
      'etcdctl',
      argv,
      { env: { ETCDCTL_API: '3', PATH: process.env.PATH ?? '' }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** etcdctlOk runs etcdctl, asserts that it succeeded and returns its output. */
export async function etcdctlOk(
  endpoints: string,
  args: string[],
  input?: string,
): Promise<string> {
  const r = await etcdctl(endpoints, args, input);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** pidAlive reports whether a process with this pid exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
