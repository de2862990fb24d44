// TLS with mutual authentication: certificates are made at test time with the openssl CLI
// (Debian package `openssl`). Covers a working pair, a peer without a certificate, one from
// a foreign CA, one from the right CA but not in the allow-list, one that claims another
// member's id, and a dialer that refuses a server outside its allow-list.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PeerCertificate } from 'node:tls';

import { FrameType, RejectReason } from './frame.ts';
import type { TransportTlsOptions } from './options.ts';
import { TcpTransport } from './tcp.ts';
import { CapturingLogger, RawPeer, RecordingHandler, heartbeat, waitFor } from './testing.ts';
import { certificateIdentities, checkPeerIdentity } from './tls.ts';

const CLUSTER = 7;

/** hasOpenssl says whether the openssl CLI can be run. */
function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const OPENSSL = hasOpenssl();
// In CI a missing openssl is a failure (.ci/run installs it), elsewhere a skip.
const skip =
  !OPENSSL && process.env['CI'] === undefined ? 'the openssl CLI is not installed' : false;

const CNF = `[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = \${ENV::SAN}
`;

/** Pki makes CAs and leaf certificates (P-256 keys) in a temporary directory. */
class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'raft-tls-'));
  #serial = 1;

  constructor() {
    writeFileSync(join(this.dir, 'cnf'), CNF);
  }

  #run(args: string[], san = 'URI:unused'): void {
    execFileSync('openssl', args, {
      cwd: this.dir,
      stdio: 'pipe',
      env: { ...process.env, SAN: san },
    });
  }

  #read(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }

  /** ca creates a self-signed CA and returns its certificate. */
  ca(name: string): string {
    this.#run([
      'req',
      '-x509',
      '-config',
      'cnf',
      '-extensions',
      'ca',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
    ]);
    return this.#read(`${name}.crt`);
  }

  /** leaf creates a key and a certificate signed by `ca`, with a CN and a SAN. */
  leaf(name: string, ca: string, cn: string, san: string): { key: string; cert: string } {
    this.#run([
      'req',
      '-new',
      '-config',
      'cnf',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${cn}`,
    ]);
    this.#run(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-set_serial',
        String(this.#serial++),
        '-days',
        '2',
        '-extfile',
        'cnf',
        '-extensions',
        'leaf',
        '-out',
        `${name}.crt`,
      ],
      san,
    );
    return { key: this.#read(`${name}.key`), cert: this.#read(`${name}.crt`) };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('peer identities (pure)', () => {
  test('certificateIdentities reads the CN and the SAN URIs, quoted or not', () => {
    const cert = {
      subject: { CN: 'member-1' },
      subjectaltname: 'DNS:a.example, URI:raft://7/1, URI:"spiffe://x/a,b", IP Address:127.0.0.1',
    } as unknown as PeerCertificate;
    assert.deepEqual(certificateIdentities(cert), ['member-1', 'raft://7/1', 'spiffe://x/a,b']);
    const twoCn = { subject: { CN: ['a', 'b'] } } as unknown as PeerCertificate;
    assert.deepEqual(certificateIdentities(twoCn), ['a', 'b']);
  });

  test('checkPeerIdentity: allow-list first, then raft:// URIs bind cluster and member', () => {
    const allowed = new Set(['member-1', 'raft://7/2', 'raft://7/3']);
    assert.equal(checkPeerIdentity(['member-1'], allowed, 7, 5), undefined, 'a CN does not bind');
    assert.match(
      checkPeerIdentity(['member-9'], allowed, 7, 1)!,
      /member-9 is not in the allow-list/,
    );
    assert.match(checkPeerIdentity([], allowed, 7, 1)!, /\(none\) is not in the allow-list/);
    assert.equal(checkPeerIdentity(['raft://7/2'], allowed, 7, undefined), undefined);
    assert.equal(checkPeerIdentity(['raft://7/2'], allowed, 7, 2), undefined);
    assert.match(
      checkPeerIdentity(['raft://7/3'], allowed, 7, 2)!,
      /bound to raft:\/\/7\/3, not to member 2 of cluster 7/,
    );
    assert.match(checkPeerIdentity(['raft://7/2'], allowed, 8, undefined)!, /not to cluster 8/);
  });
});

describe('TLS', { skip }, () => {
  let pki: Pki;
  let ca: string;
  const certs: Record<string, { key: string; cert: string }> = {};
  const open: TcpTransport[] = [];

  before(() => {
    pki = new Pki();
    ca = pki.ca('ca');
    pki.ca('foreign');
    for (const id of [1, 2, 3])
      certs[`m${id}`] = pki.leaf(`m${id}`, 'ca', `member-${id}`, `URI:raft://${CLUSTER}/${id}`);
    certs['outsider'] = pki.leaf('outsider', 'ca', 'outsider', `URI:raft://${CLUSTER}/9`);
    certs['foreign2'] = pki.leaf('foreign2', 'foreign', 'member-2', `URI:raft://${CLUSTER}/2`);
  });
  after(async () => {
    await Promise.all(open.map((t) => t.close()));
    pki.dispose();
  });

  const allowed = [1, 2, 3].map((id) => `raft://${CLUSTER}/${id}`);

  function tlsFor(name: string, allowedPeers = allowed): TransportTlsOptions {
    return { ...certs[name]!, ca, allowedPeers };
  }

  async function member(id: number, tlsOpts: TransportTlsOptions) {
    const log = new CapturingLogger();
    const h = new RecordingHandler();
    const t = new TcpTransport({
      id,
      clusterId: CLUSTER,
      tls: tlsOpts,
      logger: log,
      backoff: { initialMs: 10, maxMs: 100 },
    });
    await t.start(h);
    open.push(t);
    return { t, h, log };
  }

  test('two members with certificates from the allow-list exchange messages', async () => {
    const a = await member(1, tlsFor('m1'));
    const b = await member(2, tlsFor('m2'));
    a.t.addPeer(2, b.t.listenAddress());
    b.t.addPeer(1, a.t.listenAddress());
    a.t.send([heartbeat(1, 2, 1)]);
    b.t.send([heartbeat(2, 1, 2)]);
    await waitFor('delivery', () => a.h.received.length === 1 && b.h.received.length === 1);
    await Promise.all([a.t.close(), b.t.close()]);
  });

  test('the allow-list may name certificates by CN', async () => {
    const names = ['member-1', 'member-2'];
    const a = await member(1, tlsFor('m1', names));
    const b = await member(2, tlsFor('m2', names));
    a.t.addPeer(2, b.t.listenAddress());
    b.t.addPeer(1, a.t.listenAddress());
    a.t.send([heartbeat(1, 2, 1)]);
    await waitFor('delivery', () => b.h.received.length === 1);
    await Promise.all([a.t.close(), b.t.close()]);
  });

  /** tryPeer connects with the given TLS options and says Hello as member 1. */
  async function tryPeer(address: string, opts: object): Promise<RawPeer | undefined> {
    try {
      const p = await RawPeer.connect(address, { ...opts, checkServerIdentity: () => undefined });
      p.hello({ clusterId: CLUSTER, from: 1, to: 2 });
      await waitFor('close', () => p.closed);
      return p;
    } catch {
      return undefined; // refused during the TLS handshake
    }
  }

  test('a peer without a certificate is refused during the TLS handshake', async () => {
    const b = await member(2, tlsFor('m2'));
    b.t.addPeer(1, '127.0.0.1:1');
    const p = await tryPeer(b.t.listenAddress(), { ca });
    assert.ok(p === undefined || p.frames.length === 0, 'no Welcome');
    await waitFor('log', () => b.log.matching(/TLS/).length === 1);
    assert.match(
      b.log.matching(/TLS/)[0]!,
      /TLS connection from 127\.0\.0\.1:\d+ refused: no client certificate/,
    );
    assert.equal(b.h.received.length, 0);
    await b.t.close();
  });

  test('a peer with a certificate from a foreign CA is refused', async () => {
    const b = await member(2, tlsFor('m2'));
    b.t.addPeer(1, '127.0.0.1:1');
    const p = await tryPeer(b.t.listenAddress(), { ca, ...certs['foreign2'] });
    assert.ok(p === undefined || p.frames.length === 0, 'no Welcome');
    await waitFor('log', () => b.log.matching(/TLS/).length === 1);
    assert.match(
      b.log.matching(/TLS/)[0]!,
      /TLS connection from 127\.0\.0\.1:\d+ refused: certificate not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );
    assert.equal(b.h.received.length, 0);
    await b.t.close();
  });

  test('the same CA is not enough: a certificate outside the allow-list is refused', async () => {
    const b = await member(2, tlsFor('m2'));
    b.t.addPeer(1, '127.0.0.1:1');
    const p = await tryPeer(b.t.listenAddress(), { ca, ...certs['outsider'] });
    assert.ok(p !== undefined);
    assert.equal(p.frames.length, 1);
    const f = p.frames[0]!;
    assert.ok(f.type === FrameType.Reject && f.reason === RejectReason.Identity);
    const lines = b.log.matching(/closed/);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      /refused: identity: certificate identity outsider, raft:\/\/7\/9 is not in the allow-list/,
    );
    assert.equal(b.h.received.length, 0);
    await b.t.close();
  });

  test("a member's certificate cannot claim another member's id", async () => {
    const b = await member(2, tlsFor('m2'));
    b.t.addPeer(1, '127.0.0.1:1');
    const p = await tryPeer(b.t.listenAddress(), { ca, ...certs['m3'] }); // says Hello as 1
    assert.ok(p !== undefined);
    const f = p.frames[0]!;
    assert.ok(f.type === FrameType.Reject && f.reason === RejectReason.Identity);
    assert.match(
      b.log.matching(/closed/)[0]!,
      /bound to raft:\/\/7\/3, not to member 1 of cluster 7/,
    );
    await b.t.close();
  });

  test('a dialer refuses a server whose certificate is outside its allow-list', async () => {
    const impostor = await member(2, tlsFor('outsider'));
    impostor.t.addPeer(1, '127.0.0.1:1');
    const a = await member(1, tlsFor('m1'));
    a.t.addPeer(2, impostor.t.listenAddress());
    a.t.send([heartbeat(1, 2)]);
    await waitFor(
      'log',
      () => a.log.matching(/connection to peer 2 .* closed: certificate identity/).length === 1,
    );
    assert.equal(impostor.h.received.length, 0);
    await Promise.all([a.t.close(), impostor.t.close()]);
  });
});
