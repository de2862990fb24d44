/**
 * Supervisor: the processes of `raftkv local`. It spawns each member as `raftkv serve` (the
 * same CLI through tsx's loader), prints its output lines with its name in front, stops and
 * restarts members, and asks them to isolate or heal themselves (their /admin/ routes). It is
 * the target of the control API (control.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ControlAction, ControlError } from './control.ts';
import type { ControlTarget, NodeView } from './control.ts';

/** Layout is ./data/local.json: the cluster's members and ports, fixed at its first start. */
export interface Layout {
  format: 1;
  host: string;
  clusterToken: string;
  nodes: { id: number; clientPort: number; peerPort: number }[];
}

/** Slot is one member as the supervisor runs it. */
interface Slot {
  id: number;
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  proc: ChildProcess | undefined;
  exited: Promise<void>;
  ready: Promise<void>;
  isolated: boolean;
  /** chain serialises the actions on this member. */
  chain: Promise<unknown>;
}

/** tsxLoader is the module that `node --import` needs to run TypeScript (tsx's loader). */
function tsxLoader(): string {
  return import.meta.resolve('tsx');
}

const cliPath = fileURLToPath(new URL('../cli.ts', import.meta.url));

/** Supervisor runs the members' processes; it is the control API's target. */
export class Supervisor implements ControlTarget {
  readonly #layout: Layout;
  readonly #slots: Slot[];
  readonly #serveArgs: string[];
  readonly #env: NodeJS.ProcessEnv;

  constructor(layout: Layout, dataDir: string, serveArgs: string[]) {
    this.#layout = layout;
    this.#serveArgs = serveArgs;
    this.#slots = layout.nodes.map((n) => ({
      ...n,
      name: `node${n.id}`,
      dataDir: join(dataDir, `node${n.id}`),
      proc: undefined,
      exited: Promise.resolve(),
      ready: Promise.resolve(),
      isolated: false,
      chain: Promise.resolve(),
    }));
    // The members get their settings as flags; RAFTKV_* variables meant for `local` must
    // not reach them (RAFTKV_DATA_DIR means another thing there).
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RAFTKV_')) env[k] = v;
    this.#env = env;
  }

  /**
   * controlUrl is passed to the members as RAFTKV_CONTROL_URL, so that their dashboards
   * know the control API is there. Set it before start().
   */
  set controlUrl(url: string) {
    this.#env['RAFTKV_CONTROL_URL'] = url;
  }

  /** nodes implements ControlTarget. */
  nodes(): NodeView[] {
    return this.#slots.map((s) => this.#view(s));
  }

  /** urls returns the client URLs of every member. */
  clientUrls(): string[] {
    return this.#slots.map((s) => `http://${this.#layout.host}:${s.clientPort}`);
  }

  /** act implements ControlTarget; actions on one member run one after the other. */
  act(id: number, action: ControlAction): Promise<NodeView> {
    const s = this.#slot(id);
    const run = async (): Promise<NodeView> => {
      switch (action) {
        case ControlAction.Kill:
          await this.stop(s, 'SIGKILL');
          break;
        case ControlAction.Restart:
          await this.stop(s, 'SIGTERM');
          this.start(s);
          await this.#ready(s, 30_000);
          break;
        case ControlAction.Isolate:
        case ControlAction.Heal:
          await this.#fault(s, action);
          break;
      }
      return this.#view(s);
    };
    const p = s.chain.then(run, run);
    s.chain = p.catch(() => undefined);
    return p;
  }

  /** start spawns every member that does not run. */
  startAll(): void {
    for (const s of this.#slots) if (s.proc === undefined) this.start(s);
  }

  /** waitReady resolves once every member's client port listens, or rejects. */
  async waitReady(timeoutMs: number): Promise<void> {
    await Promise.all(this.#slots.map((s) => this.#ready(s, timeoutMs)));
  }

  /** waitLeader resolves with the leader's id once every running member agrees on one. */
  async waitLeader(timeoutMs: number): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leaders = await Promise.all(
        this.#slots.filter((s) => s.proc !== undefined).map((s) => this.#leaderOf(s)),
      );
      const first = leaders[0];
      if (first !== undefined && first !== 0 && leaders.every((l) => l === first)) return first;
      await delay(100);
    }
    return undefined;
  }

  /** stopAll stops every member (signal first, SIGKILL after 10 s). */
  async stopAll(signal: NodeJS.Signals): Promise<void> {
    await Promise.all(this.#slots.map((s) => this.stop(s, signal)));
  }

  /** start spawns member s; its output lines are printed with its name in front. */
  start(s: Slot): void {
    const args = [
      '--import',
      tsxLoader(),
      cliPath,
      'serve',
      ...['--id', String(s.id), '--name', s.name, '--data-dir', s.dataDir],
      ...[
        '--peers',
        this.#layout.nodes.map((n) => `${n.id}=${this.#layout.host}:${n.peerPort}`).join(','),
      ],
      ...['--client-addr', `${this.#layout.host}:${s.clientPort}`],
      ...['--peer-addr', `${this.#layout.host}:${s.peerPort}`],
      ...['--cluster-token', this.#layout.clusterToken, '--allow-fault-injection'],
      ...this.#serveArgs,
    ];
    const proc = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: this.#env,
    });
    s.proc = proc;
    s.isolated = false;
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    s.ready = new Promise((resolve, reject) => ((readyResolve = resolve), (readyReject = reject)));
    s.ready.catch(() => undefined);
    s.exited = new Promise((resolve) =>
      proc.once('exit', (code, sig) => {
        if (s.proc === proc) s.proc = undefined;
        s.isolated = false;
        const how = sig !== null ? `killed by ${sig}` : `exited with status ${code}`;
        process.stdout.write(`[${s.name}] ${how}\n`);
        readyReject(new Error(`${s.name} ${how} before it was ready`));
        resolve();
      }),
    );
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      if (/^raftkv member \d+ .*ready/.test(line)) readyResolve();
      process.stdout.write(`[${s.name}] ${line}\n`);
    });
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      process.stderr.write(`[${s.name}] ${line}\n`);
    });
  }

  /** stop ends member s's process with `signal` (SIGKILL after 10 s) and waits for it. */
  async stop(s: Slot, signal: NodeJS.Signals): Promise<void> {
    const proc = s.proc;
    if (proc === undefined) return;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await s.exited;
    clearTimeout(timer);
  }

  #slot(id: number): Slot {
    const s = this.#slots.find((x) => x.id === id);
    if (s === undefined) throw new ControlError(404, `no node ${id}`);
    return s;
  }

  #view(s: Slot): NodeView {
    const host = this.#layout.host;
    return {
      id: s.id,
      name: s.name,
      pid: s.proc?.pid ?? null,
      clientUrl: `http://${host}:${s.clientPort}`,
      peerUrl: `http://${host}:${s.peerPort}`,
      running: s.proc !== undefined,
      isolated: s.isolated,
    };
  }

  async #ready(s: Slot, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${s.name} was not ready within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([s.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #leaderOf(s: Slot): Promise<number> {
    try {
      const r = await fetch(`http://${this.#layout.host}:${s.clientPort}/status`, {
        signal: AbortSignal.timeout(1000),
      });
      const body = (await r.json()) as { leader?: number };
      return body.leader ?? 0;
    } catch {
      return 0;
    }
  }

  async #fault(s: Slot, action: 'isolate' | 'heal'): Promise<void> {
    if (s.proc === undefined) throw new ControlError(409, `${s.name} is not running`);
    const url = `http://${this.#layout.host}:${s.clientPort}/admin/${action}`;
    const r = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) });
    if (!r.ok)
      throw new ControlError(502, `${s.name} answered ${r.status} to ${action}: ${await r.text()}`);
    s.isolated = action === ControlAction.Isolate;
  }
}
