// `npm run bench -- kv [--json] [--raw=FILE] [--svg=FILE]`: raftkv against etcd 3.4.23, two
// 3-member clusters on loopback with durable WALs, both driven by etcd's own benchmark tool,
// interleaved scenario by scenario (bench/kv-vs-etcd.sh does the runs; env DUR, REPS, SCEN).
// Prints a table of medians over the reps, raftkv/etcd ratios, and with --json one line per
// figure: {"bench":"kv/put/clients=C","value":N,"unit":"req/s","etcd":N,"vsEtcd":R} and the
// p99 ({"bench":"kv/put/clients=C/p99","unit":"ms",...}). --raw summarises an earlier run's
// raw.txt instead of running; --svg writes the bar chart (default: $OUT/kv.svg).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChart } from './svg.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

function flag(args: string[], name: string): string | undefined {
  const a = args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : a.slice(name.length + 3);
}

/** Run is one line of raw.txt: one scenario on one implementation in one rep. */
interface Run {
  impl: string;
  scenario: string;
  fields: Record<string, string>;
}

/** parseRaw reads the lines "IMPL SCENARIO k=v ..." of a kv-vs-etcd.sh raw.txt. */
export function parseRaw(text: string): Run[] {
  return text
    .split('\n')
    .filter((l) => /^(etcd|raftkv) /.test(l))
    .map((l) => {
      const [impl = '', scenario = '', ...kv] = l.split(' ');
      const fields: Record<string, string> = {};
      for (const f of kv) {
        const i = f.indexOf('=');
        fields[f.slice(0, i)] = f.slice(i + 1);
      }
      return { impl, scenario, fields };
    });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
}

/** Summary is the median of each figure over the reps of one scenario and implementation. */
interface Summary {
  rps: number;
  p50: number;
  p99: number;
  perFsync: number;
  cores: number;
  n: number;
}

function summarise(runs: Run[], impl: string, scenario: string): Summary | undefined {
  const rs = runs.filter((r) => r.impl === impl && r.scenario === scenario);
  if (rs.length === 0) return undefined;
  const m = (k: string): number => median(rs.map((r) => Number(r.fields[k])));
  return {
    rps: m('req/s'),
    p50: m('p50_ms'),
    p99: m('p99_ms'),
    perFsync: m('leader_proposals/fsync'),
    cores: m('cpu_cores'),
    n: rs.length,
  };
}

const SCENARIOS = ['put-c1', 'put-c16', 'put-c128', 'range-l-c16', 'range-l-c128'];

function benchName(s: string): string {
  const [op, ...rest] = s.split('-');
  const c = rest.at(-1)?.slice(1);
  return `kv/${op === 'put' ? 'put' : 'range-linearizable'}/clients=${c}`;
}

export default function run(args: string[]): Promise<void> {
  const out = process.env['OUT'] ?? '/tmp/kv-vs-etcd';
  let raw = flag(args, 'raw');
  if (raw === undefined) {
    const r = spawnSync('bash', [join(HERE, 'kv-vs-etcd.sh')], {
      stdio: ['ignore', args.includes('--json') ? 'ignore' : 'inherit', 'inherit'],
      env: { ...process.env, OUT: out },
    });
    if (r.status !== 0) throw new Error(`kv-vs-etcd.sh exited with ${r.status}`);
    raw = join(out, 'raw.txt');
  }
  const text = readFileSync(raw, 'utf8');
  const runs = parseRaw(text);
  const header = text.split('\n').filter((l) => l.startsWith('#'));
  const rows: string[] = [];
  const json: object[] = [];
  const cats: string[] = [];
  const eRps: (number | undefined)[] = [];
  const kRps: (number | undefined)[] = [];
  for (const s of SCENARIOS) {
    const e = summarise(runs, 'etcd', s);
    const k = summarise(runs, 'raftkv', s);
    if (e === undefined || k === undefined) continue;
    cats.push(s);
    eRps.push(e.rps);
    kRps.push(k.rps);
    rows.push(
      `| ${s} | ${Math.round(k.rps)} | ${Math.round(e.rps)} | ${(k.rps / e.rps).toFixed(2)} | ` +
        `${k.p50.toFixed(2)} / ${e.p50.toFixed(2)} | ${k.p99.toFixed(2)} / ${e.p99.toFixed(2)} | ` +
        `${(k.p99 / e.p99).toFixed(2)} | ${k.perFsync.toFixed(1)} / ${e.perFsync.toFixed(1)} | ` +
        `${k.cores.toFixed(2)} / ${e.cores.toFixed(2)} | ${k.n} |`,
    );
    const b = benchName(s);
    json.push(
      {
        bench: b,
        value: Math.round(k.rps),
        unit: 'req/s',
        etcd: Math.round(e.rps),
        vsEtcd: +(k.rps / e.rps).toFixed(3),
      },
      {
        bench: `${b}/p99`,
        value: +k.p99.toFixed(3),
        unit: 'ms',
        etcd: +e.p99.toFixed(3),
        vsEtcd: +(k.p99 / e.p99).toFixed(3),
      },
    );
  }
  const svg = flag(args, 'svg') ?? join(out, 'kv.svg');
  writeFileSync(
    svg,
    barChart({
      title: 'raftkv vs etcd 3.4.23, 3 members on loopback (median req/s, same minutes)',
      categories: cats,
      yLabel: 'requests/s',
      series: [
        { name: 'raftkv', values: kRps },
        { name: 'etcd 3.4.23', values: eRps },
      ],
    }),
  );
  if (args.includes('--json')) {
    for (const j of json) console.log(JSON.stringify(j));
  } else {
    console.log(header.join('\n'));
    console.log(
      '| scenario | raftkv req/s | etcd req/s | raftkv/etcd | p50 ms raftkv / etcd | p99 ms raftkv / etcd | p99 ratio | proposals per fsync raftkv / etcd | CPU cores raftkv / etcd | reps |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    console.log(`chart: ${svg}`);
  }
  return Promise.resolve();
}
