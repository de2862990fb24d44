import { Changer } from '../confchange/confchange.ts';
import { ErrProposalDropped } from '../raft/errors.ts';
import type { RawNode } from '../raft/rawnode.ts';
import { StateType } from '../raft/ready.ts';
import { cloneConfState } from '../raft/util.ts';
import { ConfChangeTransition, EntryType } from '../raftpb/types.ts';
import type { ConfChangeSingle, ConfState } from '../raftpb/types.ts';
import type { Applier } from './apply.ts';
import { encodeAddressContext } from './envelope.ts';
import { ErrTransferFailed } from './errors.ts';
import type { ErrNotLeader } from './errors.ts';
import { isJoint } from './peers.ts';
import type { ProposalTracker } from './proposals.ts';
import { Waiter } from './waiter.ts';
import type { AbortLike } from './waiter.ts';

/** MembershipHost is what membership changes need from their Node. */
export interface MembershipHost {
  readonly rawNode: RawNode;
  readonly tracker: ProposalTracker;
  readonly applier: Applier;
  /** until resolves once check() returns a value, re-checked as the node makes progress. */
  until<T>(check: () => T | undefined, signal: AbortLike | undefined): Promise<T>;
  /** leaderOnly returns ErrNotLeader unless this node leads. */
  leaderOnly(): ErrNotLeader | undefined;
  kick(): void;
}

/**
 * runConfChange waits until raft accepts a conf change (this node leads, the configuration
 * is not joint, no change is pending), checks that the change leaves a valid configuration,
 * proposes it as a ConfChangeV2 that enters a joint configuration which raft leaves by
 * itself (JointImplicit, Raft thesis §4.3), and resolves with the configuration once it is
 * no longer joint. `address` travels in the context (format 2 of envelope.ts).
 *
 * Rejects with ErrNotLeader, RangeError (an invalid resulting configuration),
 * ErrProposalDropped, ErrLeaderChanged (the entry was replaced), or what `until` rejects with.
 */
export async function runConfChange(
  h: MembershipHost,
  change: ConfChangeSingle,
  address: string | undefined,
  signal: AbortLike | undefined,
): Promise<ConfState> {
  await h.until(() => confChangeAllowed(h), signal);
  const r = h.rawNode.raft;
  try {
    new Changer(r.trk, r.raftLog.lastIndex()).enterJoint(true, change);
  } catch (err) {
    throw new RangeError(`membership change refused: ${(err as Error).message}`, { cause: err });
  }
  const context =
    address === undefined ? undefined : encodeAddressContext(new Map([[change.nodeId, address]]));
  const transition = ConfChangeTransition.ConfChangeTransitionJointImplicit;
  h.rawNode.proposeConfChange({ transition, changes: [change], context });
  const index = r.raftLog.lastIndex();
  const placed = r.raftLog.entries(index, Infinity)[0];
  // Raft replaces a conf change it refuses with an empty entry.
  if (placed?.type !== EntryType.EntryConfChangeV2) throw new ErrProposalDropped();
  const waiter = new Waiter<unknown>(signal, () => h.tracker.forgetPlaced(index));
  h.tracker.addPlaced(index, placed.term, waiter);
  h.kick();
  await waiter.promise;
  return h.until(() => leftJoint(h.applier), signal);
}

function confChangeAllowed(h: MembershipHost): true | undefined {
  const refused = h.leaderOnly();
  if (refused !== undefined) throw refused;
  const r = h.rawNode.raft;
  const joint = r.trk.config.voters.outgoing.size() > 0;
  return !joint && r.pendingConfIndex <= r.raftLog.applied ? true : undefined;
}

function leftJoint(a: Applier): ConfState | undefined {
  return isJoint(a.confState) ? undefined : cloneConfState(a.confState);
}

/** transferTarget picks the voter (not self) with the highest match index; 0 if none. */
export function transferTarget(rn: RawNode, self: number): number {
  let best = 0;
  let bestMatch = -1;
  rn.raft.trk.visit((id, pr) => {
    if (id === self || pr.isLearner || pr.match <= bestMatch) return;
    best = id;
    bestMatch = pr.match;
  });
  return best;
}

/**
 * transferOutcome returns target once it leads, throws ErrTransferFailed once raft gave up
 * the transfer or another node leads, and returns undefined while the outcome is open.
 */
export function transferOutcome(rn: RawNode, self: number, target: number): number | undefined {
  const r = rn.raft;
  if (r.lead === target) return target;
  if (r.state === StateType.StateLeader && r.leadTransferee === 0) {
    throw new ErrTransferFailed(target, r.lead);
  }
  if (r.lead !== 0 && r.lead !== self) throw new ErrTransferFailed(target, r.lead);
  return undefined;
}
