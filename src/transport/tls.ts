/**
 * Peer identities for TLS: what a certificate says about who presents it, and the check of
 * that against the allow-list (docs/transport.md, "Peer identities").
 */
import type { PeerCertificate } from 'node:tls';

/** RAFT_URI matches the SAN URI form that binds a certificate to one member. */
const RAFT_URI = /^raft:\/\/(\d+)\/(\d+)$/;

/**
 * certificateIdentities lists the identities a peer certificate carries: its subject CN
 * (or each CN, if there are several) and each SAN URI, in that order.
 */
export function certificateIdentities(cert: PeerCertificate): string[] {
  const out: string[] = [];
  const cn: unknown = (cert.subject as Record<string, unknown> | undefined)?.['CN'];
  if (typeof cn === 'string') out.push(cn);
  else if (Array.isArray(cn)) for (const x of cn) if (typeof x === 'string') out.push(x);
  for (const entry of splitAltNames(cert.subjectaltname ?? '')) {
    if (entry.startsWith('URI:')) out.push(entry.slice(4));
  }
  return out;
}

/**
 * splitAltNames splits Node's subjectaltname string ("DNS:a, URI:b"). Node writes a value
 * that contains a comma or quote as a JSON string; those are unquoted here.
 */
function splitAltNames(s: string): string[] {
  const out: string[] = [];
  const re = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(s); m !== null && m[0] !== ''; m = re.exec(s)) {
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    out.push(`${m[1]!}:${value}`);
  }
  return out;
}

/**
 * checkPeerIdentity decides whether a certificate with these identities may act as member
 * `memberId` (undefined: not known yet) of cluster `clusterId`. It returns undefined when
 * allowed, else the reason for refusing. Rules: at least one identity must be in the
 * allow-list; if an allowed identity is a `raft://<cluster>/<member>` URI, one such URI must
 * name this cluster and, once known, this member.
 */
export function checkPeerIdentity(
  identities: readonly string[],
  allowed: ReadonlySet<string>,
  clusterId: number,
  memberId: number | undefined,
): string | undefined {
  const ok = identities.filter((x) => allowed.has(x));
  if (ok.length === 0) {
    const shown = identities.length === 0 ? '(none)' : identities.join(', ');
    return `certificate identity ${shown} is not in the allow-list`;
  }
  const bound = ok.map((x) => RAFT_URI.exec(x)).filter((m) => m !== null);
  if (bound.length === 0) return undefined;
  const match = bound.some(
    (m) => Number(m[1]) === clusterId && (memberId === undefined || Number(m[2]) === memberId),
  );
  if (match) return undefined;
  const names = bound.map((m) => m[0]).join(', ');
  const who =
    memberId === undefined ? `cluster ${clusterId}` : `member ${memberId} of cluster ${clusterId}`;
  return `certificate is bound to ${names}, not to ${who}`;
}
