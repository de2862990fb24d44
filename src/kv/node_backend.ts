/**
 * nodeBackend: the RaftBackend of a member run by src/node's Node. It depends on the Node
 * only through NodeLike, the part of the Node's API it calls, so that raftkv builds against
 * the Node's documented surface and not its internals.
 */
import type { ConfState } from '../raftpb/types.ts';
import { BackendError, BackendErrorCode } from './backend.ts';
import type { BackendMember, BackendStatus, BackendWaitOptions, RaftBackend } from './backend.ts';

/** NodeLeaderChange is the payload of the Node's 'leaderChange' event. */
export interface NodeLeaderChange {
  leader: number;
}

/** NodeLike is what nodeBackend uses of a Node (src/node/node.ts). */
export interface NodeLike {
  readonly id: number;
  propose(data: Uint8Array, options?: BackendWaitOptions): Promise<unknown>;
  read(options?: BackendWaitOptions): Promise<number>;
  addVoter(id: number, address: string, options?: BackendWaitOptions): Promise<unknown>;
  addLearner(id: number, address: string, options?: BackendWaitOptions): Promise<unknown>;
  promote(id: number, options?: BackendWaitOptions): Promise<unknown>;
  removeMember(id: number, options?: BackendWaitOptions): Promise<unknown>;
  transferLeadership(to?: number, options?: BackendWaitOptions): Promise<number>;
  status(): {
    leader: number;
    term: number;
    commitIndex: number;
    appliedIndex: number;
    confState: ConfState;
    raft: { progress?: ReadonlyMap<number, { match: number }> | undefined };
  };
  /** brief, when present, is a cheap status(): leader, term, indexes, learner or not. */
  brief?(): BackendStatus;
  on(event: 'leaderChange', listener: (change: NodeLeaderChange) => void): unknown;
  off(event: 'leaderChange', listener: (change: NodeLeaderChange) => void): unknown;
}

/** NodeBackendOptions configures nodeBackend(). */
export interface NodeBackendOptions {
  /** clusterId identifies the cluster (e.g. clusterIdOf(initial member ids)). */
  clusterId: number;
  /**
   * peerURLs returns the peer URLs of member id, as the runner knows them (its address
   * book). Default: none.
   */
  peerURLs?: (id: number) => string[];
  /**
   * toAddress turns a peer URL given to MemberAdd into the transport's address. Default:
   * the URL's host:port.
   */
  toAddress?: (peerURL: string) => string;
}

function defaultAddress(peerURL: string): string {
  const u = new URL(peerURL);
  return u.host;
}

/**
 * isLearnerReady is etcd's rule for promotion: the learner has at least 90% of the
 * leader's log (etcd server/etcdserver/server.go isLearnerReady).
 */
export function isLearnerReady(
  progress: ReadonlyMap<number, { match: number }> | undefined,
  leader: number,
  learner: number,
): boolean {
  const l = progress?.get(leader);
  const p = progress?.get(learner);
  return l !== undefined && p !== undefined && p.match >= l.match * 0.9;
}

/** nodeBackend adapts a Node to RaftBackend. */
export function nodeBackend(node: NodeLike, o: NodeBackendOptions): RaftBackend {
  const toAddress = o.toAddress ?? defaultAddress;
  const urls = o.peerURLs ?? (() => []);
  const done = () => undefined;
  return {
    id: node.id,
    clusterId: o.clusterId,
    propose: (cmd, opts) => node.propose(cmd, opts),
    readIndex: async (opts) => {
      await node.read(opts);
    },
    status: (): BackendStatus => {
      if (node.brief !== undefined) return node.brief();
      const s = node.status();
      return {
        leader: s.leader,
        term: s.term,
        commitIndex: s.commitIndex,
        appliedIndex: s.appliedIndex,
        isLearner: s.confState.learners.includes(node.id),
      };
    },
    members: (): BackendMember[] => {
      const cs = node.status().confState;
      const voters = [...new Set([...cs.voters, ...cs.votersOutgoing])];
      return [
        ...voters.map((id) => ({ id, peerURLs: urls(id), isLearner: false })),
        ...cs.learners.map((id) => ({ id, peerURLs: urls(id), isLearner: true })),
      ];
    },
    addMember: (id, peerURLs, opts) => {
      const address = toAddress(peerURLs[0] ?? '');
      const p = opts.learner
        ? node.addLearner(id, address, opts)
        : node.addVoter(id, address, opts);
      return p.then(done);
    },
    promoteMember: (id, opts) => {
      const s = node.status();
      if (!isLearnerReady(s.raft.progress, node.id, id)) {
        const why = `learner ${id} is not in sync with leader ${node.id}`;
        return Promise.reject(new BackendError(BackendErrorCode.LearnerNotReady, why));
      }
      return node.promote(id, opts).then(done);
    },
    removeMember: (id, opts) => node.removeMember(id, opts).then(done),
    transferLeadership: (to, opts) => node.transferLeadership(to, opts).then(done),
    onLeaderChange: (listener) => {
      const l = (c: NodeLeaderChange) => listener(c.leader);
      node.on('leaderChange', l);
      return () => void node.off('leaderChange', l);
    },
  };
}
