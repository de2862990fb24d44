// Damage at every offset of a small WAL: bit flips anywhere are refused with the file and
// the offset of the damaged record; truncations of the last segment recover exactly the
// records that are still whole; zeroed tails either recover that prefix or are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeHardState } from '../raftpb/codec.ts';
import type { HardState } from '../raftpb/types.ts';
import { WalCorruptError } from './errors.ts';
import { FaultFS } from './faultfs.ts';
import { openDiskStorage } from './storage.ts';
import { payload } from './testing.ts';

const dir = '/wal';
const opts = { segmentSize: 1024 };

/** Frame as an independent reader sees it: where it starts and ends, its type and body. */
interface RawFrame {
  start: number;
  end: number;
  type: number;
  body: Uint8Array;
}

/** frames parses frame boundaries with nothing but the documented layout. */
function frames(buf: Uint8Array): RawFrame[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RawFrame[] = [];
  for (let off = 0; off + 8 <= buf.length && v.getBigUint64(off, true) !== 0n;) {
    const len = v.getUint32(off, true);
    const end = off + 12 + len + (buf[off + 5] as number);
    out.push({
      start: off,
      end,
      type: buf[off + 4] as number,
      body: buf.subarray(off + 12, off + 12 + len),
    });
    off = end;
  }
  return out;
}

/** buildWal writes 40 saves (one entry and one HardState each) and a snapshot at 5. */
async function buildWal(): Promise<FaultFS> {
  const fs = new FaultFS();
  const s = await openDiskStorage(dir, { ...opts, fs });
  for (let i = 1; i <= 40; i++) {
    const e = { term: 1, index: i, type: 0 as const, data: payload(i, 1, 20) };
    await s.save({ term: 1, vote: 1, commit: i - 1 }, [e]);
  }
  const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  await s.createSnapshot({
    metadata: { index: 5, term: 1, confState: cs },
    data: payload(5, 5, 30),
  });
  await s.close();
  return fs.afterCrash({ keep: () => false });
}

async function openOrError(
  fs: FaultFS,
): Promise<WalCorruptError | { last: number; hs: HardState }> {
  try {
    const s = await openDiskStorage(dir, { ...opts, fs });
    const r = { last: s.lastIndex(), hs: s.initialState().hardState };
    await s.close();
    return r;
  } catch (err) {
    if (err instanceof WalCorruptError) return err;
    throw err;
  }
}

function paths(fs: FaultFS, suffix: string): string[] {
  return [...fs.files().keys()].filter((p) => p.endsWith(suffix)).sort();
}

void test('a bit flip at any offset of any segment is refused, naming file and record', async () => {
  const base = await buildWal();
  const segs = paths(base, '.wal');
  assert.ok(segs.length >= 3, `segments: ${segs.length}`);
  let flips = 0;
  for (const path of segs) {
    const orig = base.read(path);
    const fr = frames(orig);
    const logEnd = (fr[fr.length - 1] as RawFrame).end;
    for (let off = 0; off < orig.length; off++) {
      for (let bit = 0; bit < 8; bit++) {
        if (off >= logEnd + 64 && bit !== off % 8) continue; // one bit per byte in the zero tail
        const fs = base.clone();
        const b = orig.slice();
        b[off] = (b[off] as number) ^ (1 << bit);
        fs.edit(path, b);
        const r = await openOrError(fs);
        assert.ok(r instanceof WalCorruptError, `flip ${path}@${off}.${bit} was not refused`);
        assert.equal(r.file, path);
        const at = fr.find((f) => f.start <= off && off < f.end);
        assert.equal(
          r.offset,
          at === undefined ? logEnd : at.start,
          `flip ${path}@${off}.${bit}: ${r.message}`,
        );
        flips++;
      }
    }
  }
  assert.ok(flips > 5000, `flips: ${flips}`);
});

void test('a bit flip anywhere in the snapshot file is refused, naming the file', async () => {
  const base = await buildWal();
  const [snap] = paths(base, '.snap');
  assert.ok(snap !== undefined);
  const orig = base.read(snap);
  for (let off = 0; off < orig.length; off++) {
    const fs = base.clone();
    const b = orig.slice();
    b[off] = (b[off] as number) ^ (1 << (off % 8));
    fs.edit(snap, b);
    const r = await openOrError(fs);
    assert.ok(r instanceof WalCorruptError, `flip at ${off} was not refused`);
    assert.equal(r.file, snap);
  }
});

/** expectedAt returns the last index and HardState held by the frames that end by `cut`. */
function expectedAt(fr: RawFrame[], cut: number, base: { last: number; hs: HardState }) {
  let { last, hs } = base;
  for (const f of fr.slice(1)) {
    if (f.end > cut) break;
    if (f.type === 2) last++;
    if (f.type === 3) hs = decodeHardState(f.body);
  }
  return { last, hs };
}

void test('truncating the last segment at every offset recovers exactly the whole records', async () => {
  const base = await buildWal();
  const last = paths(base, '.wal').pop() as string;
  const orig = base.read(last);
  const fr = frames(orig);
  const header = fr[0] as RawFrame;
  const logEnd = (fr[fr.length - 1] as RawFrame).end;
  const start = await openOrError(truncated(base, last, orig, header.end));
  assert.ok(!(start instanceof WalCorruptError));
  let torn = 0;
  for (let cut = 0; cut <= logEnd + 16; cut++) {
    const fs = truncated(base, last, orig, cut);
    const r = await openOrError(fs);
    if (cut < header.end) {
      assert.ok(r instanceof WalCorruptError && r.file === last && r.offset === 0, `cut ${cut}`);
      continue;
    }
    assert.ok(
      !(r instanceof WalCorruptError),
      `cut ${cut}: ${r instanceof Error ? r.message : ''}`,
    );
    assert.deepEqual(r, expectedAt(fr, cut, start), `cut ${cut}`);
    if (!fr.some((f) => f.end === cut) && cut < logEnd) torn++;
  }
  assert.ok(torn > 100, `torn cuts: ${torn}`);
});

function truncated(base: FaultFS, path: string, orig: Uint8Array, cut: number): FaultFS {
  const fs = base.clone();
  fs.edit(path, orig.subarray(0, cut));
  return fs;
}

void test('zeroing the last segment from any byte on never yields a wrong state', async () => {
  const base = await buildWal();
  const last = paths(base, '.wal').pop() as string;
  const orig = base.read(last);
  const fr = frames(orig);
  const header = fr[0] as RawFrame;
  const logEnd = (fr[fr.length - 1] as RawFrame).end;
  const start = await openOrError(truncated(base, last, orig, header.end));
  assert.ok(!(start instanceof WalCorruptError));
  let recovered = 0;
  let refused = 0;
  for (let cut = header.end; cut <= logEnd; cut++) {
    const fs = base.clone();
    const b = orig.slice();
    b.fill(0, cut);
    fs.edit(last, b);
    const r = await openOrError(fs);
    if (r instanceof WalCorruptError) {
      assert.equal(r.file, last);
      refused++;
    } else {
      assert.deepEqual(r, expectedAt(fr, cut, start), `zero from ${cut}`);
      recovered++;
    }
  }
  // Cuts at sector boundaries are what a crash produces: those always recover.
  assert.ok(recovered > 0 && refused > 0, `recovered ${recovered}, refused ${refused}`);
});
