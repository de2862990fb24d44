/**
 * The malformed inputs of test/fuzz_live.test.ts and the ways to send them: peer
 * connections (bytes after an optional valid Hello as member 3) that member 1's transport
 * must refuse, malformed gRPC and HTTP requests, and the calls that send them with bounded
 * waits.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { codec } from '../src/kv/codec.ts';
import { putReq, rangeReq } from '../src/kv/testing.ts';
import type { PutRequest, RangeRequest, TxnRequest } from '../src/kv/types.ts';
import { encodeMessage } from '../src/raftpb/codec.ts';
import { MessageType, newMessage } from '../src/raftpb/types.ts';
import type { Message } from '../src/raftpb/types.ts';
import { Prng } from '../src/rafttest/sim/prng.ts';
import {
  FrameDecoder,
  FrameType,
  PROTOCOL_VERSION,
  encodeHello,
  encodeMessagesFrame,
  encodeSnapAck,
  encodeSnapBegin,
  encodeSnapChunk,
  encodeSnapEnd,
  encodeWelcome,
  writeFrameHeader,
} from '../src/transport/frame.ts';
import type { Frame } from '../src/transport/frame.ts';

/** PEER_FRAMES is the number of malformed peer connections (FUZZ_LIVE_FRAMES). */
export const PEER_FRAMES = Number(process.env.FUZZ_LIVE_FRAMES ?? 20_000);
/** CLIENT_REQUESTS is the number of malformed client requests (FUZZ_LIVE_REQUESTS). */
export const CLIENT_REQUESTS = Number(process.env.FUZZ_LIVE_REQUESTS ?? 10_000);
/** FAKE is the member the fuzzer speaks as: configured, never running. */
export const FAKE = 3;
/** TARGET is the member fed the malformed input. */
export const TARGET = 1;

/** WIRE_TYPES are the message types members exchange (src/transport/connection.ts). */
const WIRE_TYPES = new Set<number>([2, 3, 4, 5, 6, 8, 9, 13, 14, 15, 16, 17, 18]);

// ---------------------------------------------------------------------------------------
// Malformed peer frames

/** passes reports whether the transport of member TARGET would accept bytes from FAKE. */
export function passes(bytes: Uint8Array, handshakeDone: boolean): boolean {
  const d = new FrameDecoder({ maxFrameBytes: handshakeDone ? 16 * 1024 * 1024 : 1024 });
  const frames: Frame[] = [];
  try {
    d.push(bytes, (f) => frames.push(f));
    d.end();
  } catch {
    return false;
  }
  return frames.every(
    (f) =>
      f.type === FrameType.Messages &&
      f.messages.every((m) => m.from === FAKE && m.to === TARGET && WIRE_TYPES.has(m.type)),
  );
}

function randomBytes(rng: Prng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

/** badMessage is a raft message the transport must refuse on FAKE's connection. */
function badMessage(rng: Prng): Message {
  const term = rng.chance(0.5) ? 1_000_000 + rng.int(1000) : rng.int(50);
  const kind = rng.int(3);
  const type = rng.int(24) as MessageType;
  const entries = [{ term, index: rng.int(100), type: 0 as const, data: randomBytes(rng, 8) }];
  if (kind === 0) {
    // From someone else than the authenticated peer.
    const from = [0, 1, 2, 4, 2 ** 40][rng.int(5)] as number;
    return newMessage({ type, from, to: TARGET, term, entries });
  }
  if (kind === 1) {
    // To someone else.
    const to = [0, 2, 3, 7][rng.int(4)] as number;
    return newMessage({ type, from: FAKE, to, term, entries });
  }
  // A local type.
  const local = [0, 1, 7, 10, 11, 12, 19, 20, 21, 22, 23][rng.int(11)] as MessageType;
  return newMessage({ type: local, from: FAKE, to: TARGET, term, index: 5, entries });
}

/** peerCase returns one connection's bytes and whether they follow a valid Hello. */
export function peerCase(rng: Prng, clusterId: number): { bytes: Uint8Array; hello: boolean } {
  const hello = encodeHello({ version: PROTOCOL_VERSION, clusterId, from: FAKE, to: TARGET });
  const k = rng.int(20);
  const header = (type: number, len: number): Uint8Array => {
    const b = new Uint8Array(5);
    writeFrameHeader(b, 0, type as FrameType, len);
    return b;
  };
  const cat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const hs = (o: Partial<{ version: number; clusterId: number; from: number; to: number }>) =>
    encodeHello({ version: PROTOCOL_VERSION, clusterId, from: FAKE, to: TARGET, ...o });
  switch (k) {
    // Before the handshake.
    case 0:
      return { bytes: randomBytes(rng, 1 + rng.int(64)), hello: false };
    case 1:
      return {
        bytes: cat(header(FrameType.Hello, 1025 + rng.int(100000)), randomBytes(rng, 16)),
        hello: false,
      };
    case 2:
      return {
        bytes: rng.chance(0.5)
          ? encodeSnapAck(1, true)
          : encodeWelcome({ version: 1, clusterId, from: FAKE, to: TARGET }),
        hello: false,
      };
    case 3:
      return { bytes: hs({ version: 2 + rng.int(100) }), hello: false };
    case 4:
      return { bytes: hs({ clusterId: clusterId + 1 + rng.int(1000) }), hello: false };
    case 5:
      return { bytes: hs({ to: [2, 3, 9][rng.int(3)] as number }), hello: false };
    case 6:
      return { bytes: hs({ from: [1, 4, 99, 2 ** 50][rng.int(4)] as number }), hello: false };
    case 7:
      return {
        bytes: cat(header(FrameType.Hello, 25 + 2 * rng.int(2)), randomBytes(rng, 27)),
        hello: false,
      };
    // After a valid Hello.
    case 8:
      return {
        bytes: cat(hello, header(FrameType.Messages, 30), randomBytes(rng, 30)),
        hello: true,
      };
    case 9:
    case 10:
    case 11: {
      const msgs = Array.from({ length: 1 + rng.int(3) }, () => encodeMessage(badMessage(rng)));
      return { bytes: cat(hello, encodeMessagesFrame(msgs)), hello: true };
    }
    case 12:
      return {
        bytes: cat(hello, header([0, 9, 42, 255][rng.int(4)] as number, 4), randomBytes(rng, 4)),
        hello: true,
      };
    case 13:
      return {
        bytes: cat(hello, header(FrameType.Messages, 16 * 1024 * 1024 + 1 + rng.int(1000))),
        hello: true,
      };
    case 14:
      return {
        bytes: cat(hello, encodeSnapChunk(rng.int(100), randomBytes(rng, 20))),
        hello: true,
      };
    case 15:
      return { bytes: cat(hello, encodeSnapEnd(rng.int(100), randomBytes(rng, 32))), hello: true };
    case 16:
      return { bytes: cat(hello, encodeSnapAck(rng.int(100), rng.chance(0.5))), hello: true };
    case 17: {
      const m = newMessage({ type: MessageType.MsgApp, from: FAKE, to: TARGET, term: 1_000_000 });
      return { bytes: cat(hello, encodeSnapBegin(1, 10, encodeMessage(m))), hello: true };
    }
    case 18: {
      const second = rng.chance(0.5)
        ? hello
        : encodeWelcome({ version: 1, clusterId, from: FAKE, to: TARGET });
      return { bytes: cat(hello, second), hello: true };
    }
    default: {
      // A valid frame cut short, then the end of the stream.
      const m = newMessage({
        type: MessageType.MsgHeartbeat,
        from: FAKE,
        to: TARGET,
        term: 1_000_000,
      });
      const f = encodeMessagesFrame([encodeMessage(m)]);
      return { bytes: cat(hello, f.subarray(0, 1 + rng.int(f.length - 1))), hello: true };
    }
  }
}

/**
 * sendPeerCase writes one connection's bytes, half-closes, and resolves once member TARGET
 * has closed it, with whether a Reject frame came back.
 */
export function sendPeerCase(port: number, bytes: Uint8Array): Promise<{ rejected: boolean }> {
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(
          `member kept the connection open 10 s after ${Buffer.from(bytes.subarray(0, 64)).toString('hex')}`,
        ),
      );
    }, 10_000);
    s.on('data', (c: Buffer) => received.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(received);
      // A Reject frame, if any, is the first (and only) frame the acceptor sends.
      resolve({ rejected: all.length >= 5 && all[4] === FrameType.Reject });
    });
  });
}

// ---------------------------------------------------------------------------------------
// Malformed client requests

const identity = (x: Buffer): Buffer => x;
/** putCodec encodes PutRequests. */
export const putCodec = codec<PutRequest>('etcdserverpb.PutRequest');
const rangeCodec = codec<RangeRequest>('etcdserverpb.RangeRequest');
const txnCodec = codec<TxnRequest>('etcdserverpb.TxnRequest');
/** put builds a PutRequest. */
export const put = (key: string, value: string, lease = 0): PutRequest =>
  putReq(key, value, { lease });
const range = (key: string, revision = 0): RangeRequest => rangeReq(key, { revision });
const putOp = (key: string) => ({ request: 'requestPut' as const, requestPut: put(key, 'v') });

/** GrpcCase is a malformed gRPC request: a method path and the request bytes. */
export interface GrpcCase {
  path: string;
  body: Uint8Array;
}

/** grpcCase returns malformed gRPC request i (a dozen kinds in turn). */
export function grpcCase(rng: Prng, i: number): GrpcCase {
  const KV = '/etcdserverpb.KV/';
  switch (i % 13) {
    case 0: // a length-delimited field longer than what follows
      return {
        path: `${KV}Put`,
        body: Uint8Array.from([0x0a, 0x40, ...randomBytes(rng, rng.int(60))]),
      };
    case 1: // wire types 6 and 7 do not exist
      return { path: `${KV}Range`, body: Uint8Array.from([(1 << 3) | (6 + rng.int(2)), 1, 2, 3]) };
    case 2: // a varint of more than 10 bytes
      return {
        path: `${KV}Range`,
        body: Uint8Array.from([0x18, ...new Array<number>(11).fill(0xff), 1]),
      };
    case 3:
      return { path: `${KV}Put`, body: putCodec.encode(put('', 'v')) };
    case 4:
      return {
        path: `${KV}Put`,
        body: putCodec.encode(put('k'.repeat(4097 + rng.int(1000)), 'v')),
      };
    case 5:
      return { path: `${KV}Put`, body: putCodec.encode(put('fuzz/lease', 'v', 1 + rng.int(1e6))) };
    case 6:
      return { path: `${KV}Range`, body: rangeCodec.encode(range('a', 1e12 + rng.int(1e6))) };
    case 7: {
      const success = Array.from({ length: 129 }, (_, j) => putOp(`fuzz/t${j}`));
      return { path: `${KV}Txn`, body: txnCodec.encode({ compare: [], success, failure: [] }) };
    }
    case 8:
      return {
        path: `${KV}Txn`,
        body: txnCodec.encode({
          compare: [],
          success: [putOp('fuzz/d'), putOp('fuzz/d')],
          failure: [],
        }),
      };
    case 9:
      return { path: `${KV}DeleteRange`, body: Uint8Array.from([0x10, 0x01]) }; // no key
    case 10:
      return { path: `${KV}Nope${rng.int(100)}`, body: randomBytes(rng, 8) };
    case 11:
      return {
        path: '/etcdserverpb.Cluster/MemberRemove',
        body: Uint8Array.from([0x08, 0xe7, 0x07 + rng.int(100)]),
      };
    default:
      return { path: '/etcdserverpb.Maintenance/MoveLeader', body: Uint8Array.from([0x08, 0x63]) };
  }
}

/** grpcCall sends a raw gRPC request and resolves with its error, if any. */
export function grpcCall(client: grpc.Client, c: GrpcCase): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      c.path,
      identity,
      identity,
      Buffer.from(c.body),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => resolve(err ?? undefined),
    );
  });
}

/** HttpCase is a malformed HTTP request: through node:http, or raw bytes on a socket. */
export type HttpCase =
  { kind: 'http'; method: string; path: string; body?: string } | { kind: 'raw'; bytes: string };

/** httpCase returns malformed HTTP request i (a dozen kinds in turn). */
export function httpCase(rng: Prng, i: number): HttpCase {
  switch (i % 12) {
    case 0:
      return { kind: 'http', method: 'GET', path: `/kv/%${'zq'[rng.int(2)]}${rng.int(9)}` };
    case 1:
      return { kind: 'http', method: 'PUT', path: '/kv/', body: 'v' };
    case 2:
      return {
        kind: 'http',
        method: 'GET',
        path: `/kv/a?limit=${['abc', '-1', '1.5'][rng.int(3)]}`,
      };
    case 3:
      return { kind: 'http', method: 'GET', path: '/kv/a?serializable=maybe' };
    case 4:
      return {
        kind: 'http',
        method: ['POST', 'PATCH'][rng.int(2)] as string,
        path: '/kv/a',
        body: 'x',
      };
    case 5:
      return { kind: 'http', method: 'DELETE', path: '/status' };
    case 6:
      return { kind: 'http', method: 'GET', path: `/nope/${rng.int(1e6)}` };
    case 7:
      return {
        kind: 'http',
        method: 'PUT',
        path: `/kv/${'k'.repeat(4097 + rng.int(100))}`,
        body: 'v',
      };
    case 8:
      return { kind: 'http', method: 'DELETE', path: '/kv/' };
    case 9:
      return i % 500 === 9
        ? { kind: 'http', method: 'PUT', path: '/kv/fuzz/big', body: 'x'.repeat(1024 * 1024 + 1) }
        : { kind: 'http', method: 'GET', path: '/kv/a?count_only=2' };
    case 10:
      return { kind: 'raw', bytes: `${['BLAH', 'GET', 'G\u0000T /'][rng.int(3)]}\r\n\r\n` };
    default:
      return { kind: 'raw', bytes: 'PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' };
  }
}

/** httpCall makes one request with node:http and resolves with status, type and body. */
export function httpCall(
  agent: http.Agent,
  port: number,
  c: { method: string; path: string; body?: string },
): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: c.method,
        path: c.path,
        agent,
        signal: AbortSignal.timeout(10_000),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => (text += s));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }),
        );
      },
    );
    req.on('error', reject);
    req.end(c.body);
  });
}

/** rawCall writes text on a new connection and resolves with all it gets back. */
export function rawCall(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer to ${JSON.stringify(text)}`));
    }, 10_000);
    s.setEncoding('utf8');
    s.on('data', (d: string) => (got += d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

/** pool runs f(i) for i in [0, n) with at most `width` at a time. */
export async function pool(
  n: number,
  width: number,
  f: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await f(next++);
    }),
  );
}

/** isWellFormedHello reports whether bytes are exactly one decodable Hello frame. */
export function isWellFormedHello(b: Uint8Array): boolean {
  const d = new FrameDecoder({ maxFrameBytes: 1024 });
  const frames: Frame[] = [];
  try {
    d.push(b, (f) => frames.push(f));
    d.end();
  } catch {
    return false;
  }
  return frames.length === 1 && frames[0]?.type === FrameType.Hello;
}

/** isValidHello reports whether bytes are a Hello that member TARGET accepts from FAKE. */
export function isValidHello(b: Uint8Array, clusterId: number): boolean {
  if (!isWellFormedHello(b)) return false;
  const ok = encodeHello({ version: PROTOCOL_VERSION, clusterId, from: FAKE, to: TARGET });
  return Buffer.compare(Buffer.from(b), Buffer.from(ok)) === 0;
}
