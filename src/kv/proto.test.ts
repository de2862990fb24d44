import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { loadSync } from '@grpc/proto-loader';
import type { PackageDefinition } from '@grpc/proto-loader';
import { codec, LoaderOptions, ProtoDir } from './codec.ts';
import { decodeCommand, encodeCommand, wrapCommand } from './command.ts';
import { b, putReq } from './testing.ts';
import type { PutRequest, TxnRequest } from './types.ts';

// The etcd3 npm client ships its own copy of etcd's rpc.proto: an independent oracle for
// the wire format (field numbers, types, labels) and the services' methods.
const require = createRequire(import.meta.url);
const etcd3Protos = join(dirname(require.resolve('etcd3/package.json')), 'proto');

interface Field {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDef {
  type?: { field?: Field[] };
}
interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: { name: string } };
}
type ServiceDef = Record<string, MethodDef>;

function fields(d: MessageDef): string[] {
  const fs = d.type?.field ?? [];
  return fs.map((f) => `${f.number} ${f.label} ${f.type} ${f.typeName} ${f.name}`);
}

function isMessage(d: unknown): d is MessageDef {
  return typeof d === 'object' && d !== null && 'format' in d;
}

const opts = { ...LoaderOptions };
const mine: PackageDefinition = loadSync(['etcdserverpb/rpc.proto'], {
  ...opts,
  includeDirs: [ProtoDir],
});
const theirs: PackageDefinition = loadSync(['rpc.proto'], { ...opts, includeDirs: [etcd3Protos] });

describe('proto: wire compatibility with etcd', () => {
  test('the same services, methods and message types', () => {
    assert.deepEqual(Object.keys(mine).sort(), Object.keys(theirs).sort());
  });

  test('every message has the same fields: numbers, types, labels and names', () => {
    // etcd 3.5 added hashedPassword; the etcd3 client's copy predates it.
    const newer = new Set([
      'etcdserverpb.AuthUserAddRequest',
      'etcdserverpb.AuthUserChangePasswordRequest',
    ]);
    let compared = 0;
    for (const [name, def] of Object.entries(mine)) {
      if (!isMessage(def)) continue;
      const a = fields(def);
      const want = fields(theirs[name] as MessageDef);
      if (newer.has(name)) assert.deepEqual(a.slice(0, want.length), want, name);
      else assert.deepEqual(a, want, name);
      compared++;
    }
    assert.ok(compared > 90, `compared ${compared} messages`);
  });

  test('every method has the same path, streaming and request type', () => {
    let methods = 0;
    for (const [name, def] of Object.entries(mine as Record<string, unknown>)) {
      if (isMessage(def)) continue;
      for (const [method, m] of Object.entries(def as ServiceDef)) {
        const o = (theirs[name] as ServiceDef)[method];
        assert.ok(o, `${name}.${method}`);
        assert.deepEqual(
          [m.path, m.requestStream, m.responseStream, m.requestType.type.name],
          [o.path, o.requestStream, o.responseStream, o.requestType.type.name],
        );
        methods++;
      }
    }
    assert.equal(methods, 5 + 1 + 5 + 5 + 8 + 17);
  });
});

describe('command envelope', () => {
  const putCodec = codec<PutRequest>('etcdserverpb.PutRequest');
  const txnCodec = codec<TxnRequest>('etcdserverpb.TxnRequest');

  test('wrapping the bytes of a request equals encoding the command object', () => {
    const p = putReq('key', 'value', { prevKv: true });
    const raw = putCodec.encode(p);
    assert.deepEqual(wrapCommand('put', raw), encodeCommand({ put: p }));
    const back = decodeCommand(wrapCommand('put', raw));
    assert.equal(back.op, 'put');
    assert.deepEqual(new Uint8Array(back.put?.key ?? []), b('key'));
  });

  test('lengths that need multi-byte varints', () => {
    for (const n of [0, 127, 128, 300, 16_384, 70_000]) {
      const p = putReq('k', 'x'.repeat(n));
      const raw = putCodec.encode(p);
      assert.deepEqual(wrapCommand('put', raw), encodeCommand({ put: p }), `value of ${n}`);
    }
    const t: TxnRequest = { compare: [], success: [], failure: [] };
    const cmd = decodeCommand(wrapCommand('txn', txnCodec.encode(t)));
    assert.equal(cmd.op, 'txn');
  });

  test('decode names the type and the problem', () => {
    assert.throws(
      () => putCodec.decode(new Uint8Array([0x0a, 0x09, 0x41])),
      /Cannot decode etcdserverpb.PutRequest: index out of range/,
    );
  });
});
