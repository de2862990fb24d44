/**
 * Shared vocabulary of the quorum package: log positions, acknowledgement lookups and the
 * outcome of a vote.
 */

/**
 * Index is a Raft log position: a non-negative safe integer. `Infinity` stands in for Go's
 * `math.MaxUint64` and is only ever produced by the committed index of an empty majority
 * config (so that an empty half of a joint quorum never holds the other half back).
 */
export type Index = number;

/** indexToString prints an Index in decimal, or `∞` for the `Infinity` stand-in. */
export function indexToString(i: Index): string {
  return i === Infinity ? '∞' : String(i);
}

/**
 * AckedIndexer looks up the log index a voter is known to have acknowledged (its match
 * index). It returns `undefined` when nothing is known about the voter, which is different
 * from an acknowledged index of 0.
 */
export interface AckedIndexer {
  acked(voterId: number): Index | undefined;
}

/** mapAckIndexer adapts a Map from voter id to acknowledged index to an AckedIndexer. */
export function mapAckIndexer(m: ReadonlyMap<number, Index>): AckedIndexer {
  return { acked: (id) => m.get(id) };
}

/** VoteResult enumerates the outcomes of counting votes against a quorum configuration. */
export const VoteResult = {
  /** Neither the yes nor the no votes have reached a quorum yet. */
  VotePending: 1,
  /** A quorum has voted no (or can no longer vote yes). */
  VoteLost: 2,
  /** A quorum has voted yes. */
  VoteWon: 3,
} as const;
/** VoteResult is one of the values of the VoteResult object. */
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

const voteResultNames: Readonly<Record<VoteResult, string>> = {
  [VoteResult.VotePending]: 'VotePending',
  [VoteResult.VoteLost]: 'VoteLost',
  [VoteResult.VoteWon]: 'VoteWon',
};

/** voteResultName returns the Go name of a VoteResult, e.g. `VoteWon`. */
export function voteResultName(r: VoteResult): string {
  return voteResultNames[r];
}
