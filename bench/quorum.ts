// majority-committed-index/voters=V: ns per MajorityConfig.committedIndex over V voters with
// random acked indexes, as etcd-raft's BenchmarkMajorityConfig_CommittedIndex.
import { MajorityConfig } from '../src/quorum/majority.ts';
import { mapAckIndexer } from '../src/quorum/quorum.ts';

/** runQuorum returns [voters, ns/op] for V = 1, 3, 5, 7, 9, 11. */
export function runQuorum(iters: number): [number, number][] {
  const out: [number, number][] = [];
  for (const v of [1, 3, 5, 7, 9, 11]) {
    const ids = Array.from({ length: v }, (_, i) => i + 1);
    const cfg = new MajorityConfig(ids);
    const acks = new Map<number, number>();
    let seed = 42;
    for (const id of ids) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      acks.set(id, seed * 2048 + id);
    }
    const l = mapAckIndexer(acks);
    let sink = 0;
    for (let i = 0; i < iters / 10; i++) sink += cfg.committedIndex(l); // warm-up
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) sink += cfg.committedIndex(l);
    const ns = Number(process.hrtime.bigint() - t0) / iters;
    if (sink === -1) console.log(sink);
    out.push([v, ns]);
  }
  return out;
}

export default function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick') || process.env['CI'] === 'true';
  for (const [v, ns] of runQuorum(quick ? 200_000 : 5_000_000)) {
    if (args.includes('--json')) {
      const bench = `majority-committed-index/voters=${v}`;
      console.log(JSON.stringify({ bench, value: Number(ns.toFixed(1)), unit: 'ns/op' }));
    } else {
      console.log(`majority-committed-index voters=${v} ${ns.toFixed(1)} ns/op`);
    }
  }
  return Promise.resolve();
}
