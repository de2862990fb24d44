/**
 * StateType enumerates the states of the leader's flow-control state machine for one
 * follower (see Progress).
 */
export const StateType = {
  /**
   * StateProbe: the follower's last index is unknown. The leader sends at most one append
   * per heartbeat interval and narrows the match index down from the replies.
   */
  StateProbe: 0,
  /** StateReplicate: the follower is caught up enough to receive a pipeline of appends. */
  StateReplicate: 1,
  /**
   * StateSnapshot: the follower needs entries the leader no longer has; replication stays
   * paused until a snapshot brings it back.
   */
  StateSnapshot: 2,
} as const;
/** StateType is one of the values of the StateType object. */
export type StateType = (typeof StateType)[keyof typeof StateType];

const stateTypeNames: readonly string[] = ['StateProbe', 'StateReplicate', 'StateSnapshot'];

/** stateTypeName returns the Go name of a StateType, e.g. `StateReplicate`. */
export function stateTypeName(s: StateType): string {
  return stateTypeNames[s] ?? `StateType(${s})`;
}
