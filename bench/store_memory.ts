/**
 * Memory per key of raftkv's KvStore, and the time to snapshot and restore it.
 *
 * Puts N (default 1,000,000) distinct 8-byte keys with 256-byte values (bench/memory.sh's
 * workload), then reports the V8 heap and the external memory per key after a full GC,
 * against Status dbSize (key + value + 40 bytes per key). Then it snapshots the store in
 * chunks and restores it into a second machine, reporting the time and the longest pause of
 * the event loop meanwhile.
 *
 * Usage: node --expose-gc --import tsx bench/store_memory.ts [N]
 */
import { KvStateMachine } from '../src/kv/state_machine.ts';

const n = Number(process.argv[2] ?? 1_000_000);
const gcFn = (globalThis as { gc?: () => void }).gc;
if (gcFn === undefined) throw new Error('run with node --expose-gc');
const gc: () => void = gcFn;

function used(): { heap: number; external: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}

const before = used();
const sm = new KvStateMachine();
const key = Buffer.alloc(8);
const value = Buffer.alloc(256, 7);
for (let i = 0; i < n; i++) {
  key.writeUInt32BE(i, 4);
  value.writeUInt32BE(i, 0);
  sm.store.put(key.toString('latin1'), key, value, i + 2, 0);
}
sm.store.revision = n + 1;
const after = used();
const per = (x: number): string => (x / n).toFixed(1);
const db = sm.store.byteSize;
console.log(
  `${n} keys: heap ${per(after.heap - before.heap)} B/key, external ${per(after.external - before.external)} B/key, ` +
    `rss ${per(after.rss - before.rss)} B/key; dbSize ${per(db)} B/key; heap/dbSize ${((after.heap - before.heap) / db).toFixed(2)}`,
);

let last = performance.now();
let worst = 0;
const probe = setInterval(() => {
  const now = performance.now();
  worst = Math.max(worst, now - last);
  last = now;
}, 1);
const t0 = performance.now();
let bytes = 0;
const chunks: Uint8Array[] = [];
for await (const c of sm.snapshotChunks()) {
  chunks.push(c);
  bytes += c.length;
}
const t1 = performance.now();
const data = Buffer.concat(chunks);
chunks.length = 0;
const copy = new KvStateMachine();
const t2 = performance.now();
await copy.restore(data);
const t3 = performance.now();
clearInterval(probe);
worst = Math.max(worst, performance.now() - last);
console.log(
  `snapshot ${(bytes / 2 ** 20).toFixed(1)} MiB in ${(t1 - t0).toFixed(0)} ms, restore in ${(t3 - t2).toFixed(0)} ms; ` +
    `longest event-loop pause ${worst.toFixed(1)} ms; restored ${copy.store.size} keys`,
);
