import type { ConfChangeSingle, ConfState } from '../raftpb/types.ts';
import { ConfChangeType } from '../raftpb/types.ts';
import type { ProgressMap } from '../tracker/progress.ts';
import { cloneProgressMap } from '../tracker/progress.ts';
import type { TrackerConfig } from '../tracker/tracker.ts';
import type { ChangeResult, ChangerTracker } from './confchange.ts';
import { Changer } from './confchange.ts';

/** RestorePlan is the pair of change lists that rebuild a ConfState (see toConfChangeSingle). */
export interface RestorePlan {
  /** Adds every outgoing voter: applied one by one, they build the outgoing config. */
  outgoing: ConfChangeSingle[];
  /**
   * Applied on top of `outgoing` while entering the joint config (or one by one if
   * `outgoing` is empty): removes the outgoing voters, then adds the voters, the learners
   * and the staged learners (learnersNext) of the ConfState.
   */
  incoming: ConfChangeSingle[];
}

/**
 * toConfChangeSingle plans how to reach cs from an empty configuration. For
 * `voters=(1 2 3)&&(1 2 4 6) learners=(5) learners_next=(4)` it returns outgoing =
 * `v1 v2 v4 v6` and incoming = `r1 r2 r4 r6 v1 v2 v3 l5 l4`: the outgoing voters become the
 * active config first, and entering the joint config with the incoming changes moves them to
 * the outgoing half. Whether a learner already existed before the joint config cannot be
 * told from cs and does not matter.
 */
export function toConfChangeSingle(cs: ConfState): RestorePlan {
  const change = (type: ConfChangeType) => (nodeId: number) => ({ type, nodeId });
  const add = change(ConfChangeType.ConfChangeAddNode);
  const addLearner = change(ConfChangeType.ConfChangeAddLearnerNode);
  const removeNode = change(ConfChangeType.ConfChangeRemoveNode);
  return {
    outgoing: cs.votersOutgoing.map(add),
    incoming: [
      ...cs.votersOutgoing.map(removeNode),
      ...cs.voters.map(add),
      ...cs.learners.map(addLearner),
      ...cs.learnersNext.map(addLearner),
    ],
  };
}

/**
 * restore builds the configuration described by cs, starting from the changer's tracker
 * (which should hold the empty configuration), through a sequence of simple changes and, for
 * a joint cs, a final enterJoint. It returns the new config and progress map and throws a
 * ConfChangeError if a step is refused; the changer's tracker is left untouched.
 */
export function restore(chg: Changer, cs: ConfState): ChangeResult {
  const { outgoing, incoming } = toConfChangeSingle(cs);
  const steps: ((c: Changer) => ChangeResult)[] = [];
  if (outgoing.length === 0) {
    for (const cc of incoming) steps.push((c) => c.simple(cc));
  } else {
    for (const cc of outgoing) steps.push((c) => c.simple(cc));
    steps.push((c) => c.enterJoint(cs.autoLeave, ...incoming));
  }
  return chain(chg, steps);
}

/** chain runs steps in order, each on the result of the previous one. */
function chain(chg: Changer, steps: readonly ((c: Changer) => ChangeResult)[]): ChangeResult {
  const t = chg.tracker;
  let config: TrackerConfig = t.config.clone();
  let progress: ProgressMap = cloneProgressMap(t.progress);
  for (const step of steps) {
    const scratch: ChangerTracker = {
      config,
      progress,
      maxInflight: t.maxInflight,
      maxInflightBytes: t.maxInflightBytes,
    };
    [config, progress] = step(new Changer(scratch, chg.lastIndex));
  }
  return [config, progress];
}
