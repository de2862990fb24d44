// Benchmark dispatcher: `npm run bench -- <suite> [args...]`.
// Suites: core (raw-3node-pump), codec (raftpb encode/decode), transport (TCP, 2 processes),
// wal (durable entries/s with group commit), onenode, quorum, kv (raftkv vs etcd, 3 processes),
// grpc (raftkv's gRPC servers: its own HTTP/2, node:http2 and grpc-js, in process),
// profile (CPU flame graphs of a 3-process raftkv cluster under puts: bench/profile-kv.sh),
// putcodec (raftkv's hand-written put codecs against protobufjs).
const suites: Record<string, () => Promise<{ default: (args: string[]) => Promise<void> }>> = {
  core: () => import('./core.ts'),
  pump: () => import('./pump.ts'),
  codec: () => import('./codec.ts'),
  transport: () => import('./transport.ts'),
  quorum: () => import('./quorum.ts'),
  onenode: () => import('./onenode.ts'),
  wal: () => import('./wal.ts'),
  kv: () => import('./kv.ts'),
  grpc: () => import('./grpc.ts'),
  scale: () => import('./scale.ts'),
  profile: () => import('./flame.ts'),
  putcodec: () => import('./put_codec.ts'),
};

const [name, ...args] = process.argv.slice(2);
const load = name === undefined ? undefined : suites[name];
if (load === undefined) {
  console.error(`usage: npm run bench -- <${Object.keys(suites).join('|')}> [--json] [...]`);
  process.exit(2);
}
const mod = await load();
await mod.default(args);
