// Flame graphs of V8 CPU profiles (`node --cpu-prof`), as one self-contained SVG file, plus a
// table of self time by category and the functions with the most self time.
//
//   node --import tsx bench/flame.ts PROFILE.cpuprofile [--svg=FILE] [--title=T] [--top=25]
//        [--from=US --to=US] [--min-fraction=0.001] [--no-sourcemap]
//
// Frames are merged by function name, file and line along each stack; widths are sample
// counts; frames under --min-fraction of all samples are not drawn. (idle) samples are left
// out of every total. --from/--to keep only the samples taken in that window of V8's clock
// (microseconds of CLOCK_MONOTONIC, as `process.hrtime.bigint() / 1000n` reads it).
//
// raftkv runs its TypeScript through tsx, which hands V8 esbuild's output with the
// whitespace removed: every function of a file sits on line 1. The line shown is mapped back
// to the .ts source by transforming the file again as tsx does and reading the source map
// (--no-sourcemap shows V8's own line). No npm package draws an SVG flame graph from a
// .cpuprofile (0x and clinic draw HTML from their own recordings; flamebearer 2 prints text
// only), so this is written here.
//
// As the `profile` suite (`npm run bench -- profile [--clients N] [--out DIR]`) it runs
// bench/profile-kv.sh: a 3-member raftkv cluster under load, each member profiled.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';
import type { TsconfigRaw } from 'esbuild';

/** CallFrame is where a profile node's function is, as V8 reports it (0-based line, column). */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

/** ProfileNode is one node of V8's call tree: one function under one particular stack. */
export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

/**
 * CpuProfile is the content of a `.cpuprofile` file. samples[i] is the node on top of the
 * stack at the i-th sample, taken timeDeltas[i] microseconds after the one before it (the
 * first after startTime). Without samples, each node's hitCount is used.
 */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Category groups frames by the part of the system their code belongs to. */
export const Category = {
  RaftCore: 'raft core',
  Raftpb: 'raftpb codec',
  Node: 'node (src/node)',
  Transport: 'transport',
  Wal: 'wal',
  Kv: 'kv/h2/grpc',
  NodeInternals: 'node: internals',
  NodeModules: 'node_modules',
  Gc: '(garbage collector)',
  Program: '(program)',
  Native: 'V8 builtins, native (no script)',
  Other: 'other scripts',
  Idle: '(idle)',
} as const;
export type Category = (typeof Category)[keyof typeof Category];

const SRC_CATEGORY: Record<string, Category> = {
  raft: Category.RaftCore,
  quorum: Category.RaftCore,
  tracker: Category.RaftCore,
  confchange: Category.RaftCore,
  raftpb: Category.Raftpb,
  node: Category.Node,
  transport: Category.Transport,
  wal: Category.Wal,
  kv: Category.Kv,
};

/** categoryOf tells which category a function belongs to, from its name and script URL. */
export function categoryOf(functionName: string, url: string): Category {
  if (url.includes('/node_modules/')) return Category.NodeModules;
  const m = /\/src\/([a-z]+)\//.exec(url);
  const src = m === null ? undefined : SRC_CATEGORY[m[1] ?? ''];
  if (src !== undefined) return src;
  if (url.startsWith('node:')) return Category.NodeInternals;
  if (functionName === '(garbage collector)') return Category.Gc;
  if (functionName === '(program)') return Category.Program;
  if (functionName === '(idle)') return Category.Idle;
  // protobufjs compiles its codecs with new Function: no script, names like PutRequest$decode.
  if (url === '' && /\$(decode|encode|toObject|fromObject|verify)$/.test(functionName)) {
    return Category.NodeModules;
  }
  return url === '' ? Category.Native : Category.Other;
}

/**
 * Frame is one box of the flame graph: every stack position with the same function name,
 * file and line under the same parent frame, merged. 0 <= self <= total, and total is self
 * plus the children's totals.
 */
export interface Frame {
  name: string;
  /** file is the script's path relative to the working directory, or its URL. */
  file: string;
  /** line is 1-based; 0 when V8 gives none. */
  line: number;
  category: Category;
  self: number;
  total: number;
  children: Map<string, Frame>;
}

/** LineMapper turns V8's 0-based line and column in a script into the 1-based source line. */
export type LineMapper = (url: string, line: number, column: number) => number;

/** v8Line is the LineMapper that keeps V8's line. */
export const v8Line: LineMapper = (_url, line) => line + 1;

/** FlameTree is a merged profile: the root frame and what was counted. */
export interface FlameTree {
  root: Frame;
  /** idle is the number of (idle) samples, not in root.total. */
  idle: number;
  /** msPerSample is the mean sampling interval. */
  msPerSample: number;
}

/** parseCpuProfile checks that text is a V8 CPU profile and returns it. */
export function parseCpuProfile(text: string, name = 'profile'): CpuProfile {
  const p = JSON.parse(text) as Partial<CpuProfile>;
  if (!Array.isArray(p.nodes) || typeof p.startTime !== 'number') {
    throw new TypeError(`Cannot read ${name}: not a V8 .cpuprofile (no nodes or startTime)`);
  }
  return p as CpuProfile;
}

/** sampleCounts counts the samples of each node id, within [from, to] if given. */
function sampleCounts(p: CpuProfile, from?: number, to?: number): Map<number, number> {
  const counts = new Map<number, number>();
  if (p.samples === undefined) {
    if (from !== undefined || to !== undefined) {
      throw new RangeError('Cannot cut a time window out of a profile without samples');
    }
    for (const n of p.nodes) counts.set(n.id, n.hitCount ?? 0);
    return counts;
  }
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas?.[i] ?? 0;
    if ((from !== undefined && t < from) || (to !== undefined && t > to)) return;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  });
  return counts;
}

function displayFile(url: string): string {
  if (!url.startsWith('file://')) return url;
  const rel = relative(process.cwd(), fileURLToPath(url.replace(/\?.*$/, '')));
  return rel.startsWith('..') ? fileURLToPath(url.replace(/\?.*$/, '')) : rel;
}

function newFrame(cf: CallFrame, mapLine: LineMapper): Frame {
  return {
    name: cf.functionName === '' ? '(anonymous)' : cf.functionName,
    file: displayFile(cf.url),
    line: cf.lineNumber < 0 ? 0 : mapLine(cf.url, cf.lineNumber, cf.columnNumber),
    category: categoryOf(cf.functionName, cf.url),
    self: 0,
    total: 0,
    children: new Map(),
  };
}

/** sumTotals sets each frame's total and drops the frames without samples. */
function sumTotals(f: Frame): number {
  let total = f.self;
  for (const [k, c] of f.children) {
    const t = sumTotals(c);
    if (t === 0) f.children.delete(k);
    total += t;
  }
  f.total = total;
  return total;
}

/**
 * buildTree merges a profile's call tree by function name, file and line (see Frame) and
 * counts samples, leaving out (idle) ones. Throws TypeError when the tree has no root.
 */
export function buildTree(
  p: CpuProfile,
  o: { from?: number; to?: number; mapLine?: LineMapper } = {},
): FlameTree {
  const mapLine = o.mapLine ?? v8Line;
  const counts = sampleCounts(p, o.from, o.to);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const isChild = new Set(p.nodes.flatMap((n) => n.children ?? []));
  const top = p.nodes.find((n) => !isChild.has(n.id));
  if (top === undefined) throw new TypeError('Cannot merge profile: its call tree has no root');
  const root = newFrame(top.callFrame, mapLine);
  let idle = 0;
  const stack: [ProfileNode, Frame][] = [[top, root]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, frame] = item;
    frame.self += counts.get(node.id) ?? 0;
    for (const id of node.children ?? []) {
      const child = byId.get(id);
      if (child === undefined) continue;
      const cf = child.callFrame;
      if (cf.functionName === '(idle)') {
        idle += counts.get(id) ?? 0;
        continue;
      }
      const key = `${cf.functionName}\0${cf.url}\0${cf.lineNumber}`;
      let f = frame.children.get(key);
      if (f === undefined) {
        f = newFrame(cf, mapLine);
        frame.children.set(key, f);
      }
      stack.push([child, f]);
    }
  }
  sumTotals(root);
  const n = p.samples?.length ?? 0;
  const msPerSample = n > 0 ? (p.endTime - p.startTime) / n / 1000 : 0;
  return { root, idle, msPerSample };
}

// ---- source lines of tsx-compiled TypeScript ---------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** decodeMappings reads a source map's mappings: per generated line, [column, source line]. */
export function decodeMappings(mappings: string): [number, number][][] {
  let srcLine = 0;
  return mappings.split(';').map((group) => {
    let col = 0;
    const segs: [number, number][] = [];
    for (const seg of group.split(',')) {
      const v = decodeVlq(seg);
      if (v.length === 0) continue;
      col += v[0] ?? 0;
      if (v.length >= 4) {
        srcLine += v[2] ?? 0;
        segs.push([col, srcLine]);
      }
    }
    return segs;
  });
}

function decodeVlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of seg) {
    const digit = B64.indexOf(c);
    if (digit < 0) throw new TypeError(`Cannot decode source map segment ${JSON.stringify(seg)}`);
    value += (digit & 31) * 2 ** shift;
    shift += 5;
    if ((digit & 32) === 0) {
      out.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

/** lookup finds the source line (0-based) of the last segment at or before column. */
function lookup(segs: [number, number][], column: number): number | undefined {
  let lo = 0;
  let hi = segs.length - 1;
  let found: number | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = segs[mid];
    if (s === undefined) break;
    if (s[0] <= column) {
      found = s[1];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function findTsconfig(file: string): unknown {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const p = join(dir, 'tsconfig.json');
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8'));
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * tsxLineMapper maps lines of .ts files run through tsx: it transforms each file as tsx
 * does (esbuild, ESM, whitespace minified, names kept, the nearest tsconfig.json) and reads
 * the source map. Any other script, or a file it cannot read, keeps V8's line.
 */
export function tsxLineMapper(): LineMapper {
  const maps = new Map<string, [number, number][][] | undefined>();
  const load = (url: string): [number, number][][] | undefined => {
    const file = fileURLToPath(url);
    const ext = extname(file);
    if (!['.ts', '.mts', '.tsx'].includes(ext)) return undefined;
    try {
      const r = transformSync(readFileSync(file, 'utf8'), {
        loader: ext === '.tsx' ? 'tsx' : 'ts',
        format: 'esm',
        target: `node${process.versions.node}`,
        sourcemap: true,
        sourcesContent: false,
        minifyWhitespace: true,
        keepNames: true,
        sourcefile: file,
        tsconfigRaw: findTsconfig(file) as TsconfigRaw,
      });
      return decodeMappings((JSON.parse(r.map) as { mappings: string }).mappings);
    } catch {
      return undefined;
    }
  };
  return (url, line, column) => {
    const clean = url.replace(/\?.*$/, '');
    if (!clean.startsWith('file://')) return line + 1;
    if (!maps.has(clean)) maps.set(clean, load(clean));
    const m = maps.get(clean)?.[line];
    const src = m === undefined ? undefined : lookup(m, column);
    return src === undefined ? line + 1 : src + 1;
  };
}

// ---- the SVG ---------------------------------------------------------------------------

const HUE: Record<Category, [number, number]> = {
  [Category.RaftCore]: [10, 75],
  [Category.Raftpb]: [45, 80],
  [Category.Node]: [330, 55],
  [Category.Transport]: [200, 65],
  [Category.Wal]: [120, 45],
  [Category.Kv]: [270, 50],
  [Category.NodeInternals]: [175, 35],
  [Category.NodeModules]: [90, 30],
  [Category.Gc]: [0, 0],
  [Category.Program]: [30, 10],
  [Category.Native]: [215, 15],
  [Category.Other]: [60, 25],
  [Category.Idle]: [0, 0],
};

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

/** color is the fill of a frame: its category's hue, a lightness that varies by name. */
function color(f: Frame): string {
  const [h, s] = HUE[f.category];
  return `hsl(${h},${s}%,${Math.round(62 + hash(f.name) * 18)}%)`;
}

/** escapeXml makes text safe inside SVG elements and quoted attributes. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const FONT = 11;
const CHAR_W = FONT * 0.6; // monospace
const FH = 16;
const PAD = 10;
const HEAD = 64;

/** fitLabel shortens text with an ellipsis to fit px pixels; '' if not even 3 characters fit. */
export function fitLabel(text: string, px: number): string {
  const n = Math.floor((px - 6) / CHAR_W);
  if (n < 3) return '';
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

function pct(n: number, total: number): string {
  return `${((100 * n) / Math.max(1, total)).toFixed(2)}%`;
}

function where(f: Frame): string {
  if (f.file === '') return '';
  return f.line > 0 ? `${f.file}:${f.line}` : f.file;
}

/** RenderOptions name the graph and set its width and the smallest frame drawn. */
export interface RenderOptions {
  title: string;
  subtitle?: string;
  width?: number;
  /** minFraction: frames with fewer than this share of all samples are dropped (0.001). */
  minFraction?: number;
}

interface Box {
  f: Frame;
  x: number;
  w: number;
  depth: number;
}

function layout(root: Frame, width: number, minFraction: number): Box[] {
  const scale = (width - 2 * PAD) / Math.max(1, root.total);
  const min = root.total * minFraction;
  const boxes: Box[] = [];
  const place = (f: Frame, x: number, depth: number): void => {
    boxes.push({ f, x, w: f.total * scale, depth });
    let cx = x;
    const kids = [...f.children.values()].sort((a, b) => b.total - a.total);
    for (const c of kids) {
      if (c.total >= min) place(c, cx, depth + 1);
      cx += c.total * scale;
    }
  };
  place(root, PAD, 0);
  return boxes;
}

function legend(tree: FlameTree, width: number): { lines: string[]; bottom: number } {
  const totals = selfByCategory(tree.root);
  const out: string[] = [];
  let x = PAD;
  let y = 54;
  for (const [cat, n] of totals) {
    const label = `${cat} ${pct(n, tree.root.total)}`;
    const w = Math.round(18 + label.length * CHAR_W + 14);
    if (x + w > width - PAD) {
      x = PAD;
      y += 16;
    }
    const [h, s] = HUE[cat];
    out.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="hsl(${h},${s}%,70%)"/>`,
      `<text x="${x + 16}" y="${y}">${escapeXml(label)}</text>`,
    );
    x += w;
  }
  return { lines: out, bottom: y + 10 };
}

/**
 * renderFlameGraph draws the tree as a flame graph (root at the bottom) in a self-contained
 * SVG: no script, no external font; each frame has a <title> tooltip with the function,
 * file:line, samples and share of all samples.
 */
export function renderFlameGraph(tree: FlameTree, o: RenderOptions): string {
  const width = o.width ?? 1200;
  const boxes = layout(tree.root, width, o.minFraction ?? 0.001);
  const maxDepth = Math.max(0, ...boxes.map((b) => b.depth));
  const key = legend(tree, width);
  const top = Math.max(HEAD, key.bottom + 8);
  const height = top + (maxDepth + 1) * FH + PAD;
  const total = tree.root.total;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${FONT}">`,
    `<rect width="${width}" height="${height}" fill="#fbfbf8"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="15">${escapeXml(o.title)}</text>`,
    `<text x="${width / 2}" y="32" text-anchor="middle" fill="#555">${escapeXml(o.subtitle ?? `${total} samples (idle left out), frames under ${((o.minFraction ?? 0.001) * 100).toFixed(1)}% not drawn`)}</text>`,
    ...key.lines,
  ];
  for (const b of boxes) {
    const y = top + (maxDepth - b.depth) * FH;
    const tip = `${b.f.name}${where(b.f) === '' ? '' : ` (${where(b.f)})`}\n${b.f.total} samples, ${pct(b.f.total, total)}; self ${b.f.self}, ${pct(b.f.self, total)}; ${b.f.category}`;
    const label = fitLabel(b.f.name, b.w);
    out.push(
      `<g><title>${escapeXml(tip)}</title><rect x="${b.x.toFixed(2)}" y="${y}" width="${Math.max(0.1, b.w - 0.5).toFixed(2)}" height="${FH - 1}" rx="2" fill="${color(b.f)}"/>` +
        (label === ''
          ? '</g>'
          : `<text x="${(b.x + 3).toFixed(2)}" y="${y + FH - 4.5}">${escapeXml(label)}</text></g>`),
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---- self time ---------------------------------------------------------------------------

function walk(f: Frame, visit: (f: Frame) => void): void {
  visit(f);
  for (const c of f.children.values()) walk(c, visit);
}

/** selfByCategory sums self samples per category, largest first. */
export function selfByCategory(root: Frame): Map<Category, number> {
  return tally(root, (f) => f.category);
}

const OWNERS: readonly Category[] = Object.values(SRC_CATEGORY);

/**
 * chargedByCategory counts each sample for the innermost frame of raftkv's own src/ on its
 * stack (raft core, raftpb, node, transport, wal, kv), so that time in node:, node_modules
 * and native code goes to the layer that called it; samples with no such frame keep theirs.
 */
export function chargedByCategory(root: Frame): Map<Category, number> {
  const owner = new Map<Frame, Category>();
  const visit = (f: Frame, up: Category | undefined): void => {
    const own = OWNERS.includes(f.category) ? f.category : up;
    if (own !== undefined) owner.set(f, own);
    for (const c of f.children.values()) visit(c, own);
  };
  visit(root, undefined);
  return tally(root, (f) => owner.get(f) ?? f.category);
}

function tally(root: Frame, key: (f: Frame) => Category): Map<Category, number> {
  const m = new Map<Category, number>();
  walk(root, (f) => {
    if (f.self > 0) m.set(key(f), (m.get(key(f)) ?? 0) + f.self);
  });
  return new Map([...m].sort((a, b) => b[1] - a[1]));
}

/** SelfRow is one function's self samples, summed over every stack it appears on. */
export interface SelfRow {
  name: string;
  where: string;
  category: Category;
  self: number;
}

/** topSelf returns the n functions (name, file, line) with the most self samples. */
export function topSelf(root: Frame, n: number): SelfRow[] {
  const m = new Map<string, SelfRow>();
  walk(root, (f) => {
    if (f.self === 0) return;
    const key = `${f.name}\0${where(f)}`;
    const r = m.get(key) ?? { name: f.name, where: where(f), category: f.category, self: 0 };
    r.self += f.self;
    m.set(key, r);
  });
  return [...m.values()].sort((a, b) => b.self - a.self).slice(0, n);
}

/** formatTables writes the category table and the top functions as Markdown. */
export function formatTables(tree: FlameTree, top = 25): string {
  const total = tree.root.total;
  const ms = (n: number): string => (n * tree.msPerSample).toFixed(0);
  const charged = chargedByCategory(tree.root);
  const lines = [
    `samples: ${total} (+${tree.idle} idle), ~${tree.msPerSample.toFixed(2)} ms each; charged:` +
      ' each sample counted for the innermost src/ frame on its stack',
    '',
    '| category | self samples | self ms | self % | charged % |',
    '|---|---:|---:|---:|---:|',
  ];
  const self = selfByCategory(tree.root);
  for (const cat of new Set([...self.keys(), ...charged.keys()])) {
    const n = self.get(cat) ?? 0;
    const c = pct(charged.get(cat) ?? 0, total);
    lines.push(`| ${cat} | ${n} | ${ms(n)} | ${pct(n, total)} | ${c} |`);
  }
  lines.push('', '| # | function | where | category | self % |', '|---:|---|---|---|---:|');
  topSelf(tree.root, top).forEach((r, i) => {
    const name = r.name.replace(/\|/g, '\\|');
    lines.push(`| ${i + 1} | ${name} | ${r.where} | ${r.category} | ${pct(r.self, total)} |`);
  });
  return lines.join('\n') + '\n';
}

// ---- command line ------------------------------------------------------------------------

function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = args[i] ?? '';
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

function num(args: string[], name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new RangeError(`--${name} ${JSON.stringify(v)} is not a number`);
  return n;
}

const VALUED = ['svg', 'title', 'top', 'from', 'to', 'min-fraction'];

/** cli renders one profile: the SVG (with --svg) and the tables on stdout. */
export function cli(args: string[]): void {
  const valued = VALUED.map((n) => `--${n}`);
  const file = args.find((a, i) => !a.startsWith('--') && !valued.includes(args[i - 1] ?? ''));
  if (file === undefined) {
    throw new TypeError('usage: flame.ts PROFILE.cpuprofile [--svg=FILE] [--title=T] [...]');
  }
  const profile = parseCpuProfile(readFileSync(file, 'utf8'), file);
  const window = { from: num(args, 'from'), to: num(args, 'to') };
  const tree = buildTree(profile, {
    ...(window.from === undefined ? {} : { from: window.from }),
    ...(window.to === undefined ? {} : { to: window.to }),
    mapLine: args.includes('--no-sourcemap') ? v8Line : tsxLineMapper(),
  });
  const svg = flag(args, 'svg');
  if (svg !== undefined) {
    const title = flag(args, 'title') ?? file;
    const minFraction = num(args, 'min-fraction') ?? 0.001;
    writeFileSync(svg, renderFlameGraph(tree, { title, minFraction }));
  }
  process.stdout.write(formatTables(tree, num(args, 'top') ?? 25));
}

/** run is the `profile` bench suite: bench/profile-kv.sh with --clients and --out as env. */
export default function run(args: string[]): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const clients = flag(args, 'clients');
  const out = flag(args, 'out');
  if (clients !== undefined) env['CLIENTS'] = clients;
  if (out !== undefined) env['OUT'] = out;
  const script = fileURLToPath(new URL('./profile-kv.sh', import.meta.url));
  const r = spawnSync('bash', [script], { stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`profile-kv.sh exited with ${r.status}`);
  return Promise.resolve();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  cli(process.argv.slice(2));
}
