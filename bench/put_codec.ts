// Benchmark: raftkv's hand-written put codecs (src/kv/put_codec.ts) against protobufjs, as
// proto-loader's serializers give it (what the gRPC servers used before, and still use for
// everything else): decode a PutRequest (8-byte key, 256-byte value), encode a header-only
// PutResponse, decode a raftkv.Command carrying a put (what every member does per applied
// entry). Both run in the same process, interleaved, for several rounds; the median ops/s
// of each and the ratio hand/protobufjs are reported, with the bytes each allocates per op
// (heap growth over a run with GC off in between, from process.memoryUsage; a rough figure).
//
// Usage: npm run bench -- putcodec [--json] [--rounds=N] [--ms=N]
import { flag, median, opsPerSec } from './codec.ts';
import { service } from '../src/kv/codec.ts';
import { commandCodec, encodeCommand } from '../src/kv/command.ts';
import type { AnyMethod } from '../src/kv/grpc.ts';
import { decodePutCommand, decodePutRequest, encodePutResponse } from '../src/kv/put_codec.ts';
import type { PutRequest, PutResponse } from '../src/kv/types.ts';

/** bytesPerOp is the heap growth per call over n calls (no GC expected in between). */
function bytesPerOp(fn: () => number, n: number): number {
  const before = process.memoryUsage().heapUsed;
  let sink = 0;
  for (let i = 0; i < n; i++) sink += fn();
  const after = process.memoryUsage().heapUsed;
  if (sink === -1) console.log('unreachable');
  return Math.max(0, (after - before) / n);
}

/** run is the suite entry point (see bench/main.ts). */
export default function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const rounds = Number(flag(args, 'rounds') ?? 7);
  const ms = Number(flag(args, 'ms') ?? 300);
  const put = (service('KV') as unknown as Record<string, AnyMethod>)['Put'] as AnyMethod;

  const req: PutRequest = {
    key: Buffer.from('k0001234'),
    value: Buffer.alloc(256, 7),
    lease: 0,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  };
  const raw = put.requestSerialize(req);
  const res: PutResponse = {
    header: { clusterId: 0x1f2e3d4c5b6a, memberId: 2, revision: 1_234_567, raftTerm: 9 },
  };
  const entry = Buffer.from(encodeCommand({ op: 'put', put: req }));
  // Both sides must agree before their speed means anything (put_codec.test.ts checks more).
  const fast = decodePutRequest(raw);
  if (fast === undefined || !Buffer.from(fast.value).equals(req.value)) {
    throw new Error('putcodec bench: the hand decoder did not take the fast path');
  }
  if (!(encodePutResponse(res) as Buffer).equals(put.responseSerialize(res))) {
    throw new Error('putcodec bench: encodings disagree');
  }
  if (decodePutCommand(entry) === undefined) throw new Error('putcodec bench: command');

  const cases: Record<string, () => number> = {
    'decode-request/hand': () => (decodePutRequest(raw) as PutRequest).value.length,
    'decode-request/protobufjs': () => (put.requestDeserialize(raw) as PutRequest).value.length,
    'encode-response/hand': () => (encodePutResponse(res) as Buffer).length,
    'encode-response/protobufjs': () => put.responseSerialize(res).length,
    'decode-command/hand': () => (decodePutCommand(entry) ? 1 : 0),
    'decode-command/protobufjs': () => (commandCodec.decode(entry) ? 1 : 0),
  };
  const names = Object.keys(cases);
  for (const name of names) opsPerSec(cases[name]!, ms); // warm-up
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  const bytes: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      samples[name]!.push(opsPerSec(cases[name]!, ms));
      bytes[name]!.push(bytesPerOp(cases[name]!, 2000));
    }
  }
  if (!json) console.log(`putcodec: ${rounds} rounds of ${ms} ms, interleaved`);
  for (const name of names) {
    const [op, impl] = name.split('/') as [string, string];
    const value = Math.round(median(samples[name]!));
    const b = Math.round(median(bytes[name]!));
    if (json) {
      console.log(JSON.stringify({ bench: `putcodec/${op}/${impl}`, value, unit: 'ops/s' }));
    } else {
      console.log(
        `  ${name.padEnd(28)} ${value.toLocaleString('en-US').padStart(11)} ops/s  ~${b} B/op`,
      );
    }
  }
  for (const op of ['decode-request', 'encode-response', 'decode-command']) {
    const ratio = median(samples[`${op}/hand`]!) / median(samples[`${op}/protobufjs`]!);
    if (json) {
      console.log(JSON.stringify({ bench: `putcodec/${op}/ratio`, value: ratio, unit: 'x' }));
    } else console.log(`  ${op} hand / protobufjs: ${ratio.toFixed(2)}x`);
  }
  return Promise.resolve();
}
