import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { codec } from './codec.ts';
import { GrpcCode } from './errors.ts';
import { b, op, putReq, rangeReq, startStack, StubBackend, until } from './testing.ts';
import type { Stack } from './testing.ts';
import type { GrpcImpl } from './server.ts';
import type { PutRequest, RangeResponse, TxnRequest } from './types.ts';

const putCodec = codec<PutRequest>('etcdserverpb.PutRequest');
const txnCodec = codec<TxnRequest>('etcdserverpb.TxnRequest');
const rangeCodec = codec<RangeResponse>('etcdserverpb.RangeResponse');
const identity = (x: Buffer) => x;

/** rawCall sends bytes to a gRPC method and resolves with the response bytes. */
function rawCall(
  client: grpc.Client,
  path: string,
  body: Uint8Array,
  o: { deadlineMs?: number; onCall?: (c: grpc.ClientUnaryCall) => void } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const opts: grpc.CallOptions = {};
    if (o.deadlineMs !== undefined) opts.deadline = Date.now() + o.deadlineMs;
    const call = client.makeUnaryRequest(
      path,
      identity,
      identity,
      Buffer.from(body),
      new grpc.Metadata(),
      opts,
      (err, v) => (err ? reject(err) : resolve(v as Buffer)),
    );
    o.onCall?.(call);
  });
}

function status(code: number, details: RegExp) {
  return (err: unknown) => {
    const e = err as grpc.ServiceError;
    assert.equal(e.code, code, e.message);
    assert.match(e.details, details);
    return true;
  };
}

const noRetry = { faultHandling: { host: () => ({ execute: (f: () => unknown) => f() }) } };

// The gRPC servers answer alike: GrpcH2Server (the default), GrpcHttp2Server and grpc-js's.
const impls: readonly GrpcImpl[] = ['h2', 'http2', 'grpc-js'];

for (const impl of impls) {
  describe(`gRPC API with the etcd3 client (${impl})`, { timeout: 30_000 }, () => {
    let stack: Stack;
    let client: Etcd3;
    before(async () => {
      stack = await startStack({ server: { grpc: { impl } } });
      await stack.server.published();
      client = new Etcd3({ hosts: stack.url, ...(noRetry as object) });
    });
    after(async () => {
      client.close();
      await stack.close();
    });

    test('put, get, range by prefix, delete', async () => {
      await client.put('fruit/apple').value('red');
      await client.put('fruit/banana').value('yellow');
      await client.put('fruit/cherry').value('dark red');
      await client.put('veg/kale').value('green');
      assert.equal(await client.get('fruit/apple').string(), 'red');
      assert.equal(await client.get('nope').string(), null);
      assert.deepEqual(await client.getAll().prefix('fruit/').keys(), [
        'fruit/apple',
        'fruit/banana',
        'fruit/cherry',
      ]);
      assert.equal(await client.getAll().prefix('fruit/').count(), 3);
      assert.deepEqual(await client.getAll().prefix('fruit/').limit(2).keys(), [
        'fruit/apple',
        'fruit/banana',
      ]);
      const sorted = await client.getAll().prefix('fruit/').sort('Value', 'Descend').strings();
      assert.deepEqual(Object.values(sorted), ['yellow', 'red', 'dark red']);
      const del = await client.delete().prefix('fruit/').exec();
      assert.equal(del.deleted, '3');
      assert.equal(await client.getAll().prefix('fruit/').count(), 0);
    });

    test('an answer larger than the client windows (3 MiB) arrives whole, and so does a request of 1 MiB', async () => {
      // grpc-js starts with 64 KiB windows: the answer goes out as the client's
      // WINDOW_UPDATEs allow (h2/connection.ts), in frames of at most 16 KiB.
      const value = 'v'.repeat(16 * 1024);
      for (let i = 0; i < 192; i += 16) {
        await Promise.all(
          Array.from({ length: 16 }, (_, j) =>
            client.put(`big/${String(i + j).padStart(3, '0')}`).value(value),
          ),
        );
      }
      const r = await client.getAll().prefix('big/').exec();
      assert.equal(r.kvs.length, 192);
      assert.ok(r.kvs.every((kv) => kv.value.toString() === value));
      await client.put('big/one-mib').value('w'.repeat(1 << 20));
      assert.equal((await client.get('big/one-mib').string())?.length, 1 << 20);
      await client.delete().prefix('big/');
    });

    test('revisions in headers and key values', async () => {
      const p1 = await client.put('rev').value('1').exec();
      const p2 = await client.put('rev').value('2').exec();
      assert.equal(Number(p2.header.revision), Number(p1.header.revision) + 1);
      const [kv] = (await client.get('rev').exec()).kvs;
      assert.equal(kv?.version, '2');
      assert.equal(kv?.create_revision, p1.header.revision);
      assert.equal(kv?.mod_revision, p2.header.revision);
      assert.equal(p2.header.member_id, String(stack.backend.id));
      assert.equal(p2.header.cluster_id, String(stack.backend.clusterId));
      assert.equal(p2.header.raft_term, '1');
    });

    test('txn: compare-and-swap succeeds once, then takes the else branch', async () => {
      await client.put('lock').value('free');
      const take = () =>
        client
          .if('lock', 'Value', '==', 'free')
          .then(client.put('lock').value('mine'))
          .else(client.get('lock'))
          .commit();
      const first = await take();
      assert.equal(first.succeeded, true);
      const second = await take();
      assert.equal(second.succeeded, false);
      assert.equal(second.responses[0]?.response_range?.kvs[0]?.value.toString(), 'mine');
      const ver = await client
        .if('lock', 'Version', '>', 1)
        .then(client.delete().key('lock'))
        .commit();
      assert.equal(ver.succeeded, true);
      assert.equal(await client.get('lock').string(), null);
    });

    test('cluster and maintenance', async () => {
      const list = await client.cluster.memberList({});
      assert.equal(list.members.length, 1);
      assert.equal(list.members[0]?.name, `raftkv-${stack.backend.id}`);
      assert.deepEqual(list.members[0]?.clientURLs, [stack.url]);
      const st = await client.maintenance.status();
      assert.equal(st.version, '3.5.0');
      assert.equal(st.leader, String(stack.backend.id));
      assert.ok(Number(st.raftIndex) > 0);
      await client.maintenance.moveLeader({ targetID: String(stack.backend.id) });
      const added = await client.cluster.memberAdd({
        peerURLs: ['http://127.0.0.1:1'],
        isLearner: true,
      });
      assert.equal(added.member.isLearner, true);
      assert.equal(added.members.length, 2);
      await assert.rejects(
        client.cluster.memberPromote({ ID: added.member.ID }),
        /can only promote a learner member which is in sync with leader/,
      );
      const removed = await client.cluster.memberRemove({ ID: added.member.ID });
      assert.equal(removed.members.length, 1);
    });

    test('unimplemented methods answer UNIMPLEMENTED naming the method', async () => {
      await assert.rejects(
        client.lease(10).grant(),
        /UNIMPLEMENTED.*\/etcdserverpb\.Lease\/LeaseGrant/,
      );
    });
  });

  describe(`gRPC API: bad input and bad times (${impl})`, { timeout: 30_000 }, () => {
    let stack: Stack;
    let raw: grpc.Client;
    before(async () => {
      const service = { limits: { maxKeyBytes: 64, maxRequestBytes: 10_000 } };
      stack = await startStack({ service, server: { grpc: { impl } } });
      raw = new grpc.Client(stack.url.replace('http://', ''), grpc.credentials.createInsecure());
    });
    after(async () => {
      raw.close();
      await stack.close();
    });

    test('a malformed protobuf is INVALID_ARGUMENT', async () => {
      await assert.rejects(
        rawCall(raw, '/etcdserverpb.KV/Put', new Uint8Array([0x0a, 0x09, 0x41])),
        status(GrpcCode.INVALID_ARGUMENT, /cannot decode \/etcdserverpb\.KV\/Put request/),
      );
    });

    test('an oversize key or request is INVALID_ARGUMENT', async () => {
      await assert.rejects(
        rawCall(raw, '/etcdserverpb.KV/Put', putCodec.encode(putReq('k'.repeat(65), 'v'))),
        status(
          GrpcCode.INVALID_ARGUMENT,
          /request is too large: key of 65 bytes exceeds the limit of 64/,
        ),
      );
      await assert.rejects(
        rawCall(raw, '/etcdserverpb.KV/Put', putCodec.encode(putReq('k', 'v'.repeat(20_000)))),
        status(GrpcCode.INVALID_ARGUMENT, /request is too large/),
      );
      await assert.rejects(
        rawCall(raw, '/etcdserverpb.KV/Put', putCodec.encode(putReq('', 'v'))),
        status(GrpcCode.INVALID_ARGUMENT, /^etcdserver: key is not provided$/),
      );
    });

    test('registered but unimplemented methods, streaming ones too, and unknown methods', async () => {
      await assert.rejects(
        rawCall(raw, '/etcdserverpb.Auth/AuthStatus', new Uint8Array()),
        status(GrpcCode.UNIMPLEMENTED, /\/etcdserverpb\.Auth\/AuthStatus/),
      );
      await assert.rejects(
        rawCall(raw, '/etcdserverpb.KV/Compact', new Uint8Array()),
        status(GrpcCode.UNIMPLEMENTED, /\/etcdserverpb\.KV\/Compact/),
      );
      const watch = raw.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, identity);
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        watch.on('error', resolve);
        watch.on('data', () => undefined);
      });
      assert.equal(err.code, GrpcCode.UNIMPLEMENTED);
      assert.match(err.details, /\/etcdserverpb\.Watch\/Watch/);
      await assert.rejects(
        rawCall(raw, '/some.Service/Nope', new Uint8Array()),
        status(GrpcCode.UNIMPLEMENTED, /\/some\.Service\/Nope/),
      );
    });

    test('a txn whose client goes away is applied whole or not at all', async () => {
      const success = Array.from({ length: 50 }, (_, i) => op({ put: putReq(`t/${i}`, 'v') }));
      const txn = txnCodec.encode({ compare: [], success, failure: [] });
      for (let i = 0; i < 5; i++) {
        await assert.rejects(
          rawCall(raw, '/etcdserverpb.KV/Txn', txn, {
            onCall: (c) => setImmediate(() => c.cancel()),
          }),
          status(GrpcCode.CANCELLED, /./),
        );
        await stack.backend.readIndex();
        const r = stack.sm.range(rangeReq('t/', { rangeEnd: b('t0') }));
        assert.ok(r.count === 0 || r.count === 50, `txn half-applied: ${r.count} keys`);
        assert.ok(new Set(r.kvs.map((kv) => kv.modRevision)).size <= 1);
      }
    });
  });

  describe(`gRPC API without a leader (${impl})`, { timeout: 30_000 }, () => {
    test('requests fail UNAVAILABLE after the bounded wait; serializable reads still work', async () => {
      let stub: StubBackend | undefined;
      const stack = await startStack({
        backend: (sm) => (stub = new StubBackend(sm)),
        service: { requestTimeoutMs: 150 },
        server: { publish: false, grpc: { impl } },
      });
      const raw = new grpc.Client(
        stack.url.replace('http://', ''),
        grpc.credentials.createInsecure(),
      );
      try {
        stub?.setLeader(0);
        await assert.rejects(
          rawCall(raw, '/etcdserverpb.KV/Put', putCodec.encode(putReq('a', '1')), {
            deadlineMs: 5000,
          }),
          status(GrpcCode.UNAVAILABLE, /^etcdserver: no leader$/),
        );
        const rangeRaw = codec<object>('etcdserverpb.RangeRequest');
        await assert.rejects(
          rawCall(raw, '/etcdserverpb.KV/Range', rangeRaw.encode(rangeReq('a')), {
            deadlineMs: 5000,
          }),
          status(GrpcCode.UNAVAILABLE, /no leader/),
        );
        const ser = await rawCall(
          raw,
          '/etcdserverpb.KV/Range',
          rangeRaw.encode(rangeReq('a', { serializable: true })),
        );
        assert.equal(rangeCodec.decode(ser).count, 0);
        // A client deadline shorter than the server's wait ends the call on the client's terms.
        stub?.setLeader(7);
        stub?.hold();
        const before = stub?.proposals ?? 0;
        const late = rawCall(raw, '/etcdserverpb.KV/Put', putCodec.encode(putReq('a', '1')), {
          deadlineMs: 100,
        });
        await until(() => (stub?.proposals ?? 0) > before);
        await assert.rejects(late, status(GrpcCode.DEADLINE_EXCEEDED, /./));
        stub?.release();
        assert.equal(stack.sm.revision, 1);
      } finally {
        raw.close();
        await stack.close();
      }
    });
  });
}
