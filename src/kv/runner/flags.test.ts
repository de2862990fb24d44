import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { envName, FlagType, helpText, parseFlags, UsageError } from './flags.ts';
import type { FlagSpec } from './flags.ts';
import { heapCap, parsePeers, serveConfig, serveFlags, serveHelp } from './serve.ts';
import { localFlags, localHelp } from './local.ts';

const specs: FlagSpec[] = [
  { name: 'client-addr', type: FlagType.String, help: 'where' },
  { name: 'id', type: FlagType.Int, min: 1, help: 'id' },
  { name: 'verbose', type: FlagType.Bool, help: 'more' },
  { name: 'peers', type: FlagType.String, help: 'list' },
];

describe('flags', () => {
  test('every flag reads its environment variable; the command line wins', () => {
    assert.equal(envName('client-addr'), 'RAFTKV_CLIENT_ADDR');
    const env = { RAFTKV_CLIENT_ADDR: '10.0.0.1:2379', RAFTKV_ID: '7', RAFTKV_VERBOSE: 'true' };
    const fromEnv = parseFlags(specs, [], env);
    assert.equal(fromEnv.string('client-addr'), '10.0.0.1:2379');
    assert.equal(fromEnv.int('id'), 7);
    assert.equal(fromEnv.bool('verbose'), true);
    assert.equal(fromEnv.has('peers'), false);
    const argv = parseFlags(specs, ['--client-addr=127.0.0.1:1', '--id', '0x1f'], env);
    assert.equal(argv.string('client-addr'), '127.0.0.1:1');
    assert.equal(argv.int('id'), 31, 'hex with 0x, as etcdctl prints member ids');
    assert.equal(parseFlags(specs, [], {}).string('client-addr', 'dflt'), 'dflt');
    assert.equal(parseFlags(specs, [], { RAFTKV_VERBOSE: '0' }).bool('verbose'), false);
  });

  test('mistakes are UsageErrors that name the flag or variable', () => {
    assert.throws(() => parseFlags(specs, ['--nope'], {}), UsageError);
    assert.throws(() => parseFlags(specs, ['stray'], {}), UsageError);
    assert.throws(
      () => parseFlags(specs, ['--id', 'x'], {}).int('id'),
      /--id: "x" is not an integer >= 1/,
    );
    assert.throws(() => parseFlags(specs, ['--id', '0'], {}).int('id'), /--id/);
    assert.throws(
      () => parseFlags(specs, [], { RAFTKV_VERBOSE: 'maybe' }).bool('verbose'),
      /RAFTKV_VERBOSE \(environment\): "maybe" is not true or false/,
    );
    assert.throws(() => parseFlags(specs, [], { RAFTKV_ID: '2e3' }).int('id'), /RAFTKV_ID/);
  });

  test('--help is seen, and the help names every flag with its variable', () => {
    assert.equal(parseFlags(specs, ['-h'], {}).help, true);
    const text = helpText('x [flags]', 'does x', specs);
    for (const s of specs)
      assert.ok(text.includes(`--${s.name}`) && text.includes(envName(s.name)));
    for (const [help, list] of [
      [serveHelp, serveFlags],
      [localHelp, localFlags],
    ] as const) {
      for (const s of list) assert.ok(help.includes(`[${envName(s.name)}]`), s.name);
    }
  });
});

describe('serve configuration', () => {
  test('--peers takes ids with host:port or URLs', () => {
    assert.deepEqual(parsePeers(['1=127.0.0.1:2380', '2=http://10.0.0.2:2380', '0x3=[::1]:2380']), [
      { id: 1, address: '127.0.0.1:2380' },
      { id: 2, address: '10.0.0.2:2380' },
      { id: 3, address: '[::1]:2380' },
    ]);
    assert.throws(() => parsePeers(['1:127.0.0.1:2380']), /not id=host:port/);
    assert.throws(() => parsePeers(['1=a:1', '1=b:2']), /listed twice/);
    assert.throws(() => parsePeers(['1=nohost']), /--peers/);
  });

  test('the peer address defaults to this member entry in --peers; defaults are etcd-like', () => {
    const f = parseFlags(
      serveFlags,
      ['--id', '2', '--peers', '1=127.0.0.1:2380,2=127.0.0.1:12380'],
      {},
    );
    const c = serveConfig(f);
    assert.equal(c.peerAddr, '127.0.0.1:12380');
    assert.equal(c.advertisePeerAddr, '127.0.0.1:12380');
    assert.equal(c.clientPort, 2379);
    assert.equal(c.tickMs, 100);
    assert.equal(c.electionTicks, 10);
    assert.equal(c.requestTimeoutMs, 5000);
    assert.equal(c.snapshotCatchupEntries, 5000);
    assert.equal(c.allowFaultInjection, false);
    const low = ['--id', '1', '--snapshot-interval', '400', '--snapshot-catchup-entries', '100'];
    assert.equal(serveConfig(parseFlags(serveFlags, low, {})).snapshotCatchupEntries, 100);
    assert.equal(c.tls, undefined);
  });

  test('--heap-growing-percent and --heap-growing-from-mb make the heap cap', () => {
    const cap = (argv: string[]) => heapCap(parseFlags(serveFlags, ['--id', '1', ...argv], {}));
    assert.deepEqual(cap([]), { percent: 30, fromBytes: 192 * 1024 * 1024 });
    assert.deepEqual(cap(['--heap-growing-percent', '50', '--heap-growing-from-mb', '0']), {
      percent: 50,
      fromBytes: 0,
    });
    assert.equal(cap(['--heap-growing-percent', '0']).percent, 0);
    assert.throws(() => cap(['--heap-growing-percent=-1']), /not an integer >= 0/);
  });

  test('bad combinations are refused', () => {
    const cfg = (argv: string[]) => serveConfig(parseFlags(serveFlags, argv, {}));
    assert.throws(() => cfg(['--peers', '1=127.0.0.1:2380']), /--id is required/);
    assert.throws(() => cfg(['--id', '1', '--peer-cert-file', 'c.pem']), /peer TLS needs all of/);
    assert.throws(
      () => cfg(['--id', '1', '--election-ticks', '3', '--heartbeat-ticks', '3']),
      /less than/,
    );
    assert.throws(() => cfg(['--id', '1', '--client-addr', 'nope']), /--client-addr/);
  });
});
