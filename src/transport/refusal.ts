/**
 * Refusals: what the transport remembers of the handshakes its peers refused, so that its
 * owner can tell a member that missed its own removal (its peers answer "removed-member"
 * when it dials them) from one spurious refusal. etcd stops a member whose peers answer
 * that it was removed (rafthttp's `errMemberRemoved`); the decision is the owner's, the
 * transport only reports what it was told.
 */
import { RejectReason, RejectReasonNames } from './frame.ts';

/** PeerRefusal is a handshake that a peer refused, as the dialing member saw it. */
export interface PeerRefusal {
  /** peer is the id of the member that refused. */
  peer: number;
  /** reason names the peer's RejectReason: `removed-member`, `unknown-member`, ... */
  reason: string;
  /** detail is the peer's explanation, as its Reject frame carried it. */
  detail: string;
  /**
   * removedBy lists, in id order, the known peers whose latest handshake answer was
   * `removed-member` (this one included when it was). A peer leaves the list when a
   * handshake with it succeeds, when it refuses for another reason, or when it is removed.
   */
  removedBy: readonly number[];
  /** peers is the number of peers the transport knows (this member not included). */
  peers: number;
}

/** RefusalListener receives every refusal; a throw is caught and logged by the transport. */
export type RefusalListener = (r: PeerRefusal) => void;

/**
 * RefusalTracker keeps the set of peers whose latest handshake answer was
 * `removed-member`. Invariant: it only holds peers the transport knows.
 */
export class RefusalTracker {
  readonly #removedBy = new Set<number>();

  /** refused records a Reject from `peer` and returns the event to surface. */
  refused(peer: number, reason: RejectReason, detail: string, peers: number): PeerRefusal {
    if (reason === RejectReason.RemovedMember) this.#removedBy.add(peer);
    else this.#removedBy.delete(peer);
    return {
      peer,
      reason: RejectReasonNames[reason],
      detail,
      removedBy: this.removedBy(),
      peers,
    };
  }

  /** forget drops `peer`'s refusal: a handshake with it succeeded, or it was removed here. */
  forget(peer: number): void {
    this.#removedBy.delete(peer);
  }

  /** removedBy returns the peers whose latest answer was `removed-member`, in id order. */
  removedBy(): number[] {
    return [...this.#removedBy].sort((a, b) => a - b);
  }
}

/**
 * removedByMajority reports whether more than half of the peers a member knows answered
 * that it was removed: a rule for the transport's owner that a single confused or stale
 * peer cannot trigger. A peer only refuses as `removed-member` after applying the removal,
 * and etcd-raft applies a conf change only once it is committed; a removed member that
 * lives on only disrupts the others with its elections (Raft thesis §4.2.3).
 */
export function removedByMajority(r: PeerRefusal): boolean {
  return r.removedBy.length > 0 && r.removedBy.length > r.peers / 2;
}
