import type { ConfState } from '../raftpb/types.ts';
import type { Transport } from './interfaces.ts';

/** members returns every node id a ConfState names (voters, learners, both halves). */
export function members(cs: ConfState): Set<number> {
  return new Set([...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext]);
}

/** isJoint reports whether a ConfState is a joint configuration (C_old,new). */
export function isJoint(cs: ConfState): boolean {
  return cs.votersOutgoing.length > 0;
}

/**
 * PeerBook keeps the address of every member and the transport's peer list in step with
 * the configuration: a member is added to the transport as soon as its address is known,
 * and removed once no half of the configuration names it any more (in a joint
 * configuration a removed voter still counts for the outgoing quorum, Raft thesis §4.3).
 */
export class PeerBook {
  private readonly self: number;
  private readonly transport: Transport;
  /** Every address learned, by node id. */
  private readonly book = new Map<number, string>();
  /** What the transport was told: node id → address. Never holds self. */
  private readonly linked = new Map<number, string>();
  /** Every node id some configuration named. */
  private readonly seen = new Set<number>();

  constructor(self: number, transport: Transport) {
    this.self = self;
    this.transport = transport;
  }

  /** address returns the address known for id. */
  address(id: number): string | undefined {
    return this.book.get(id);
  }

  /** learn records addresses (from a conf change context or a snapshot). */
  learn(addresses: ReadonlyMap<number, string>): void {
    for (const [id, a] of addresses) this.book.set(id, a);
  }

  /** link tells the transport about id now, whether or not it is a member yet. */
  link(id: number): void {
    const a = this.book.get(id);
    if (id === this.self || a === undefined || this.linked.get(id) === a) return;
    if (this.linked.has(id)) this.transport.removePeer(id);
    this.transport.addPeer(id, a);
    this.linked.set(id, a);
  }

  /**
   * sync links every member with a known address and unlinks (and forgets) every linked
   * node that an earlier configuration named and this one does not: a removed member. A
   * node linked only because options.peers named it stays linked until a configuration
   * names and then drops it. A configuration without voters changes nothing.
   */
  sync(cs: ConfState): void {
    if (cs.voters.length === 0) return;
    const ids = members(cs);
    for (const id of ids) {
      this.seen.add(id);
      this.link(id);
    }
    for (const id of [...this.linked.keys()]) {
      if (ids.has(id) || !this.seen.has(id)) continue;
      this.transport.removePeer(id);
      this.linked.delete(id);
      this.book.delete(id);
    }
  }

  /** snapshotBook returns the addresses of the members of cs, for a snapshot. */
  snapshotBook(cs: ConfState): Map<number, string> {
    const out = new Map<number, string>();
    for (const id of members(cs)) {
      const a = this.book.get(id);
      if (a !== undefined) out.set(id, a);
    }
    return out;
  }
}
