// `npm run bench -- scale [--json] [--secs=N] [--members=3,5,7] [--sizes=16,256,4096,65536]
// [--proposers=P] [--svg=FILE]`: how throughput and commit latency change with the number of
// members and the entry size. M Nodes run in one process, each on its own durable WAL
// (DiskStorage under the temp dir, group commit, fdatasync) and connected by the in-memory
// transport (messages are passed, not serialized: this isolates raft + WAL from TCP). P
// proposers (default 64) each propose one entry of S bytes to the leader and wait for it to
// be committed and applied there, in a loop, for --secs. Figures: committed entries/s, MB/s,
// and p50/p99 of propose-to-applied latency. A second pass with one proposer gives the
// unloaded commit latency.
import { mkdtemp, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork, Node } from '../src/node/index.ts';
import type { Entry, StateMachine } from '../src/node/index.ts';
import { discardLogger } from '../src/raft/logger.ts';
import { openDiskStorage } from '../src/wal/index.ts';
import { lineChart } from './svg.ts';

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
}

/** Sink counts applied entries; an entry's result is its number. */
class Sink implements StateMachine {
  n = 0;
  apply = (entries: readonly Entry[]): unknown[] => entries.map(() => ++this.n);
  snapshot = (): Uint8Array => new Uint8Array(0);
  restore = (): void => {};
}

/** ScaleResult is one (members, size, proposers) run. */
export interface ScaleResult {
  members: number;
  size: number;
  proposers: number;
  entriesPerSec: number;
  mbPerSec: number;
  p50ms: number;
  p99ms: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** runScale starts a cluster of `members` Nodes and drives it for `secs`. */
export async function runScale(
  members: number,
  size: number,
  proposers: number,
  secs: number,
): Promise<ScaleResult> {
  const root = await mkdtemp(join(tmpdir(), 'bench-scale-'));
  const net = new MemoryNetwork();
  const peers = Array.from({ length: members }, (_, i) => ({
    id: i + 1,
    address: `mem://${i + 1}`,
  }));
  const nodes: Node[] = [];
  try {
    for (const p of peers) {
      const storage = await openDiskStorage(join(root, `n${p.id}`), { logger: discardLogger });
      nodes.push(
        await Node.start({
          id: p.id,
          peers,
          storage,
          transport: net.transport(p.id),
          stateMachine: new Sink(),
          tickMs: 50,
          snapshotInterval: 0,
          logger: discardLogger,
        }),
      );
    }
    const lead = await nodes[0]!.waitForLeader({ signal: AbortSignal.timeout(30_000) });
    const leader = nodes[lead - 1]!;
    const data = new Uint8Array(size).fill(0x61);
    let stop = false;
    let measuring = false;
    let done = 0;
    const lat: number[] = [];
    let failure: unknown;
    const proposer = async (): Promise<void> => {
      while (!stop) {
        const t0 = performance.now();
        try {
          await leader.propose(data);
        } catch (err) {
          failure ??= err;
          stop = true;
          return;
        }
        if (measuring) {
          done++;
          lat.push(performance.now() - t0);
        }
      }
    };
    const running = Array.from({ length: proposers }, () => proposer());
    await new Promise((r) => setTimeout(r, 300)); // warm-up
    measuring = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, secs * 1000));
    measuring = false;
    const elapsed = (performance.now() - t0) / 1000;
    stop = true;
    await Promise.all(running);
    if (failure !== undefined) throw new Error('scale: a proposal failed', { cause: failure });
    lat.sort((a, b) => a - b);
    return {
      members,
      size,
      proposers,
      entriesPerSec: done / elapsed,
      mbPerSec: (done * size) / elapsed / 1e6,
      p50ms: pct(lat, 0.5),
      p99ms: pct(lat, 0.99),
    };
  } finally {
    for (const n of nodes)
      await n.close({ signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}

export default async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const secs = Number(flag(args, 'secs') ?? 2);
  const members = (flag(args, 'members') ?? '3,5,7').split(',').map(Number);
  const sizes = (flag(args, 'sizes') ?? '16,256,4096,65536').split(',').map(Number);
  const proposers = Number(flag(args, 'proposers') ?? 64);
  const results: ScaleResult[] = [];
  for (const m of members) {
    for (const s of sizes) {
      for (const p of [proposers, 1]) {
        const b = `scale/members=${m}/size=${s}/proposers=${p}`;
        let r: ScaleResult;
        try {
          r = await runScale(m, s, p, secs);
        } catch (err) {
          console.log(`${b} FAILED: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        results.push(r);
        if (json) {
          console.log(
            JSON.stringify({
              bench: b,
              value: Math.round(r.entriesPerSec),
              unit: 'entries/s',
              mbPerSec: +r.mbPerSec.toFixed(2),
              p50ms: +r.p50ms.toFixed(3),
              p99ms: +r.p99ms.toFixed(3),
            }),
          );
        } else {
          console.log(
            `${b.padEnd(44)} ${Math.round(r.entriesPerSec).toString().padStart(7)} entries/s ${r.mbPerSec.toFixed(1).padStart(6)} MB/s  p50 ${r.p50ms.toFixed(2)} ms  p99 ${r.p99ms.toFixed(2)} ms`,
          );
        }
      }
    }
  }
  const svg = flag(args, 'svg') ?? join(tmpdir(), 'scale.svg');
  writeFileSync(
    svg,
    lineChart({
      title: `raft + WAL, ${proposers} proposers: committed entries/s by entry size`,
      categories: sizes.map((s) => (s >= 1024 ? `${s / 1024} KiB` : `${s} B`)),
      yLabel: 'entries/s (log)',
      logY: true,
      series: members.map((m) => ({
        name: `${m} members`,
        values: sizes.map(
          (s) =>
            results.find((r) => r.members === m && r.size === s && r.proposers === proposers)
              ?.entriesPerSec,
        ),
      })),
    }),
  );
  if (!json) console.log(`chart: ${svg}`);
}
