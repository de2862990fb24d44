/**
 * Joining a running cluster, as `raftkv serve --join <client URLs>` does on an empty data
 * directory: over etcd's own gRPC API (what `etcdctl member add --learner` calls), find
 * the leader, ask it to add this member as a learner with its peer URL, and learn the new
 * member id, the cluster id and the other members' peer addresses.
 *
 * Adding is made safe to retry: a member whose peer URLs already hold this member's URL
 * (an earlier attempt whose answer was lost) is taken as this member instead of adding
 * another one.
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { PeerAddress } from '../../node/options.ts';
import { asBuffer, codec } from '../codec.ts';
import type { Member, ResponseHeader, StatusResponse } from '../types.ts';

/** Joined is what a member learns by joining. */
export interface Joined {
  id: number;
  clusterId: number;
  /** peers are the other members with their transport addresses ("host:port"). */
  peers: PeerAddress[];
}

/** JoinOptions configure joinCluster(). */
export interface JoinOptions {
  /** urls are client URLs of running members ("http://10.0.0.1:2379"). */
  urls: readonly string[];
  /** peerURL is the URL the other members reach this one at ("http://10.0.0.4:2380"). */
  peerURL: string;
  /** id, when set, is the id this member was already added with (etcdctl member add). */
  id?: number | undefined;
  /** signal bounds the whole attempt (retries included). */
  signal: AbortSignal;
  /** log receives one line per failed attempt. */
  log?: (line: string) => void;
}

interface MemberListResponse {
  header?: ResponseHeader;
  members: Member[];
}
interface MemberAddResponse {
  header?: ResponseHeader;
  member?: Member;
  members: Member[];
}

/** grpcTarget turns a client URL into a gRPC target ("http://h:2379" → "h:2379"). */
export function grpcTarget(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  const u = new URL(url);
  if (u.protocol !== 'http:') {
    throw new RangeError(`join: ${url}: only http:// client URLs are supported`);
  }
  return u.host;
}

/** peerAddress turns a peer URL ("http://h:2380") into a transport address ("h:2380"). */
export function peerAddress(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? new URL(url).host : url;
}

/** unary makes one unary call of the etcd API on `target`. */
function unary<Req, Res>(
  target: string,
  path: string,
  types: [string, string],
  req: Req,
  signal: AbortSignal,
): Promise<Res> {
  const [reqCodec, resCodec] = [codec<Req>(types[0]), codec<Res>(types[1])];
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return new Promise<Res>((resolve, reject) => {
    const call = client.makeUnaryRequest<Req, Res>(
      path,
      (m) => asBuffer(reqCodec.encode(m)),
      (b) => resCodec.decode(b),
      req,
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err, res) => {
        signal.removeEventListener('abort', cancel);
        client.close();
        if (err !== null || res === undefined) reject(err ?? new Error(`${path}: no answer`));
        else resolve(res);
      },
    );
    const cancel = (): void => call.cancel();
    signal.addEventListener('abort', cancel, { once: true });
  });
}

function memberList(target: string, signal: AbortSignal): Promise<MemberListResponse> {
  return unary(
    target,
    '/etcdserverpb.Cluster/MemberList',
    ['etcdserverpb.MemberListRequest', 'etcdserverpb.MemberListResponse'],
    { linearizable: true },
    signal,
  );
}

function status(target: string, signal: AbortSignal): Promise<StatusResponse> {
  return unary(
    target,
    '/etcdserverpb.Maintenance/Status',
    ['etcdserverpb.StatusRequest', 'etcdserverpb.StatusResponse'],
    {},
    signal,
  );
}

function memberAdd(target: string, peerURL: string, signal: AbortSignal) {
  return unary<{ peerURLs: string[]; isLearner: boolean }, MemberAddResponse>(
    target,
    '/etcdserverpb.Cluster/MemberAdd',
    ['etcdserverpb.MemberAddRequest', 'etcdserverpb.MemberAddResponse'],
    { peerURLs: [peerURL], isLearner: true },
    signal,
  );
}

function peersOf(members: readonly Member[], self: number): PeerAddress[] {
  return members
    .filter((m) => m.ID !== self && m.peerURLs[0] !== undefined)
    .map((m) => ({ id: m.ID, address: peerAddress(m.peerURLs[0] as string) }));
}

/** attempt makes one try through the member at `url`; see the file comment. */
async function attempt(url: string, o: JoinOptions): Promise<Joined> {
  const st = await status(grpcTarget(url), o.signal);
  const list = await memberList(grpcTarget(url), o.signal);
  const clusterId = st.header.clusterId;
  const known =
    o.id !== undefined
      ? list.members.find((m) => m.ID === o.id)
      : list.members.find((m) => m.peerURLs.includes(o.peerURL));
  if (known !== undefined)
    return { id: known.ID, clusterId, peers: peersOf(list.members, known.ID) };
  if (o.id !== undefined) {
    throw new Error(`member ${o.id} is not in the cluster: add it first (etcdctl member add)`);
  }
  const leader = list.members.find((m) => m.ID === st.leader);
  const leaderUrl = leader?.clientURLs[0];
  if (leaderUrl === undefined) throw new Error(`${url} knows no leader (or not its client URL)`);
  const added = await memberAdd(grpcTarget(leaderUrl), o.peerURL, o.signal);
  if (added.member === undefined) throw new Error(`${leaderUrl}: MemberAdd answered no member`);
  const id = added.member.ID;
  return { id, clusterId: added.header?.clusterId ?? clusterId, peers: peersOf(added.members, id) };
}

/**
 * joinCluster adds this member to a running cluster as a learner (unless `id` says it was
 * added already) and returns its id, the cluster id and the peers. It tries each URL in
 * turn, again and again with backoff, until one succeeds; it rejects with `signal.reason`
 * (wrapping the last failure as its cause is left to the caller) when the signal aborts.
 */
export async function joinCluster(o: JoinOptions): Promise<Joined> {
  if (o.urls.length === 0) throw new RangeError('join: no client URL to join through');
  for (let backoffMs = 100; ; backoffMs = Math.min(backoffMs * 2, 2000)) {
    for (const url of o.urls) {
      o.signal.throwIfAborted();
      try {
        return await attempt(url, o);
      } catch (err) {
        o.signal.throwIfAborted();
        o.log?.(`join through ${url} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await delay(backoffMs, undefined, { signal: o.signal });
  }
}
