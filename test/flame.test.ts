// bench/flame.ts on a small synthetic .cpuprofile: merging, idle, time windows, categories,
// dropping of tiny frames and escaping in the SVG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildTree,
  Category,
  categoryOf,
  chargedByCategory,
  decodeMappings,
  fitLabel,
  formatTables,
  parseCpuProfile,
  renderFlameGraph,
  selfByCategory,
  topSelf,
} from '../bench/flame.ts';
import type { CpuProfile, Frame, ProfileNode } from '../bench/flame.ts';

const KV = 'file:///repo/src/kv/server.ts';
const RAFT = 'file:///repo/src/raft/raft.ts';

function node(id: number, name: string, url = '', line = -1, children?: number[]): ProfileNode {
  const n: ProfileNode = {
    id,
    callFrame: { functionName: name, url, lineNumber: line, columnNumber: 0 },
  };
  if (children !== undefined) n.children = children;
  return n;
}

// Two profile nodes each for `serve` and `stepLeader` with the same name, file and line: the
// graph must show one of each. [node id, samples], in sample order.
const HITS: [number, number][] = [
  [6, 600],
  [9, 400],
  [4, 200],
  [5, 100],
  [2, 500],
  [8, 198],
  [7, 1],
  [10, 50],
  [3, 700],
];

function profile(): CpuProfile {
  const samples = HITS.flatMap(([id, n]) => Array<number>(n).fill(id));
  return {
    nodes: [
      node(1, '(root)', '', -1, [2, 3, 4, 5, 8, 10]),
      node(2, '(program)'),
      node(3, '(idle)'),
      node(4, 'serve', KV, 9, [6, 7]),
      node(5, 'serve', KV, 9, [9]),
      node(6, 'stepLeader', RAFT, 99),
      node(7, 'tinyFrame', 'node:internal/timers', 3),
      node(8, '(garbage collector)'),
      node(9, 'stepLeader', RAFT, 99),
      node(10, 'a<b&c'),
    ],
    startTime: 1_000_000,
    endTime: 1_000_000 + samples.length * 1000,
    samples,
    timeDeltas: samples.map(() => 1000),
  };
}

function child(f: Frame, name: string): Frame {
  const c = [...f.children.values()].find((x) => x.name === name);
  assert.ok(c !== undefined, `no frame ${name} under ${f.name}`);
  return c;
}

test('buildTree merges stacks by name, file and line and leaves idle out', () => {
  const { root, idle, msPerSample } = buildTree(profile());
  assert.equal(idle, 700);
  assert.equal(root.total, 2049);
  assert.equal(msPerSample, 1);
  assert.equal(root.children.size, 4); // (program), serve, (garbage collector), a<b&c
  const serve = child(root, 'serve');
  assert.equal(serve.self, 300);
  assert.equal(serve.total, 1301);
  assert.equal(serve.line, 10);
  assert.equal(serve.file.endsWith('src/kv/server.ts'), true);
  const step = child(serve, 'stepLeader');
  assert.equal(step.self, 1000);
  assert.equal(step.total, 1000);
});

test('buildTree counts only the samples in the window and drops frames left without any', () => {
  // The first 1,000 samples are all stepLeader (ids 6 then 9).
  const { root, idle } = buildTree(profile(), { from: 1_000_000, to: 1_000_000 + 1000 * 1000 });
  assert.equal(root.total, 1000);
  assert.equal(idle, 0);
  assert.deepEqual(
    [...root.children.values()].map((f) => f.name),
    ['serve'],
  );
  assert.equal(child(root, 'serve').self, 0);
});

test('categoryOf sorts frames by the part of the system they are in', () => {
  assert.equal(categoryOf('stepLeader', RAFT), Category.RaftCore);
  assert.equal(categoryOf('x', 'file:///repo/src/tracker/progress.ts'), Category.RaftCore);
  assert.equal(categoryOf('x', 'file:///repo/src/raftpb/codec.ts'), Category.Raftpb);
  assert.equal(categoryOf('x', 'file:///repo/src/rafttest/env.ts'), Category.Other);
  assert.equal(categoryOf('x', 'file:///repo/src/node/node.ts'), Category.Node);
  assert.equal(categoryOf('x', 'file:///repo/src/kv/h2/frame.ts'), Category.Kv);
  assert.equal(
    categoryOf('x', 'file:///repo/node_modules/tsx/src/raft/a.js'),
    Category.NodeModules,
  );
  assert.equal(categoryOf('x', 'node:internal/fs/utils'), Category.NodeInternals);
  assert.equal(categoryOf('(garbage collector)', ''), Category.Gc);
  assert.equal(categoryOf('writeBuffer', ''), Category.Native);
  assert.equal(categoryOf('PutRequest$decode', ''), Category.NodeModules);
  const byCat = selfByCategory(buildTree(profile()).root);
  assert.deepEqual(
    [...byCat],
    [
      [Category.RaftCore, 1000],
      [Category.Program, 500],
      [Category.Kv, 300],
      [Category.Gc, 198],
      [Category.Native, 50],
      [Category.NodeInternals, 1],
    ],
  );
  assert.deepEqual(chargedByCategory(buildTree(profile()).root).get(Category.Kv), 301);
  assert.deepEqual(
    topSelf(buildTree(profile()).root, 2).map((r) => [r.name, r.self]),
    [
      ['stepLeader', 1000],
      ['(program)', 500],
    ],
  );
});

test('renderFlameGraph drops frames under 0.1%, escapes names and has a tooltip per frame', () => {
  const svg = renderFlameGraph(buildTree(profile()), { title: 'x <&> y' });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.trimEnd().endsWith('</svg>'), true);
  // root, (program), serve, stepLeader, (garbage collector), a<b&c: 1/2049 tinyFrame is not.
  assert.equal(svg.match(/<g><title>/g)?.length, 6);
  assert.equal(svg.includes('tinyFrame'), false);
  assert.equal(svg.includes('a&lt;b&amp;c'), true);
  assert.equal(svg.includes('a<b&c'), false);
  assert.equal(svg.includes('x &lt;&amp;&gt; y'), true);
  assert.match(svg, /<title>stepLeader \(\/repo\/src\/raft\/raft.ts:100\)\n1000 samples, 48.80%/);
  // Drawn at any fraction: the tiny frame shows up.
  const all = renderFlameGraph(buildTree(profile()), { title: 't', minFraction: 0 });
  assert.equal(all.includes('tinyFrame'), true);
});

test('formatTables lists categories and the top functions', () => {
  const t = formatTables(buildTree(profile()), 3);
  assert.match(t, /\| raft core \| 1000 \| 1000 \| 48.80% \| 48.80% \|/);
  // tinyFrame (node:) runs under serve (src/kv): its sample is charged to kv.
  assert.match(t, /\| kv\/h2\/grpc \| 300 \| 300 \| 14.64% \| 14.69% \|/);
  assert.match(t, /\| node: internals \| 1 \| 1 \| 0.05% \| 0.00% \|/);
  assert.equal(t.split('\n').filter((l) => /^\| \d+ \|/.test(l)).length, 3);
});

test('fitLabel shortens with an ellipsis and gives up on tiny boxes', () => {
  assert.equal(fitLabel('stepLeader', 200), 'stepLeader');
  const s = fitLabel('maybeSendAppend', 60);
  assert.equal(s.endsWith('…'), true);
  assert.ok(s.length < 'maybeSendAppend'.length);
  assert.equal(fitLabel('stepLeader', 10), '');
});

test('decodeMappings reads source map lines', () => {
  assert.deepEqual(decodeMappings('AAAA;AACA,IAAI,gQAAA'), [
    [[0, 0]],
    [
      [0, 1],
      [4, 1],
      [260, 1],
    ],
  ]);
});

test('parseCpuProfile rejects what is not a profile', () => {
  assert.throws(() => parseCpuProfile('{"a":1}', 'x.json'), /Cannot read x.json/);
});
