/**
 * etcd's own command-line client against a raftkv member: etcdctl (ETCDCTL_API=3, Debian's
 * etcd-client package) runs as a separate process against the member's loopback port.
 * Skipped when etcdctl is not installed, except under CI (CI=true), where it must be.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { startStack } from '../src/kv/testing.ts';
import type { Stack } from '../src/kv/testing.ts';

function etcdctlVersion(): string | undefined {
  try {
    return execFileSync('etcdctl', ['version'], { env: { ETCDCTL_API: '3' } }).toString();
  } catch {
    return undefined;
  }
}

const version = etcdctlVersion();
if (version === undefined && process.env.CI === 'true') {
  throw new Error('etcdctl is not installed: .ci/run must install Debian package etcd-client');
}
const skip =
  version === undefined ? 'etcdctl is not installed (apt-get install etcd-client)' : false;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function etcdctl(stack: Stack, args: string[], input?: string): Promise<Result> {
  const endpoint = stack.url.replace('http://', '');
  const argv = [`--endpoints=${endpoint}`, '--dial-timeout=3s', '--command-timeout=5s', ...args];
  return new Promise((resolve) => {
    const child = execFile(
      'etcdctl',
      argv,
      { env: { ETCDCTL_API: '3', PATH: process.env.PATH ?? '' }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(stack: Stack, args: string[], input?: string): Promise<string> {
  const r = await etcdctl(stack, args, input);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('etcdctl against raftkv', { skip, timeout: 60_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ server: { name: 'node-a' } });
    await stack.server.published();
  });
  after(() => stack?.close());

  test('put, get, get --prefix, del', async () => {
    assert.equal(await ok(stack, ['put', 'greeting', 'hello']), 'OK\n');
    assert.equal(await ok(stack, ['get', 'greeting']), 'greeting\nhello\n');
    await ok(stack, ['put', 'dir/a', '1']);
    await ok(stack, ['put', 'dir/b', '2']);
    assert.equal(await ok(stack, ['get', 'dir/', '--prefix', '--keys-only']), 'dir/a\n\ndir/b\n\n');
    const json = JSON.parse(await ok(stack, ['get', 'dir/a', '-w', 'json'])) as {
      header: { revision: number; member_id: number };
      kvs: { version: number }[];
    };
    assert.equal(json.header.member_id, stack.backend.id);
    assert.equal(json.kvs[0]?.version, 1);
    assert.equal(await ok(stack, ['del', 'dir/', '--prefix']), '2\n');
    assert.equal(await ok(stack, ['get', 'dir/', '--prefix']), '');
  });

  test('txn from stdin: compare-and-swap', async () => {
    await ok(stack, ['put', 'lock', 'free']);
    const txn = 'value("lock") = "free"\n\nput lock mine\n\nget lock\n\n';
    assert.match(await ok(stack, ['txn'], txn), /^SUCCESS\n\nOK\n/);
    assert.match(await ok(stack, ['txn'], txn), /^FAILURE\n\nlock\nmine\n/);
  });

  test('member list and endpoint status', async () => {
    const list = await ok(stack, ['member', 'list']);
    assert.match(
      list,
      new RegExp(`^${stack.backend.id.toString(16)}, started, node-a, , ${stack.url}, false`),
    );
    const status = JSON.parse(await ok(stack, ['endpoint', 'status', '-w', 'json'])) as {
      Status: { version: string; leader: number; raftTerm: number };
    }[];
    assert.equal(status[0]?.Status.version, '3.5.0');
    assert.equal(status[0]?.Status.leader, stack.backend.id);
    const health = await etcdctl(stack, ['endpoint', 'health']);
    assert.equal(health.code, 0);
    assert.match(health.stdout + health.stderr, /is healthy: successfully committed proposal/);
  });

  test('member add --learner, promote refused, remove', async () => {
    const add = await ok(stack, [
      'member',
      'add',
      'node-b',
      '--peer-urls=http://127.0.0.1:1',
      '--learner',
    ]);
    const id = /Member\s+([0-9a-f]+) added/.exec(add)?.[1];
    assert.ok(id, add);
    assert.match(
      await ok(stack, ['member', 'list']),
      new RegExp(`${id}, unstarted, , http://127.0.0.1:1, , true`),
    );
    const promote = await etcdctl(stack, ['member', 'promote', id]);
    assert.notEqual(promote.code, 0);
    assert.match(promote.stderr, /can only promote a learner member which is in sync with leader/);
    assert.match(await ok(stack, ['member', 'remove', id]), /removed from cluster/);
  });

  test('an unimplemented API fails cleanly, naming the method', async () => {
    const r = await etcdctl(stack, ['lease', 'grant', '10']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unimplemented.*\/etcdserverpb\.Lease\/LeaseGrant/);
  });
});
