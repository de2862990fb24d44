// Enforces the layer order of ../shared/STYLE.md: imports point only up the list.
const core = ['raftpb', 'quorum', 'tracker', 'confchange', 'raft'];
const layer = (name) => `^src/${name}/`;
const notTest = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'quorum-imports-nothing',
      severity: 'error',
      from: { path: layer('quorum'), pathNot: notTest },
      to: { path: '^src/', pathNot: layer('quorum') },
    },
    {
      name: 'raftpb-imports-nothing-above',
      severity: 'error',
      from: { path: layer('raftpb'), pathNot: notTest },
      to: { path: '^src/', pathNot: layer('raftpb') },
    },
    {
      name: 'tracker-layer',
      severity: 'error',
      from: { path: layer('tracker'), pathNot: notTest },
      to: { path: '^src/', pathNot: '^src/(tracker|quorum|raftpb)/' },
    },
    {
      name: 'confchange-layer',
      severity: 'error',
      from: { path: layer('confchange'), pathNot: notTest },
      to: { path: '^src/', pathNot: '^src/(confchange|tracker|quorum|raftpb)/' },
    },
    {
      name: 'raft-layer',
      severity: 'error',
      from: { path: layer('raft'), pathNot: notTest },
      to: { path: '^src/', pathNot: '^src/(raft|confchange|tracker|quorum|raftpb)/' },
    },
    {
      name: 'node-layer',
      severity: 'error',
      from: { path: layer('node') },
      to: { path: '^src/(wal|transport|kv|rafttest)/' },
    },
    {
      name: 'wal-not-transport',
      severity: 'error',
      from: { path: layer('wal') },
      to: { path: '^src/(transport|kv|rafttest)/' },
    },
    {
      name: 'transport-not-wal',
      severity: 'error',
      from: { path: layer('transport') },
      to: { path: '^src/(wal|kv|rafttest)/' },
    },
    {
      name: 'only-rafttest-and-tests-import-rafttest',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/rafttest/', notTest] },
      to: { path: layer('rafttest') },
    },
    {
      name: 'core-has-no-io',
      comment: 'The core is synchronous and deterministic: no node: modules.',
      severity: 'error',
      from: { path: `^src/(${core.join('|')})/`, pathNot: notTest },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: 'node_modules' },
  },
};
