/**
 * Fuzzing a live raftkv member through its two doors, as real processes on 127.0.0.1.
 *
 * The cluster is configured with members 1, 2 and 3; 1 and 2 run (`raftkv serve`), 3 never
 * does: its id is what the fuzzer claims in its handshakes, so that its frames get past the
 * Hello and reach every later check. Member 1 gets:
 *
 * 1. 20,000 malformed peer frames, one connection each: bytes that are no frame, frames too
 *    large for a handshake, a first frame other than Hello, Hellos for the wrong version,
 *    cluster, receiver or member; then, after a valid Hello, undecodable raftpb, messages from
 *    or to the wrong member, local message types (MsgHup, MsgStorageAppend...) carrying high
 *    terms, unknown frame types, oversize lengths, snapshot frames out of place, frames cut
 *    short. Every frame is checked here, before it is sent, to be one the transport must
 *    refuse (docs/transport.md, "Validation of what arrives"). Member 1 must close each
 *    connection (with a Reject frame for a refused Hello) and log one line for it, serve
 *    linearizable reads on both members throughout, and keep its term and log: the term,
 *    commit and applied index of both members are the same afterwards.
 * 2. 10,000 malformed client requests, over gRPC (undecodable protobuf, invalid requests,
 *    unknown methods) and HTTP (bad keys, parameters, methods and paths, oversize bodies,
 *    broken HTTP), each of which must get a clear error: a gRPC status other than OK,
 *    INTERNAL and UNKNOWN with a message, or an HTTP 4xx (with a JSON `error` from the JSON
 *    API). Good writes and reads interleaved with them all succeed, and are on member 2 too.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { clusterIdOfToken } from '../src/kv/runner/member.ts';
import { Prng } from '../src/rafttest/sim/prng.ts';
import { freePorts, Proc, status, until } from './raftkv_procs.ts';
import type { Status } from './raftkv_procs.ts';
import {
  PEER_FRAMES,
  CLIENT_REQUESTS,
  passes,
  peerCase,
  sendPeerCase,
  putCodec,
  put,
  grpcCase,
  grpcCall,
  httpCase,
  httpCall,
  rawCall,
  pool,
  isWellFormedHello,
  isValidHello,
} from './fuzz_live_cases.ts';

// ---------------------------------------------------------------------------------------

describe('fuzz: a live member', { timeout: 240_000 }, () => {
  let root: string;
  const procs: Proc[] = [];
  let ports: number[];
  let clusterId: number;
  const url = (i: number): string => `http://127.0.0.1:${ports[2 * i]}`;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'raftkv-fuzz-'));
    ports = await freePorts(5);
    const token = `fuzz-${process.pid}`;
    clusterId = clusterIdOfToken(token);
    const peers = `1=127.0.0.1:${ports[1]},2=127.0.0.1:${ports[3]},3=127.0.0.1:${ports[4]}`;
    for (const i of [0, 1]) {
      const args = [
        ...['serve', '--id', String(i + 1), '--peers', peers],
        ...[
          '--client-addr',
          `127.0.0.1:${ports[2 * i]}`,
          '--peer-addr',
          `127.0.0.1:${ports[2 * i + 1]}`,
        ],
        ...['--data-dir', join(root, `m${i + 1}`), '--cluster-token', token],
      ];
      procs.push(new Proc(`m${i + 1}`, args));
    }
    await Promise.all(procs.map((p) => p.waitLine(/ready/)));
    await until(
      'a leader',
      async () => {
        const s = await Promise.all([status(url(0)), status(url(1))]);
        return s[0]?.leader !== 0 && s[0]?.leader === s[1]?.leader ? true : undefined;
      },
      20_000,
    );
  });

  after(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await rm(root, { recursive: true, force: true });
  });

  test(`${PEER_FRAMES} malformed peer frames: every one refused, term and log unchanged, reads served`, async () => {
    // Each member proposes its attributes (name, client URLs) once it is up: wait until both
    // are applied everywhere, so that nothing else moves the log during the fuzzing.
    await until(
      'both members published and applied',
      async () => {
        const r = await fetch(`${url(1)}/members`, { signal: AbortSignal.timeout(2000) });
        const ms = ((await r.json()) as { members: { ID: number; clientURLs: string[] }[] })
          .members;
        const published = [1, 2].every(
          (id) => ms.find((m) => m.ID === id)?.clientURLs.length === 1,
        );
        const s = await Promise.all([status(url(0)), status(url(1))]);
        const applied = s.every((x) => x.raft_applied_index === s[0]?.raft_index);
        return published && applied ? true : undefined;
      },
      20_000,
    );
    const before = await Promise.all([status(url(0)), status(url(1))]);
    const rng = new Prng(7);
    const cases = Array.from({ length: PEER_FRAMES }, () => {
      for (;;) {
        const c = peerCase(rng, clusterId);
        // Keep only what the transport must refuse (a valid Hello alone would pass).
        const tail = c.hello ? c.bytes.subarray(31) : c.bytes;
        if (c.hello ? !passes(tail, true) : !isValidHello(c.bytes, clusterId)) {
          return c;
        }
      }
    });
    let reads = 0;
    let stop = false;
    const readLoop = (async () => {
      while (!stop) {
        for (const i of [0, 1]) {
          const r = await fetch(`${url(i)}/kv/fuzz-probe`, { signal: AbortSignal.timeout(5000) });
          assert.equal(r.status, 404, `read on m${i + 1} during the peer fuzzing`);
          await r.body?.cancel();
          reads++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let rejects = 0;
    const peerPort = ports[1] as number;
    const t0 = performance.now();
    try {
      await pool(cases.length, 32, async (i) => {
        const c = cases[i]!;
        const r = await sendPeerCase(peerPort, c.bytes);
        if (r.rejected) rejects++;
      });
    } finally {
      stop = true;
      await readLoop;
    }
    const ms = performance.now() - t0;
    const after = await Promise.all([status(url(0)), status(url(1))]);
    for (const i of [0, 1]) {
      const [b, a] = [before[i] as Status, after[i] as Status];
      assert.equal(procs[i]!.exit, undefined, `m${i + 1} exited`);
      assert.deepEqual(
        [a.raft_term, a.raft_index, a.raft_applied_index, a.header.revision],
        [b.raft_term, b.raft_index, b.raft_applied_index, b.header.revision],
        `m${i + 1}: term, commit, applied and revision must not move`,
      );
    }
    const preHandshake = cases.filter((c) => !c.hello).length;
    const lines = procs[0]!.lines.filter((l) =>
      /raft transport 1: connection from 127\.0\.0\.1/.test(l),
    ).length;
    console.log(
      `# ${cases.length} malformed peer connections in ${(ms / 1000).toFixed(1)} s: ` +
        `${rejects} answered with Reject, ${lines} log lines; ${reads} reads served meanwhile`,
    );
    assert.ok(reads > 0);
    assert.ok(lines >= cases.length, `one log line per refused connection: ${lines}`);
    // Refused Hellos (version, cluster, receiver, member) are answered with a Reject frame.
    const refusedHellos = cases.filter((c) => !c.hello && isWellFormedHello(c.bytes)).length;
    assert.equal(rejects, refusedHellos, `${preHandshake} pre-handshake cases`);
  });

  test(`${CLIENT_REQUESTS} malformed client requests: each a clear error, good traffic served`, async () => {
    const rng = new Prng(11);
    const port = ports[0] as number;
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const good: string[] = [];
    const t0 = performance.now();
    try {
      await pool(CLIENT_REQUESTS, 16, async (i) => {
        if (i % 2 === 0) {
          const c = grpcCase(rng, i >> 1);
          const err = await grpcCall(client, c);
          const what = `${c.path} ${Buffer.from(c.body.subarray(0, 32)).toString('hex')}`;
          assert.ok(err !== undefined, `${what} was accepted`);
          assert.ok(
            ![grpc.status.INTERNAL, grpc.status.UNKNOWN].includes(err.code),
            `${what}: ${err.code} ${err.details}`,
          );
          assert.ok(err.details.length > 0, `${what}: no message`);
        } else {
          const c = httpCase(rng, i >> 1);
          if (c.kind === 'raw') {
            const answer = await rawCall(port, c.bytes);
            assert.match(
              answer,
              /^HTTP\/1\.1 4\d\d /,
              `${JSON.stringify(c.bytes)} → ${answer.slice(0, 80)}`,
            );
          } else {
            const r = await httpCall(agent, port, c);
            const what = `${c.method} ${c.path.slice(0, 40)} → ${r.status} ${r.text.slice(0, 120)}`;
            assert.ok(r.status >= 400 && r.status < 500, what);
            assert.match(r.type, /application\/json/, what);
            const json = JSON.parse(r.text) as { error?: string };
            assert.ok(typeof json.error === 'string' && json.error.length > 0, what);
          }
        }
        if (i % 20 === 0) {
          // Good traffic between the bad: a write (either API) and a read of it.
          const key = `fuzz/good/${i}`;
          if (i % 40 === 0) {
            assert.equal(
              await grpcCall(client, {
                path: '/etcdserverpb.KV/Put',
                body: putCodec.encode(put(key, `v${i}`)),
              }),
              undefined,
            );
          } else {
            const r = await httpCall(agent, port, {
              method: 'PUT',
              path: `/kv/${key}`,
              body: `v${i}`,
            });
            assert.equal(r.status, 200, r.text);
          }
          const g = await httpCall(agent, port, { method: 'GET', path: `/kv/${key}` });
          assert.equal((JSON.parse(g.text) as { kv: { value: string } }).kv.value, `v${i}`);
          good.push(key);
        }
      });
    } finally {
      client.close();
      agent.destroy();
    }
    const ms = performance.now() - t0;
    assert.equal(procs[0]!.exit, undefined, 'm1 exited');
    // Every good write is on member 2 too.
    await until(
      'm2 to hold every good write',
      async () => {
        const r = await fetch(
          `${url(1)}/kv/fuzz/good/?prefix=true&count_only=true&serializable=true`,
        );
        const body = (await r.json()) as { count: number };
        return body.count === good.length ? true : undefined;
      },
      10_000,
    );
    console.log(
      `# ${CLIENT_REQUESTS} malformed client requests in ${(ms / 1000).toFixed(1)} s, ` +
        `${good.length} good writes and reads between them`,
    );
  });
});
