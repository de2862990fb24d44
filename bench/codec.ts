// Benchmark: encode and decode of a MsgApp carrying 64 entries of 256 bytes, the
// hand-written raftpb codec against protobufjs built from src/raftpb/raft.proto.
//
// Implementations run in the same process, interleaved, for several rounds; the median
// ops/s of each is reported, with ratios hand/protobufjs. Decoding is measured twice for
// the hand codec: `hand` (the default) returns bytes fields that share no memory with the
// input (views on one private copy of it), `hand-view` returns subarrays of the input
// (`{ copy: false }`), which is what protobufjs does. `protobufjs-copy` decodes a copy of
// the input, the like-for-like peer of `hand`. protobufjs decodes uint64 into Long objects
// unless `--no-long` is given (then it yields numbers, its fastest setting).
//
// Usage: npm run bench -- codec [--json] [--rounds=N] [--ms=N] [--no-long]
import { fileURLToPath } from 'node:url';

import protobuf from 'protobufjs';

import { decodeMessage, encodeMessage } from '../src/raftpb/codec.ts';
import { EntryType, MessageType, newMessage } from '../src/raftpb/types.ts';
import type { Entry, Message } from '../src/raftpb/types.ts';

const NAME = 'msgapp64x256';

/** msgApp64 builds the benchmark message: MsgApp with 64 entries of 256 bytes. */
function msgApp64(): Message {
  const entries: Entry[] = [];
  for (let i = 0; i < 64; i++) {
    const data = new Uint8Array(256);
    for (let j = 0; j < data.length; j++) data[j] = (i * 31 + j * 7) & 0xff;
    entries.push({ term: 7, index: 1_000_001 + i, type: EntryType.EntryNormal, data });
  }
  return newMessage({
    type: MessageType.MsgApp,
    to: 2,
    from: 1,
    term: 7,
    logTerm: 7,
    index: 1_000_000,
    commit: 999_990,
    entries,
  });
}

/** opsPerSec runs fn repeatedly for about ms milliseconds and returns calls per second. */
export function opsPerSec(fn: () => number, ms: number): number {
  let n = 0;
  let sink = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 50; i++) sink += fn();
    n += 50;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  if (sink === -1) console.log('unreachable');
  return (n * 1000) / elapsed;
}

/** median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** flag returns the value of --name=value in args, or undefined. */
export function flag(args: string[], name: string): string | undefined {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit?.slice(name.length + 3);
}

/** run is the suite entry point (see bench/main.ts). */
export default async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const rounds = Number(flag(args, 'rounds') ?? 7);
  const ms = Number(flag(args, 'ms') ?? 300);
  if (args.includes('--no-long')) {
    protobuf.util.Long = undefined as unknown as protobuf.Constructor<protobuf.Long>;
    protobuf.configure();
  }
  const protoPath = fileURLToPath(new URL('../src/raftpb/raft.proto', import.meta.url));
  const PbMessage = (await protobuf.load(protoPath)).lookupType('raftpb.Message');

  const m = msgApp64();
  const ours = encodeMessage(m);
  const theirs = PbMessage.encode(m).finish();
  // Both encodings must carry the same message before their speed means anything.
  if (
    decodeMessage(theirs).entries.length !== 64 ||
    PbMessage.decode(ours).toJSON().entries === undefined
  ) {
    throw new Error('codec bench: encodings disagree');
  }

  const cases: Record<string, () => number> = {
    'encode/hand': () => encodeMessage(m).length,
    'encode/protobufjs': () => PbMessage.encode(m).finish().length,
    'decode/hand': () => decodeMessage(ours).entries.length,
    'decode/hand-view': () => decodeMessage(ours, { copy: false }).entries.length,
    'decode/protobufjs': () => (PbMessage.decode(ours) as unknown as Message).entries.length,
    'decode/protobufjs-copy': () =>
      (PbMessage.decode(ours.slice()) as unknown as Message).entries.length,
  };
  const names = Object.keys(cases);
  for (const name of names) opsPerSec(cases[name]!, ms); // warm-up
  const samples: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) samples[name]!.push(opsPerSec(cases[name]!, ms));
  }

  const med = Object.fromEntries(names.map((k) => [k, median(samples[k]!)]));
  const ratios: [string, number][] = [
    ['encode/ratio-hand-vs-protobufjs', med['encode/hand']! / med['encode/protobufjs']!],
    ['decode/ratio-hand-vs-protobufjs', med['decode/hand']! / med['decode/protobufjs']!],
    ['decode/ratio-hand-view-vs-protobufjs', med['decode/hand-view']! / med['decode/protobufjs']!],
    ['decode/ratio-hand-vs-protobufjs-copy', med['decode/hand']! / med['decode/protobufjs-copy']!],
  ];
  const lib = args.includes('--no-long') ? 'protobufjs without Long' : 'protobufjs with Long';
  if (!json) {
    console.log(
      `codec: MsgApp, 64 entries x 256 B, ${ours.length} B encoded (${rounds} rounds, ${lib})`,
    );
  }
  for (const name of names) {
    const [op, impl] = name.split('/') as [string, string];
    const value = Math.round(med[name]!);
    if (json)
      console.log(JSON.stringify({ bench: `codec/${op}-${NAME}/${impl}`, value, unit: 'ops/s' }));
    else console.log(`  ${name.padEnd(22)} ${value.toLocaleString('en-US').padStart(10)} ops/s`);
  }
  for (const [name, r] of ratios) {
    const [op, what] = name.split('/') as [string, string];
    const value = Math.round(r * 100) / 100;
    if (json)
      console.log(JSON.stringify({ bench: `codec/${op}-${NAME}/${what}`, value, unit: 'x' }));
    else console.log(`  ${name.padEnd(36)} ${value}x`);
  }
}
