import { JointConfig } from '../quorum/joint.ts';
import { formatIdSet, MajorityConfig } from '../quorum/majority.ts';
import type { AckedIndexer } from '../quorum/quorum.ts';
import { VoteResult } from '../quorum/quorum.ts';
import type { ConfState } from '../raftpb/types.ts';
import type { Progress, ProgressMap } from './progress.ts';

export type { ProgressMap } from './progress.ts';

/** TrackerConfigInit holds the fields a TrackerConfig is created with. */
export interface TrackerConfigInit {
  voters?: JointConfig;
  autoLeave?: boolean;
  learners?: Iterable<number> | undefined;
  learnersNext?: Iterable<number> | undefined;
}

/**
 * TrackerConfig is the membership configuration a ProgressTracker works with.
 *
 * Invariant: voters (either half) and learners are disjoint, so a peer's role never depends
 * on which half of a joint config is asked. A voter being demoted while joint is therefore
 * staged in learnersNext (it is still an outgoing voter) and becomes a learner on leaving
 * the joint config.
 */
export class TrackerConfig {
  /** The voters; `voters.outgoing` is non-empty exactly while the config is joint. */
  voters: JointConfig;
  /** Whether raft leaves the joint config on its own; only ever true while joint. */
  autoLeave: boolean;
  /** The learners; never an empty set (absent is `undefined`). */
  learners: Set<number> | undefined;
  /**
   * Outgoing voters to turn into learners when the joint config is left; never an empty
   * set, and `undefined` whenever the config is not joint. Each is in `voters.outgoing`.
   */
  learnersNext: Set<number> | undefined;

  /** TrackerConfig copies init; the default is the empty configuration. Empty sets become undefined. */
  constructor(init: TrackerConfigInit = {}) {
    this.voters = init.voters ?? new JointConfig();
    this.autoLeave = init.autoLeave ?? false;
    this.learners = nonEmptySet(init.learners);
    this.learnersNext = nonEmptySet(init.learnersNext);
  }

  /** clone returns a deep copy. */
  clone(): TrackerConfig {
    return new TrackerConfig({
      voters: this.voters.clone(),
      autoLeave: this.autoLeave,
      learners: this.learners,
      learnersNext: this.learnersNext,
    });
  }

  /**
   * toString prints e.g. `voters=(1 2 3)&&(1) learners=(2) learners_next=(3) autoleave`
   * (ids in hex; absent learner sets and a false autoLeave are left out).
   */
  toString(): string {
    let s = `voters=${this.voters.toString()}`;
    if (this.learners !== undefined) s += ` learners=${formatIdSet(sortedIds(this.learners))}`;
    if (this.learnersNext !== undefined) {
      s += ` learners_next=${formatIdSet(sortedIds(this.learnersNext))}`;
    }
    if (this.autoLeave) s += ' autoleave';
    return s;
  }
}

/** VoteTally is the outcome of ProgressTracker.tallyVotes. */
export interface VoteTally {
  /** Votes granted by current voters. */
  granted: number;
  /** Votes rejected by current voters. */
  rejected: number;
  result: VoteResult;
}

/**
 * ProgressTracker holds the active configuration, a Progress for every voter and learner in
 * it, and the votes of the current election. It answers the quorum questions raft asks:
 * the committed index, the election result, whether a quorum is active.
 */
export class ProgressTracker {
  /** The active configuration. */
  config: TrackerConfig = new TrackerConfig();
  /** One Progress per voter and learner of `config`, and no other. */
  progress: ProgressMap = new Map();
  /** Votes received in the current election: id -> granted. The first vote of a peer counts. */
  votes: Map<number, boolean> = new Map();
  /** The inflight message limit given to new Progresses. */
  readonly maxInflight: number;
  /** The inflight byte limit given to new Progresses; 0 means unlimited. */
  readonly maxInflightBytes: number;

  /** Reads the match index of a tracked peer; bound once, used by committed(). */
  private readonly matchIndexer: AckedIndexer = {
    acked: (id) => this.progress.get(id)?.match,
  };
  /** Scratch for visit(); undefined while a visit is running (a nested visit allocates). */
  private visitScratch: number[] | undefined = [];

  /** ProgressTracker starts with an empty config and the given inflight limits. */
  constructor(maxInflight: number, maxInflightBytes = 0) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  /** confState returns the active configuration as a ConfState with ascending id lists. */
  confState(): ConfState {
    const c = this.config;
    return {
      voters: c.voters.incoming.slice(),
      votersOutgoing: c.voters.outgoing.slice(),
      learners: c.learners === undefined ? [] : sortedIds(c.learners),
      learnersNext: c.learnersNext === undefined ? [] : sortedIds(c.learnersNext),
      autoLeave: c.autoLeave,
    };
  }

  /** isSingleton reports whether there is exactly one voter and the config is not joint. */
  isSingleton(): boolean {
    const v = this.config.voters;
    return v.incoming.size() === 1 && v.outgoing.size() === 0;
  }

  /** committed returns the largest index acknowledged by a quorum of the voters. */
  committed(): number {
    return this.config.voters.committedIndex(this.matchIndexer);
  }

  /**
   * visit calls f for every tracked peer in ascending id order. Peers removed by f before
   * their turn are skipped.
   */
  visit(f: (id: number, pr: Progress) => void): void {
    const ids = this.visitScratch ?? [];
    this.visitScratch = undefined;
    try {
      ids.length = 0;
      for (const id of this.progress.keys()) ids.push(id);
      insertionSortIds(ids);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const pr = this.progress.get(id);
        if (pr !== undefined) f(id, pr);
      }
    } finally {
      this.visitScratch = ids;
    }
  }

  /** quorumActive reports whether a quorum of voters has recently been active. */
  quorumActive(): boolean {
    const active = new Map<number, boolean>();
    for (const [id, pr] of this.progress) {
      if (!pr.isLearner) active.set(id, pr.recentActive);
    }
    return this.config.voters.voteResult(active) === VoteResult.VoteWon;
  }

  /** voterNodes returns the voters of both halves, ascending. */
  voterNodes(): number[] {
    return new MajorityConfig(this.config.voters.ids()).slice();
  }

  /** learnerNodes returns the learners, ascending (empty if none). */
  learnerNodes(): number[] {
    return this.config.learners === undefined ? [] : sortedIds(this.config.learners);
  }

  /** resetVotes forgets the votes, to count a new election. */
  resetVotes(): void {
    this.votes = new Map();
  }

  /** recordVote records id's vote (true = granted) unless id has already voted. */
  recordVote(id: number, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  /**
   * tallyVotes counts the granted and rejected votes of the tracked voters (votes of peers
   * that left the config are not counted) and returns the election result.
   */
  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}

function nonEmptySet(ids: Iterable<number> | undefined): Set<number> | undefined {
  if (ids === undefined) return undefined;
  const s = new Set(ids);
  return s.size === 0 ? undefined : s;
}

function sortedIds(ids: Iterable<number>): number[] {
  return [...ids].sort((a, b) => a - b);
}

function insertionSortIds(a: number[]): void {
  if (a.length > 16) {
    a.sort((x, y) => x - y);
    return;
  }
  for (let i = 1; i < a.length; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}
