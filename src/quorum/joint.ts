import { MajorityConfig } from './majority.ts';
import type { AckedIndexer, Index } from './quorum.ts';
import { VoteResult } from './quorum.ts';

/**
 * JointConfig is a pair of (possibly overlapping) majority configs, `incoming` and
 * `outgoing`; a decision needs a majority in both (Raft thesis §4.3, C_old,new). Outside of a
 * joint configuration `outgoing` is empty and the pair behaves like `incoming` alone.
 */
export class JointConfig {
  /** The incoming (new) voters; the only config when not joint. */
  readonly incoming: MajorityConfig;
  /** The outgoing (old) voters; empty unless the configuration is joint. */
  readonly outgoing: MajorityConfig;

  /** JointConfig pairs two majority configs (both empty by default). */
  constructor(incoming = new MajorityConfig(), outgoing = new MajorityConfig()) {
    this.incoming = incoming;
    this.outgoing = outgoing;
  }

  /** isJoint reports whether the outgoing config is non-empty. */
  isJoint(): boolean {
    return this.outgoing.size() > 0;
  }

  /** toString prints `(1 2)&&(3)`, or just `(1 2)` when the outgoing config is empty. */
  toString(): string {
    const inc = this.incoming.toString();
    return this.outgoing.size() > 0 ? `${inc}&&${this.outgoing.toString()}` : inc;
  }

  /** clone returns an independent deep copy. */
  clone(): JointConfig {
    return new JointConfig(this.incoming.clone(), this.outgoing.clone());
  }

  /** ids returns a new set holding the voters of both halves. */
  ids(): Set<number> {
    const s = new Set<number>(this.incoming);
    for (const id of this.outgoing) s.add(id);
    return s;
  }

  /** describe draws the commit-index diagram of MajorityConfig.describe over all voters. */
  describe(l: AckedIndexer): string {
    return new MajorityConfig(this.ids()).describe(l);
  }

  /** committedIndex is the largest index committed in both halves, i.e. their minimum. */
  committedIndex(l: AckedIndexer): Index {
    return Math.min(this.incoming.committedIndex(l), this.outgoing.committedIndex(l));
  }

  /**
   * voteResult is won when both halves won, lost when either half lost, and pending
   * otherwise.
   */
  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === VoteResult.VoteLost || r2 === VoteResult.VoteLost) return VoteResult.VoteLost;
    return VoteResult.VotePending;
  }
}
