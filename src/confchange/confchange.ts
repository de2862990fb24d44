import type { ConfChangeSingle } from '../raftpb/types.ts';
import { ConfChangeType, ConfChangeTypeNames } from '../raftpb/types.ts';
import { Inflights } from '../tracker/inflights.ts';
import type { ProgressMap } from '../tracker/progress.ts';
import { cloneProgressMap, Progress } from '../tracker/progress.ts';
import type { TrackerConfig } from '../tracker/tracker.ts';
import type { MajorityConfig } from '../quorum/majority.ts';

/**
 * ConfChangeError reports a configuration change that was refused; the configuration it was
 * applied to is left as it was. The message is etcd's text, e.g. `removed all voters`.
 */
export class ConfChangeError extends Error {
  /** Stable code for every refused configuration change. */
  readonly code = 'ERR_CONF_CHANGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfChangeError';
  }
}

/**
 * ChangerTracker is what a Changer reads from a ProgressTracker: the active configuration,
 * its progress map and the inflight limits for new peers. A Changer never modifies it.
 */
export interface ChangerTracker {
  readonly config: TrackerConfig;
  readonly progress: ProgressMap;
  readonly maxInflight: number;
  readonly maxInflightBytes: number;
}

/** ChangeResult is a new configuration and its progress map, ready to be installed. */
export type ChangeResult = [TrackerConfig, ProgressMap];

/**
 * Changer validates and computes membership changes (simple ones, and joint consensus per
 * Raft thesis §4.3) on top of a tracker's configuration. Every method works on copies: it
 * either returns the new configuration and progress map or throws a ConfChangeError, and
 * the tracker is never modified.
 */
export class Changer {
  /** The configuration the changes apply to. */
  readonly tracker: ChangerTracker;
  /** The leader's last log index; new peers are probed from max(lastIndex, 1). */
  lastIndex: number;

  /** Changer computes changes on top of tracker; lastIndex seeds new progresses. */
  constructor(tracker: ChangerTracker, lastIndex: number) {
    this.tracker = tracker;
    this.lastIndex = lastIndex;
  }

  /**
   * enterJoint turns `(1 2 3)` into `(1 2 3)&&(1 2 3)` and applies ccs to the incoming half,
   * giving the joint configuration C_old,new. Refused if already joint or without voters.
   */
  enterJoint(autoLeave: boolean, ...ccs: ConfChangeSingle[]): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (isJoint(cfg)) throw new ConfChangeError('config is already joint');
    const { incoming, outgoing } = cfg.voters;
    if (incoming.size() === 0) {
      // An empty config may be populated by simple changes (bootstrap) but not made joint.
      throw new ConfChangeError("can't make a zero-voter config joint");
    }
    outgoing.clear();
    for (const id of incoming) outgoing.add(id);
    this.apply(cfg, trk, ccs);
    cfg.autoLeave = autoLeave;
    return checkAndReturn(cfg, trk);
  }

  /**
   * leaveJoint drops the outgoing half of a joint configuration (C_old,new to C_new), turns
   * the staged learnersNext into learners and forgets peers that are in neither role any
   * more. Refused if the configuration is not joint.
   */
  leaveJoint(): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (!isJoint(cfg)) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of cfg.learnersNext ?? []) {
      addTo(cfg, 'learners', id);
      progressOf(trk, id).isLearner = true;
    }
    cfg.learnersNext = undefined;
    const { incoming, outgoing } = cfg.voters;
    for (const id of outgoing) {
      if (!incoming.has(id) && cfg.learners?.has(id) !== true) trk.delete(id);
    }
    outgoing.clear();
    cfg.autoLeave = false;
    return checkAndReturn(cfg, trk);
  }

  /**
   * simple applies ccs to a non-joint configuration; taken together they may change the set
   * of voters by at most one, and must leave at least one voter.
   */
  simple(...ccs: ConfChangeSingle[]): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (isJoint(cfg)) {
      throw new ConfChangeError("can't apply simple config change in joint config");
    }
    this.apply(cfg, trk, ccs);
    if (symdiff(this.tracker.config.voters.incoming, cfg.voters.incoming) > 1) {
      throw new ConfChangeError('more than one voter changed without entering joint config');
    }
    return checkAndReturn(cfg, trk);
  }

  /** apply makes each change to the incoming voters; node id 0 marks a change to skip. */
  private apply(cfg: TrackerConfig, trk: ProgressMap, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === 0) continue;
      switch (cc.type) {
        case ConfChangeType.ConfChangeAddNode:
          this.makeVoter(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeAddLearnerNode:
          this.makeLearner(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeRemoveNode:
          remove(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeUpdateNode:
          break;
        default:
          throw new ConfChangeError(`unexpected conf type ${String(cc.type)}`);
      }
    }
    if (cfg.voters.incoming.size() === 0) throw new ConfChangeError('removed all voters');
  }

  /** makeVoter adds id as an incoming voter, or promotes it from learner. */
  private makeVoter(cfg: TrackerConfig, trk: ProgressMap, id: number): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, false);
      return;
    }
    pr.isLearner = false;
    deleteFrom(cfg, 'learners', id);
    deleteFrom(cfg, 'learnersNext', id);
    cfg.voters.incoming.add(id);
  }

  /**
   * makeLearner adds id as a learner, or demotes it from incoming voter. A peer that is still
   * an outgoing voter cannot be a learner at the same time, so it is staged in learnersNext
   * until leaveJoint.
   */
  private makeLearner(cfg: TrackerConfig, trk: ProgressMap, id: number): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, true);
      return;
    }
    if (pr.isLearner) return;
    remove(cfg, trk, id);
    trk.set(id, pr);
    if (cfg.voters.outgoing.has(id)) {
      addTo(cfg, 'learnersNext', id);
    } else {
      pr.isLearner = true;
      addTo(cfg, 'learners', id);
    }
  }

  /** initProgress adds a new peer, probed from the last index and considered active. */
  private initProgress(cfg: TrackerConfig, trk: ProgressMap, id: number, isLearner: boolean) {
    if (isLearner) addTo(cfg, 'learners', id);
    else cfg.voters.incoming.add(id);
    const pr = new Progress({
      match: 0,
      next: Math.max(this.lastIndex, 1),
      inflights: new Inflights(this.tracker.maxInflight, this.tracker.maxInflightBytes),
      isLearner,
      // Active from the start, so that a quorum check right after the change does not
      // count the newcomer as down.
      recentActive: true,
    });
    trk.set(id, pr);
  }

  /** checkAndCopy copies the tracker's config and progress after checking their invariants. */
  private checkAndCopy(): ChangeResult {
    // clone() also normalises empty learner sets to undefined.
    const cfg = this.tracker.config.clone();
    return checkAndReturn(cfg, cloneProgressMap(this.tracker.progress));
  }
}

/** remove drops id from the incoming voters and the learners; an outgoing voter keeps its Progress. */
function remove(cfg: TrackerConfig, trk: ProgressMap, id: number): void {
  if (!trk.has(id)) return;
  cfg.voters.incoming.delete(id);
  deleteFrom(cfg, 'learners', id);
  deleteFrom(cfg, 'learnersNext', id);
  if (!cfg.voters.outgoing.has(id)) trk.delete(id);
}

/** checkAndReturn returns [cfg, trk] if they are consistent, else throws a ConfChangeError. */
function checkAndReturn(cfg: TrackerConfig, trk: ProgressMap): ChangeResult {
  checkInvariants(cfg, trk);
  return [cfg, trk];
}

/**
 * checkInvariants verifies that config and progress map agree: every member has a Progress,
 * learners are disjoint from voters and flagged as learners, staged learners are outgoing
 * voters, and a non-joint config has neither staged learners nor autoLeave. The empty config
 * is allowed (it is where bootstrap starts).
 */
function checkInvariants(cfg: TrackerConfig, trk: ProgressMap): void {
  const { incoming, outgoing } = cfg.voters;
  for (const ids of [incoming, outgoing, cfg.learners ?? [], cfg.learnersNext ?? []]) {
    for (const id of ids) {
      if (!trk.has(id)) throw new ConfChangeError(`no progress for ${id}`);
    }
  }
  for (const id of cfg.learnersNext ?? []) {
    if (!outgoing.has(id)) {
      throw new ConfChangeError(`${id} is in LearnersNext, but not Voters[1]`);
    }
    if (progressOf(trk, id).isLearner) {
      throw new ConfChangeError(`${id} is in LearnersNext, but is already marked as learner`);
    }
  }
  for (const id of cfg.learners ?? []) {
    if (outgoing.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[1]`);
    if (incoming.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[0]`);
    if (!progressOf(trk, id).isLearner) {
      throw new ConfChangeError(`${id} is in Learners, but is not marked as learner`);
    }
  }
  if (!isJoint(cfg)) {
    if (cfg.learnersNext !== undefined) {
      throw new ConfChangeError('cfg.LearnersNext must be nil when not joint');
    }
    if (cfg.autoLeave) throw new ConfChangeError('AutoLeave must be false when not joint');
  }
}

function isJoint(cfg: TrackerConfig): boolean {
  return cfg.voters.outgoing.size() > 0;
}

function progressOf(trk: ProgressMap, id: number): Progress {
  const pr = trk.get(id);
  if (pr === undefined) throw new ConfChangeError(`no progress for ${id}`);
  return pr;
}

type LearnerSet = 'learners' | 'learnersNext';

/** addTo adds id to a learner set of cfg, creating the set if absent. */
function addTo(cfg: TrackerConfig, key: LearnerSet, id: number): void {
  (cfg[key] ??= new Set()).add(id);
}

/** deleteFrom removes id from a learner set of cfg, dropping the set when it empties. */
function deleteFrom(cfg: TrackerConfig, key: LearnerSet, id: number): void {
  const s = cfg[key];
  if (s === undefined) return;
  s.delete(id);
  if (s.size === 0) cfg[key] = undefined;
}

/** symdiff counts the ids that are in exactly one of a and b. */
function symdiff(a: MajorityConfig, b: MajorityConfig): number {
  let n = 0;
  for (const id of a) if (!b.has(id)) n++;
  for (const id of b) if (!a.has(id)) n++;
  return n;
}

/** describeChanges prints changes as `ConfChangeAddNode(1) ConfChangeRemoveNode(2)`. */
export function describeChanges(ccs: readonly ConfChangeSingle[]): string {
  return ccs.map((cc) => `${ConfChangeTypeNames[cc.type] ?? cc.type}(${cc.nodeId})`).join(' ');
}
