// Benchmark: durable entries per second through DiskStorage with group commit, at 1, 16
// and 128 concurrent proposers. Each proposer loops: save() one 256-byte entry plus the
// HardState (commit advancing), wait until it is durable, repeat. Next to it, the disk's
// raw rate of appending 4 KiB and calling fdatasync, measured in the same run and the same
// temporary directory (half before the WAL runs, half after, averaged), so the ratio says
// how much group commit gains on this disk.
//
// Usage: npm run bench -- wal [--json] [--quick] [--secs=N] [--preallocate=zero|sparse|none]
//        npm run bench -- wal --io [--ops=N] [--rounds=N]: how the WAL's file writes are
//        issued, alone: nodeFS (a synchronous write of up to 256 KiB, then fdatasync through
//        the callback API) against FileHandle's write and datasync (the library's promise
//        API, what nodeFS used before), interleaved in one process, at 320 B and 16 KiB per
//        write; CPU of this process per write+fdatasync, and wall time.
// --json prints one line per figure: wal/proposers=P (entries/s), wal-fsync/proposers=P
// (fsyncs/s: every fsync and fdatasync the WAL issued, segment rotation and preallocation
// included) and disk/fdatasync (fsyncs/s).
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Entry } from '../src/raftpb/types.ts';
import { nodeFS, OpenMode, Preallocate, openDiskStorage } from '../src/wal/index.ts';

const PROPOSERS = [1, 16, 128];
const ENTRY_BYTES = 256;
const TARGET_RATIO = 50;

interface Figure {
  bench: string;
  value: number;
  unit: string;
}

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
}

/** rawFdatasync appends 4 KiB and calls fdatasync in a loop for `secs`; returns calls/s. */
async function rawFdatasync(path: string, secs: number): Promise<number> {
  const fh = await open(path, 'w');
  const block = new Uint8Array(4096).fill(0x5a);
  let n = 0;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < secs * 1000) {
      await fh.write(block, 0, block.length, n * block.length);
      await fh.datasync();
      n++;
    }
  } finally {
    await fh.close();
  }
  return n / ((performance.now() - t0) / 1000);
}

interface WalResult {
  entriesPerSec: number;
  fsyncsPerSec: number;
  entriesPerBatch: number;
}

/** walRun drives P proposers against a fresh DiskStorage in dir for `secs`. */
async function walRun(
  dir: string,
  p: number,
  secs: number,
  preallocate: Preallocate,
): Promise<WalResult> {
  const s = await openDiskStorage(dir, { preallocate });
  const data = new Uint8Array(ENTRY_BYTES).fill(0x61);
  let next = 1;
  let stop = false;
  let durable = 0;
  const proposer = async (): Promise<void> => {
    while (!stop) {
      const index = next++;
      const e: Entry = { term: 1, index, type: 0, data };
      await s.save({ term: 1, vote: 1, commit: index - 1 }, [e]);
      durable++;
    }
  };
  const running = Array.from({ length: p }, () => proposer());
  await new Promise((r) => setTimeout(r, 300)); // warm up: JIT, first batches
  const d0 = durable;
  const st0 = s.stats;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, secs * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const d1 = durable;
  const st1 = s.stats;
  stop = true;
  await Promise.all(running);
  await s.close();
  await rm(dir, { recursive: true, force: true });
  const batches = st1.batches - st0.batches;
  return {
    entriesPerSec: (d1 - d0) / elapsed,
    fsyncsPerSec: (st1.fsyncs - st0.fsyncs) / elapsed,
    entriesPerBatch: batches === 0 ? 0 : (st1.entries - st0.entries) / batches,
  };
}

function printResult(p: number, r: WalResult, raw: number): void {
  const ratio = r.entriesPerSec / raw;
  console.log(
    `wal proposers=${p}: ${r.entriesPerSec.toFixed(0)} durable entries/s, ${r.fsyncsPerSec.toFixed(0)} fsyncs/s, ${r.entriesPerBatch.toFixed(1)} entries/batch, ${ratio.toFixed(1)}x raw fdatasync`,
  );
  if (p === 128) {
    const met = ratio >= TARGET_RATIO ? 'met' : 'NOT met';
    console.log(`target: >= ${TARGET_RATIO}x raw at 128 proposers: ${met} (${ratio.toFixed(1)}x)`);
  }
}

/** ioRun: n appends of `size` bytes, each followed by fdatasync, with one I/O strategy. */
async function ioRun(path: string, how: 'nodeFS' | 'FileHandle', n: number, size: number) {
  const data = new Uint8Array(size).fill(0x5a);
  // Written with zeros beforehand, as the WAL preallocates its segments: the timed writes
  // then allocate no blocks.
  const pre = await open(path, 'w');
  const zeros = new Uint8Array(1 << 20);
  for (let off = 0; off < n * size; off += zeros.length)
    await pre.write(zeros, 0, zeros.length, off);
  await pre.sync();
  await pre.close();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (how === 'nodeFS') {
    const f = await nodeFS.open(path, OpenMode.Write);
    for (let i = 0; i < n; i++) {
      await f.write(data, i * size);
      await f.datasync();
    }
    await f.close();
  } else {
    const fh = await open(path, 'r+');
    for (let i = 0; i < n; i++) {
      await fh.write(data, 0, size, i * size);
      await fh.datasync();
    }
    await fh.close();
  }
  const wallUs = ((performance.now() - t0) * 1000) / n;
  const c = process.cpuUsage(c0);
  return { wallUs, cpuUs: (c.user + c.system) / n };
}

/** io compares the two ways of issuing the WAL's writes, interleaved. */
async function io(args: string[], json: boolean): Promise<void> {
  const n = Number(flag(args, 'ops') ?? 2000);
  const rounds = Number(flag(args, 'rounds') ?? 3);
  const root = await mkdtemp(join(tmpdir(), 'bench-walio-'));
  const got = new Map<string, { wallUs: number; cpuUs: number }[]>();
  try {
    for (let r = 0; r < rounds; r++) {
      for (const size of [320, 16_384]) {
        const order = (r + size) % 2 === 0 ? ['nodeFS', 'FileHandle'] : ['FileHandle', 'nodeFS'];
        for (const how of order as ('nodeFS' | 'FileHandle')[]) {
          const res = await ioRun(join(root, `${how}-${size}.dat`), how, n, size);
          const key = `${size}/${how}`;
          got.set(key, [...(got.get(key) ?? []), res]);
        }
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  if (!json) {
    console.log(
      '| bytes/write | nodeFS CPU µs | FileHandle CPU µs | CPU ratio | nodeFS wall µs | FileHandle wall µs |',
    );
    console.log('|---|---|---|---|---|---|');
  }
  for (const size of [320, 16_384]) {
    const a = got.get(`${size}/nodeFS`) ?? [];
    const b = got.get(`${size}/FileHandle`) ?? [];
    const [ca, cb] = [med(a.map((x) => x.cpuUs)), med(b.map((x) => x.cpuUs))];
    const [wa, wb] = [med(a.map((x) => x.wallUs)), med(b.map((x) => x.wallUs))];
    if (json) {
      console.log(
        JSON.stringify({
          bench: `wal-io/bytes=${size}`,
          value: +ca.toFixed(1),
          unit: 'cpu-us/op',
          fileHandle: +cb.toFixed(1),
          ratio: +(ca / cb).toFixed(2),
        }),
      );
    } else {
      console.log(
        `| ${size} | ${ca.toFixed(1)} | ${cb.toFixed(1)} | ${(ca / cb).toFixed(2)} | ${wa.toFixed(0)} | ${wb.toFixed(0)} |`,
      );
    }
  }
}

/** run is the `wal` suite: raw fdatasync rate, then the WAL at each proposer count. */
export default async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  if (args.includes('--io')) return io(args, json);
  const quick = args.includes('--quick') || process.env['CI'] === 'true';
  const secs = Number(flag(args, 'secs') ?? (quick ? 1 : 5));
  if (!(secs > 0))
    throw new RangeError(`--secs must be a positive number, got ${flag(args, 'secs')}`);
  const preallocate = (flag(args, 'preallocate') ?? Preallocate.Zero) as Preallocate;
  const root = await mkdtemp(join(tmpdir(), 'bench-wal-'));
  const figures: Figure[] = [];
  try {
    // The raw rate is measured before and after the WAL runs and averaged: a shared disk
    // drifts, and the ratio should compare like with like.
    const raw0 = await rawFdatasync(join(root, 'raw0.dat'), secs / 2);
    const results: [number, WalResult][] = [];
    for (const p of PROPOSERS) {
      results.push([p, await walRun(join(root, `p${p}`), p, secs, preallocate)]);
    }
    const raw1 = await rawFdatasync(join(root, 'raw1.dat'), secs / 2);
    const raw = (raw0 + raw1) / 2;
    figures.push({ bench: 'disk/fdatasync', value: Math.round(raw), unit: 'fsyncs/s' });
    if (!json) {
      console.log(
        `disk: 4 KiB append + fdatasync: ${raw.toFixed(0)}/s (before ${raw0.toFixed(0)}, after ${raw1.toFixed(0)}; ${root})`,
      );
    }
    for (const [p, r] of results) {
      figures.push({
        bench: `wal/proposers=${p}`,
        value: Math.round(r.entriesPerSec),
        unit: 'entries/s',
      });
      figures.push({
        bench: `wal-fsync/proposers=${p}`,
        value: Math.round(r.fsyncsPerSec),
        unit: 'fsyncs/s',
      });
      if (!json) printResult(p, r, raw);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  if (json) for (const f of figures) console.log(JSON.stringify(f));
}
