import {
  EntryType,
  MessageType,
  MessageTypeNames,
  isEmptyHardState,
  isEmptySnap,
  newMessage,
} from '../raftpb/types.ts';
import type {
  ConfChange,
  ConfChangeV2,
  ConfState,
  Entry,
  HardState,
  Message,
  Snapshot,
} from '../raftpb/types.ts';
import { decodeConfChange, decodeConfChangeV2 } from '../raftpb/codec.ts';
import { confChangeAsV2, enterJoint, leaveJoint } from '../raftpb/confchange.ts';
import { VoteResult } from '../quorum/quorum.ts';
import { ProgressTracker } from '../tracker/tracker.ts';
import type { ProgressMap, TrackerConfig } from '../tracker/tracker.ts';
import { Progress } from '../tracker/progress.ts';
import { StateType as PrState } from '../tracker/state.ts';
import { Changer } from '../confchange/confchange.ts';
import { restore as restoreConfState } from '../confchange/restore.ts';
import { ReadOnlyOption } from './config.ts';
import type { Config } from './config.ts';
import {
  ErrConfigInvalid,
  ErrProposalDropped,
  ErrSnapshotTemporarilyUnavailable,
} from './errors.ts';
import { newLogWithSize } from './log.ts';
import type { RaftLog } from './log.ts';
import { consoleLogger, raftPanic } from './logger.ts';
import type { Logger } from './logger.ts';
import { ReadOnly } from './read_only.ts';
import type { ReadState, SoftState } from './ready.ts';
import { StateType, StateTypeNames } from './ready.ts';
import { describeConfChangeLong } from './describe.ts';
import {
  None,
  assertConfStatesEquivalent,
  entsSize,
  hexId,
  isLocalMsgTarget,
  noLimit,
  payloadsSize,
  voteRespMsgType,
} from './util.ts';
import type { entryID } from './types.ts';

export { None };

/** CampaignType names the kind of an election. */
export const CampaignType = {
  /** campaignPreElection is the first phase of an election when preVote is on. */
  campaignPreElection: 'CampaignPreElection',
  /** campaignElection is a normal, time-based election. */
  campaignElection: 'CampaignElection',
  /** campaignTransfer is an election forced by a leadership transfer. */
  campaignTransfer: 'CampaignTransfer',
} as const;
/** CampaignType is the kind of an election. */
export type CampaignType = (typeof CampaignType)[keyof typeof CampaignType];

const campaignTransferCtx = new TextEncoder().encode(CampaignType.campaignTransfer);

type StepFunc = (r: Raft, m: Message) => void;

/** ResolvedConfig is a Config after validation, with defaults filled in. */
interface ResolvedConfig extends Config {
  maxSizePerMsg: number;
  maxCommittedSizePerReady: number;
  maxUncommittedEntriesSize: number;
  maxInflightBytes: number;
  logger: Logger;
  readOnlyOption: ReadOnlyOption;
  randomIntn: (n: number) => number;
}

/** validateConfig checks a Config and returns it with defaults filled in, or throws. */
export function validateConfig(c: Config): ResolvedConfig {
  const fail = (msg: string): never => {
    throw new ErrConfigInvalid(msg);
  };
  if (c.id === None) fail('cannot use none as id');
  if (isLocalMsgTarget(c.id)) fail('cannot use local target as id');
  if (!Number.isSafeInteger(c.id) || c.id < 0) fail(`id ${c.id} is not a safe unsigned integer`);
  if (c.heartbeatTick <= 0) fail('heartbeat tick must be greater than 0');
  if (c.electionTick <= c.heartbeatTick) fail('election tick must be greater than heartbeat tick');
  if (c.maxInflightMsgs <= 0) fail('max inflight messages must be greater than 0');
  const maxSizePerMsg = c.maxSizePerMsg ?? 0;
  let maxInflightBytes = c.maxInflightBytes ?? 0;
  if (maxInflightBytes === 0) maxInflightBytes = noLimit;
  else if (maxInflightBytes < maxSizePerMsg) fail('max inflight bytes must be >= max message size');
  const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.ReadOnlySafe;
  if (readOnlyOption === ReadOnlyOption.ReadOnlyLeaseBased && c.checkQuorum !== true) {
    fail('CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased');
  }
  const maxUncommitted = c.maxUncommittedEntriesSize ?? 0;
  const maxCommitted = c.maxCommittedSizePerReady ?? 0;
  return {
    ...c,
    maxSizePerMsg,
    // With both limits at 0 ("one entry per message"), hand out one committed entry per
    // Ready instead of failing: a limit of 1 byte still admits one entry (etcd panics here).
    maxCommittedSizePerReady: Math.max(1, maxCommitted === 0 ? maxSizePerMsg : maxCommitted),
    maxUncommittedEntriesSize: maxUncommitted === 0 ? noLimit : maxUncommitted,
    maxInflightBytes,
    logger: c.logger ?? consoleLogger,
    readOnlyOption,
    randomIntn: c.randomIntn ?? seededIntn(c.id),
  };
}

/** seededIntn returns a small deterministic PRNG (mulberry32) for election timeouts. */
function seededIntn(seed: number): (n: number) => number {
  let s = (seed * 0x9e3779b1) >>> 0;
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(u * n);
  };
}

function typeName(t: MessageType): string {
  return MessageTypeNames[t] ?? `MessageType(${t})`;
}

/**
 * Raft is the consensus state machine of one node (etcd-raft's `raft` struct). It is driven
 * by step() and tick(), and its output is collected in msgs, msgsAfterAppend, readStates and
 * the raftLog's unstable part. Use RawNode rather than Raft directly.
 */
export class Raft {
  id: number;
  term = 0;
  vote = 0;
  readStates: ReadState[] = [];
  raftLog: RaftLog;
  /** maxMsgSize bounds the entry bytes of one MsgApp. */
  maxMsgSize: number;
  /** maxUncommittedSize bounds uncommittedSize (payload bytes). */
  maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateType = StateType.StateFollower;
  /** isLearner is true when the local node is a learner in the current config. */
  isLearner = false;
  /** msgs are to be sent right away. */
  msgs: Message[] = [];
  /**
   * msgsAfterAppend are to be sent only after the unstable entries and hard state of the
   * same Ready are durable (Raft thesis §10.2.1: the leader may append in parallel).
   */
  msgsAfterAppend: Message[] = [];
  /** lead is the id of the leader, or None. */
  lead = None;
  /** leadTransferee is the target of a leadership transfer in progress, or None. */
  leadTransferee = None;
  /**
   * pendingConfIndex is an index at or after the last proposed conf change; a new change may
   * only be proposed once the applied index is at or past it.
   */
  pendingConfIndex = 0;
  disableConfChangeValidation: boolean;
  /** uncommittedSize is the payload bytes of the leader's uncommitted tail (approximate). */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** electionElapsed counts ticks since the last election timeout or valid leader message. */
  electionElapsed = 0;
  /** heartbeatElapsed counts a leader's ticks since its last heartbeat. */
  heartbeatElapsed = 0;
  checkQuorum: boolean;
  preVote: boolean;
  heartbeatTimeout: number;
  electionTimeout: number;
  /** randomizedElectionTimeout is in [electionTimeout, 2*electionTimeout). */
  randomizedElectionTimeout = 0;
  disableProposalForwarding: boolean;
  stepDownOnRemoval: boolean;
  tick: () => void;
  stepFn: StepFunc;
  logger: Logger;
  /** pendingReadIndexMessages wait for the first commit of the leader's term. */
  pendingReadIndexMessages: Message[] = [];
  private readonly randomIntn: (n: number) => number;

  constructor(config: Config) {
    const c = validateConfig(config);
    this.id = c.id;
    this.logger = c.logger;
    this.randomIntn = c.randomIntn;
    this.raftLog = newLogWithSize(c.storage, c.logger, c.maxCommittedSizePerReady);
    const { hardState, confState } = c.storage.initialState();
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize;
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.readOnly = new ReadOnly(c.readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.disableConfChangeValidation = c.disableConfChangeValidation ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? false;
    this.tick = this.tickElection;
    this.stepFn = stepFollower;

    const last = this.raftLog.lastEntryID();
    const [cfg, prs] = restoreConfState(new Changer(this.trk, last.index), confState);
    assertConfStatesEquivalent(this.logger, confState, this.switchToConfig(cfg, prs));

    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    const applied = c.applied ?? 0;
    if (applied > 0) this.raftLog.appliedTo(applied, 0);
    this.becomeFollower(this.term, None);

    const peers = this.trk
      .voterNodes()
      .map((n) => hexId(n))
      .join(',');
    this.logger.info(
      `newRaft ${hexId(this.id)} [peers: [${peers}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${last.index}, lastterm: ${last.term}]`,
    );
  }

  /** hasLeader reports whether the node knows a leader. */
  hasLeader(): boolean {
    return this.lead !== None;
  }

  /** softState returns the volatile state. */
  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  /** hardState returns the state that must be persisted. */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /**
   * send queues a message. Vote messages carry their own term; everything else gets the
   * node's term, except proposals and read-index requests, which are forwarded with term 0.
   */
  send(m: Message): void {
    if (m.from === None) m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      if (m.term === 0) raftPanic(this.logger, `term should be set when sending ${typeName(t)}`);
    } else {
      if (m.term !== 0) {
        raftPanic(
          this.logger,
          `term should not be set when sending ${typeName(t)} (was ${m.term})`,
        );
      }
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (
      t === MessageType.MsgAppResp ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVoteResp
    ) {
      // Responses that acknowledge log or vote state go out only once that state is durable.
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id) {
        raftPanic(this.logger, `message should not be self-addressed when sending ${typeName(t)}`);
      }
      this.msgs.push(m);
    }
  }

  /** sendAppend sends an append (or a snapshot) to a peer, even if it carries no entries. */
  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * maybeSendAppend sends an append with new entries to `to` unless its progress is paused.
   * With sendIfEmpty false, nothing is sent when there are no entries to send. It returns
   * whether a message was sent.
   */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    try {
      prevTerm = this.raftLog.term(prevIndex);
    } catch {
      return this.maybeSendSnapshot(to, pr);
    }
    let ents: Entry[] = [];
    if (pr.state !== PrState.StateReplicate || !pr.inflights.full()) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch {
        return this.maybeSendSnapshot(to, pr);
      }
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const commit = this.raftLog.committed;
    this.send(
      newMessage({
        to,
        type: MessageType.MsgApp,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit,
      }),
    );
    pr.sentEntries(ents.length, payloadsSize(ents));
    pr.sentCommit(commit);
    return true;
  }

  /** maybeSendSnapshot sends the storage's snapshot to a recently active peer. */
  maybeSendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug(`ignore sending snapshot to ${hexId(to)} since it is not recently active`);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (err) {
      if (err instanceof ErrSnapshotTemporarilyUnavailable) {
        this.logger.debug(
          `${hexId(this.id)} failed to send snapshot to ${hexId(to)} because snapshot is temporarily unavailable`,
        );
        return false;
      }
      throw err;
    }
    if (isEmptySnap(snapshot)) raftPanic(this.logger, 'need non-empty snapshot');
    const { index: sindex, term: sterm } = snapshot.metadata;
    this.logger.debug(
      `${hexId(this.id)} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${sindex}, term: ${sterm}] to ${hexId(to)} [${pr.toString()}]`,
    );
    pr.becomeSnapshot(sindex);
    this.logger.debug(
      `${hexId(this.id)} paused sending replication messages to ${hexId(to)} [${pr.toString()}]`,
    );
    this.send(newMessage({ to, type: MessageType.MsgSnap, snapshot }));
    return true;
  }

  /** sendHeartbeat sends a heartbeat; the commit index is capped at what the peer has. */
  sendHeartbeat(to: number, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to);
    if (pr === undefined) return;
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(newMessage({ to, type: MessageType.MsgHeartbeat, commit, context: ctx }));
    pr.sentCommit(commit);
  }

  /** bcastAppend sends appends to every peer in ascending id order. */
  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  /** bcastHeartbeat sends heartbeats to every peer, carrying the pending read context. */
  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.heartbeatCtx());
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  /** appliedTo records that entries up to index were applied; it may leave a joint config. */
  appliedTo(index: number, size: number): void {
    const oldApplied = this.raftLog.applied;
    const newApplied = Math.max(index, oldApplied);
    this.raftLog.appliedTo(newApplied, size);
    if (
      this.trk.config.autoLeave &&
      newApplied >= this.pendingConfIndex &&
      this.state === StateType.StateLeader
    ) {
      // The joint config was entered with auto-leave: propose the empty change that leaves
      // it, now that the entering change is applied (Raft thesis §4.3).
      const m = newMessage({
        type: MessageType.MsgProp,
        entries: [{ term: 0, index: 0, type: EntryType.EntryConfChangeV2, data: undefined }],
      });
      try {
        this.step(m);
        this.logger.info(
          `initiating automatic transition out of joint configuration ${this.trk.config.toString()}`,
        );
      } catch (err) {
        this.logger.debug(
          `not initiating automatic transition out of joint configuration ${this.trk.config.toString()}: ${errText(err)}`,
        );
      }
    }
  }

  /** appliedSnap records that a snapshot was applied to storage and the state machine. */
  appliedSnap(snap: Snapshot): void {
    const index = snap.metadata.index;
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  /** maybeCommit advances the commit index to the quorum's acked index, if in this term. */
  maybeCommit(): boolean {
    return this.raftLog.maybeCommit({ term: this.term, index: this.trk.committed() });
  }

  /** reset clears the per-term state when the node changes role or term. */
  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      pr.resetForNewTerm(id === this.id ? lastIndex : 0, lastIndex + 1);
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  /**
   * appendEntry appends entries to the leader's log with the current term and the next
   * indexes, and queues the leader's own MsgAppResp. It refuses them when they would push the
   * uncommitted tail over maxUncommittedSize.
   */
  appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const stamped: Entry[] = new Array<Entry>(es.length);
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      stamped[i] = { term: this.term, index: li + 1 + i, type: e.type, data: e.data };
    }
    if (!this.increaseUncommittedSize(stamped)) {
      this.logger.warning(
        `${hexId(this.id)} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`,
      );
      return false;
    }
    li = this.raftLog.append(stamped);
    this.send(newMessage({ to: this.id, type: MessageType.MsgAppResp, index: li }));
    return true;
  }

  /** tickElection is the tick of followers and candidates. */
  tickElection = (): void => {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      try {
        this.step(newMessage({ from: this.id, type: MessageType.MsgHup }));
      } catch (err) {
        this.logger.debug(`error occurred during election: ${errText(err)}`);
      }
    }
  };

  /** tickHeartbeat is the tick of leaders: heartbeats, and the check-quorum timer. */
  tickHeartbeat = (): void => {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        try {
          this.step(newMessage({ from: this.id, type: MessageType.MsgCheckQuorum }));
        } catch (err) {
          this.logger.debug(`error occurred during checking sending heartbeat: ${errText(err)}`);
        }
      }
      // A transfer that did not finish within an election timeout is abandoned (§3.10).
      if (this.state === StateType.StateLeader && this.leadTransferee !== None) {
        this.abortLeaderTransfer();
      }
    }
    if (this.state !== StateType.StateLeader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      try {
        this.step(newMessage({ from: this.id, type: MessageType.MsgBeat }));
      } catch (err) {
        this.logger.debug(`error occurred during checking sending heartbeat: ${errText(err)}`);
      }
    }
  };

  becomeFollower(term: number, lead: number): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tick = this.tickElection;
    this.lead = lead;
    this.state = StateType.StateFollower;
    this.logger.info(`${hexId(this.id)} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === StateType.StateLeader) {
      raftPanic(this.logger, 'invalid transition [leader -> candidate]');
    }
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tick = this.tickElection;
    this.vote = this.id;
    this.state = StateType.StateCandidate;
    this.logger.info(`${hexId(this.id)} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === StateType.StateLeader) {
      raftPanic(this.logger, 'invalid transition [leader -> pre-candidate]');
    }
    // A pre-candidate changes neither its term nor its vote (Raft thesis §9.6).
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tick = this.tickElection;
    this.lead = None;
    this.state = StateType.StatePreCandidate;
    this.logger.info(`${hexId(this.id)} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === StateType.StateFollower) {
      raftPanic(this.logger, 'invalid transition [follower -> leader]');
    }
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tick = this.tickHeartbeat;
    this.lead = this.id;
    this.state = StateType.StateLeader;
    const pr = this.trk.progress.get(this.id);
    if (pr !== undefined) {
      // The leader's own progress is always in replicate state: it has all its entries.
      pr.becomeReplicate();
      pr.recentActive = true;
    }
    // Conservatively treat every entry up to the last index as a possible conf change, so no
    // new change is proposed before the log so far is applied.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The empty entry commits entries of earlier terms (Raft thesis §3.6.2, §6.4).
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.EntryNormal, data: undefined }])) {
      raftPanic(this.logger, 'empty entry was dropped');
    }
    this.logger.info(`${hexId(this.id)} became leader at term ${this.term}`);
  }

  hup(t: CampaignType): void {
    if (this.state === StateType.StateLeader) {
      this.logger.debug(`${hexId(this.id)} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warning(`${hexId(this.id)} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warning(
        `${hexId(this.id)} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`,
      );
      return;
    }
    this.logger.info(`${hexId(this.id)} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  /** hasUnappliedConfChanges scans the committed but unapplied entries for conf changes. */
  hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    let found = false;
    const lo = log.applied + 1;
    const hi = log.committed + 1;
    log.scan(lo, hi, log.maxApplyingEntsSize, (ents: Entry[]) => {
      for (const e of ents) {
        if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) {
          found = true;
          return false;
        }
      }
      return true;
    });
    return found;
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warning(`${hexId(this.id)} is unpromotable; campaign() should have been called`);
    }
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.campaignPreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // Pre-votes are requested for the next term without incrementing ours.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    const ids = [...this.trk.config.voters.ids()].sort((a, b) => a - b);
    for (const id of ids) {
      if (id === this.id) {
        // The self-vote is recorded once the vote is durable, via the after-append queue.
        this.send(newMessage({ to: id, term, type: voteRespMsgType(voteMsg) }));
        continue;
      }
      const last = this.raftLog.lastEntryID();
      this.logger.info(
        `${hexId(this.id)} [logterm: ${last.term}, index: ${last.index}] sent ${typeName(voteMsg)} request to ${hexId(id)} at term ${this.term}`,
      );
      const ctx = t === CampaignType.campaignTransfer ? campaignTransferCtx : undefined;
      this.send(
        newMessage({
          to: id,
          term,
          type: voteMsg,
          index: last.index,
          logTerm: last.term,
          context: ctx,
        }),
      );
    }
  }

  poll(
    id: number,
    t: MessageType,
    v: boolean,
  ): { granted: number; rejected: number; result: VoteResult } {
    if (v) {
      this.logger.info(
        `${hexId(this.id)} received ${typeName(t)} from ${hexId(id)} at term ${this.term}`,
      );
    } else {
      this.logger.info(
        `${hexId(this.id)} received ${typeName(t)} rejection from ${hexId(id)} at term ${this.term}`,
      );
    }
    this.trk.recordVote(id, v);
    return this.trk.tallyVotes();
  }

  /**
   * step is the entry point of every message: it handles terms (Raft §5.1), votes, and the
   * local storage acknowledgements, and hands the rest to the role's step function. It throws
   * ErrProposalDropped when a proposal cannot be accepted.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message.
    } else if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }
    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? CampaignType.campaignPreElection : CampaignType.campaignElection);
        break;
      case MessageType.MsgStorageAppendResp:
        if (m.index !== 0) this.raftLog.stableTo({ term: m.logTerm, index: m.index });
        if (m.snapshot !== undefined) this.appliedSnap(m.snapshot);
        break;
      case MessageType.MsgStorageApplyResp:
        if (m.entries.length > 0) {
          const index = m.entries[m.entries.length - 1]!.index;
          this.appliedTo(index, entsSize(m.entries));
          this.reduceUncommittedSize(payloadsSize(m.entries));
        }
        break;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote:
        this.stepVoteRequest(m);
        break;
      default:
        this.stepFn(this, m);
    }
  }

  /** stepHigherTerm handles a message of a higher term; false means "ignore the message". */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
      const force = bytesEqual(m.context, campaignTransferCtx);
      const inLease =
        this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
      if (!force && inLease) {
        // A leader that heard from its quorum recently is still in its lease: refuse to be
        // disrupted by a removed or partitioned server (Raft thesis §4.2.3).
        const last = this.raftLog.lastEntryID();
        this.logger.info(
          `${hexId(this.id)} [logterm: ${last.term}, index: ${last.index}, vote: ${hexId(this.vote)}] ignored ${typeName(m.type)} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
        );
        return false;
      }
    }
    if (m.type === MessageType.MsgPreVote) {
      // Never change the term when receiving a pre-vote request.
    } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
      // A granted pre-vote carries the future term; the term changes once the election wins.
    } else {
      this.logger.info(
        `${hexId(this.id)} [term: ${this.term}] received a ${typeName(m.type)} message with higher term from ${hexId(m.from)} [term: ${m.term}]`,
      );
      if (
        m.type === MessageType.MsgApp ||
        m.type === MessageType.MsgHeartbeat ||
        m.type === MessageType.MsgSnap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, None);
      }
    }
    return true;
  }

  /** stepLowerTerm handles a message of a lower term. */
  private stepLowerTerm(m: Message): void {
    if (
      (this.checkQuorum || this.preVote) &&
      (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)
    ) {
      // A leader cut off by a partition (and so stuck in a lower term) would never learn of
      // the higher term otherwise: tell it, so it steps down.
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp }));
    } else if (m.type === MessageType.MsgPreVote) {
      const last = this.raftLog.lastEntryID();
      this.logger.info(
        `${hexId(this.id)} [logterm: ${last.term}, index: ${last.index}, vote: ${hexId(this.vote)}] rejected ${typeName(m.type)} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      this.send(
        newMessage({ to: m.from, term: this.term, type: MessageType.MsgPreVoteResp, reject: true }),
      );
    } else if (m.type === MessageType.MsgStorageAppendResp) {
      if (m.index !== 0) {
        this.logger.info(
          `${hexId(this.id)} [term: ${this.term}] ignored entry appends from a ${typeName(m.type)} message with lower term [term: ${m.term}]`,
        );
      }
      if (m.snapshot !== undefined) this.appliedSnap(m.snapshot);
    } else {
      this.logger.info(
        `${hexId(this.id)} [term: ${this.term}] ignored a ${typeName(m.type)} message with lower term from ${hexId(m.from)} [term: ${m.term}]`,
      );
    }
  }

  /** stepVoteRequest grants or refuses a vote or pre-vote (Raft §5.2, §5.4.1). */
  private stepVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === None && this.lead === None) ||
      (m.type === MessageType.MsgPreVote && m.term > this.term);
    const last = this.raftLog.lastEntryID();
    const cand: entryID = { term: m.logTerm, index: m.index };
    const verb = canVote && this.raftLog.isUpToDate(cand) ? 'cast' : 'rejected';
    this.logger.info(
      `${hexId(this.id)} [logterm: ${last.term}, index: ${last.index}, vote: ${hexId(this.vote)}] ${verb} ${typeName(m.type)} ${verb === 'cast' ? 'for' : 'from'} ${hexId(m.from)} [logterm: ${cand.term}, index: ${cand.index}] at term ${this.term}`,
    );
    if (verb === 'cast') {
      // The response carries the request's term: for a pre-vote that is the future term.
      this.send(newMessage({ to: m.from, term: m.term, type: voteRespMsgType(m.type) }));
      if (m.type === MessageType.MsgVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(
        newMessage({ to: m.from, term: this.term, type: voteRespMsgType(m.type), reject: true }),
      );
    }
  }

  /** handleAppendEntries appends a leader's entries, or rejects them with a hint (§5.3). */
  handleAppendEntries(m: Message): void {
    const log = this.raftLog;
    if (m.index < log.committed) {
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: log.committed }));
      return;
    }
    const lastNew = log.maybeAppend(
      { term: m.term, prev: { term: m.logTerm, index: m.index }, entries: m.entries },
      m.commit,
    );
    if (lastNew !== undefined) {
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: lastNew }));
      return;
    }
    this.logger.debug(
      `${hexId(this.id)} [logterm: ${log.zeroTermOnOutOfBounds(() => log.term(m.index))}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${hexId(m.from)}`,
    );
    // The hint is the largest index at or below the probe whose term is <= the probe's term:
    // the leader can skip every index above it in one round trip (§5.3 optimization).
    const [hintIndex, hintTerm] = log.findConflictByTerm(
      Math.min(m.index, log.lastIndex()),
      m.logTerm,
    );
    this.send(
      newMessage({
        to: m.from,
        type: MessageType.MsgAppResp,
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        logTerm: hintTerm,
      }),
    );
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ to: m.from, type: MessageType.MsgHeartbeatResp, context: m.context }));
  }

  handleSnapshot(m: Message): void {
    const s = m.snapshot ?? emptySnapshotValue();
    const { index: sindex, term: sterm } = s.metadata;
    if (this.restore(s)) {
      this.logger.info(
        `${hexId(this.id)} [commit: ${this.raftLog.committed}] restored snapshot [index: ${sindex}, term: ${sterm}]`,
      );
      this.send(
        newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.lastIndex() }),
      );
    } else {
      this.logger.info(
        `${hexId(this.id)} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${sindex}, term: ${sterm}]`,
      );
      this.send(
        newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed }),
      );
    }
  }

  /**
   * restore replaces the log with a snapshot when it is ahead of the commit index. It
   * returns false when the snapshot was ignored (or only fast-forwarded the commit index).
   */
  restore(s: Snapshot): boolean {
    const md = s.metadata;
    if (md.index <= this.raftLog.committed) return false;
    if (this.raftLog.applying > this.raftLog.applied) {
      // Entries handed out for applying (maybe a conf change) are not applied yet: installing
      // the snapshot's configuration now would put it ahead of them, and applying them after
      // it would fail or go wrong. Ignore it; the leader sends it again (found by the sim).
      return false;
    }
    if (this.state !== StateType.StateFollower) {
      // Defensive: only followers get snapshots; step down into a new term to be safe.
      this.logger.warning(
        `${hexId(this.id)} attempted to restore snapshot as leader; should never happen`,
      );
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    const cs = md.confState;
    const found =
      cs.voters.includes(this.id) ||
      cs.learners.includes(this.id) ||
      cs.votersOutgoing.includes(this.id);
    if (!found) {
      this.logger.warning(
        `${hexId(this.id)} attempted to restore snapshot but it is not in the ConfState ${JSON.stringify(cs)}; should never happen`,
      );
      return false;
    }
    const id: entryID = { term: md.term, index: md.index };
    if (this.raftLog.matchTerm(id)) {
      // The log already has the snapshot's last entry: just advance the commit index.
      const last = this.raftLog.lastEntryID();
      this.logger.info(
        `${hexId(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${last.index}, lastterm: ${last.term}] fast-forwarded commit to snapshot [index: ${id.index}, term: ${id.term}]`,
      );
      this.raftLog.commitTo(md.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    const [cfg, prs] = restoreConfState(new Changer(this.trk, this.raftLog.lastIndex()), cs);
    assertConfStatesEquivalent(this.logger, cs, this.switchToConfig(cfg, prs));
    const last = this.raftLog.lastEntryID();
    this.logger.info(
      `${hexId(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${last.index}, lastterm: ${last.term}] restored snapshot [index: ${id.index}, term: ${id.term}]`,
    );
    return true;
  }

  /** promotable reports whether this node can become leader. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  /** applyConfChange applies a committed conf change and returns the new ConfState. */
  applyConfChange(cc: ConfChangeV2): ConfState {
    const changer = new Changer(this.trk, this.raftLog.lastIndex());
    let result: [TrackerConfig, ProgressMap];
    if (leaveJoint(cc)) {
      result = changer.leaveJoint();
    } else {
      const { autoLeave, ok } = enterJoint(cc);
      result = ok ? changer.enterJoint(autoLeave, ...cc.changes) : changer.simple(...cc.changes);
    }
    return this.switchToConfig(result[0], result[1]);
  }

  /**
   * switchToConfig installs a new configuration and its progress map, then commits what the
   * new quorum allows and probes new peers. It returns the resulting ConfState.
   */
  switchToConfig(cfg: TrackerConfig, prs: ProgressMap): ConfState {
    this.trk.config = cfg;
    this.trk.progress = prs;
    this.logger.info(`${hexId(this.id)} switched to configuration ${cfg.toString()}`);
    const cs = this.trk.confState();
    const pr = prs.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((pr === undefined || this.isLearner) && this.state === StateType.StateLeader) {
      // A removed or demoted leader keeps leading until it steps down, unless told to step
      // down right away: it still replicates the change that removed it (Raft thesis §4.2.2).
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, None);
      return cs;
    }
    if (this.state !== StateType.StateLeader || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== None && !this.trk.config.voters.ids().has(this.leadTransferee)) {
      this.abortLeaderTransfer();
    }
    return cs;
  }

  /** loadState installs a persisted HardState at startup. */
  loadState(state: HardState): void {
    if (state.commit < this.raftLog.committed || state.commit > this.raftLog.lastIndex()) {
      raftPanic(
        this.logger,
        `${hexId(this.id)} state.commit ${state.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = state.commit;
    this.term = state.term;
    this.vote = state.vote;
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  /** resetRandomizedElectionTimeout picks a timeout in [electionTimeout, 2*electionTimeout). */
  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.randomIntn(this.electionTimeout);
  }

  sendTimeoutNow(to: number): void {
    this.send(newMessage({ to, type: MessageType.MsgTimeoutNow }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  /** committedEntryInCurrentTerm: a new leader serves reads only after this (§6.4). */
  committedEntryInCurrentTerm(): boolean {
    const log = this.raftLog;
    return log.zeroTermOnOutOfBounds(() => log.term(log.committed)) === this.term;
  }

  /**
   * responseToReadIndexReq answers a read request: a local one becomes a ReadState (and the
   * returned message has to = None); a forwarded one becomes a MsgReadIndexResp.
   */
  responseToReadIndexReq(req: Message, readIndex: number): Message {
    if (req.from === None || req.from === this.id) {
      this.readStates.push({
        index: readIndex,
        requestCtx: req.entries[0]?.data ?? new Uint8Array(),
      });
      return newMessage({ type: MessageType.MsgReadIndexResp });
    }
    return newMessage({
      type: MessageType.MsgReadIndexResp,
      to: req.from,
      index: readIndex,
      entries: req.entries,
    });
  }

  /** increaseUncommittedSize accounts for new entries; false if over maxUncommittedSize. */
  increaseUncommittedSize(ents: Entry[]): boolean {
    const s = payloadsSize(ents);
    // A single proposal of any size is always allowed when nothing is uncommitted, so a
    // large entry cannot wedge the leader.
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }
}

function emptySnapshotValue(): Snapshot {
  return {
    metadata: {
      index: 0,
      term: 0,
      confState: {
        voters: [],
        learners: [],
        votersOutgoing: [],
        learnersNext: [],
        autoLeave: false,
      },
    },
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Role step functions.

function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgBeat:
      r.bcastHeartbeat();
      return;
    case MessageType.MsgCheckQuorum:
      if (!r.trk.quorumActive()) {
        r.logger.warning(`${hexId(r.id)} stepped down to follower since quorum is not active`);
        r.becomeFollower(r.term, None);
      }
      // Activity is counted afresh for every check-quorum interval.
      r.trk.visit((id, pr) => {
        if (id !== r.id) pr.recentActive = false;
      });
      return;
    case MessageType.MsgProp:
      leaderPropose(r, m);
      return;
    case MessageType.MsgReadIndex:
      leaderReadIndex(r, m);
      return;
    case MessageType.MsgForgetLeader:
      return;
  }
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) {
    r.logger.debug(`${hexId(r.id)} no progress available for ${hexId(m.from)}`);
    return;
  }
  switch (m.type) {
    case MessageType.MsgAppResp:
      leaderAppResp(r, m, pr);
      break;
    case MessageType.MsgHeartbeatResp:
      leaderHeartbeatResp(r, m, pr);
      break;
    case MessageType.MsgSnapStatus:
      if (pr.state !== PrState.StateSnapshot) return;
      if (!m.reject) {
        pr.becomeProbe();
        r.logger.debug(
          `${hexId(r.id)} snapshot succeeded, resumed sending replication messages to ${hexId(m.from)} [${pr.toString()}]`,
        );
      } else {
        // The snapshot failed: forget it so that the next probe can ask for a new one.
        pr.pendingSnapshot = 0;
        pr.becomeProbe();
        r.logger.debug(
          `${hexId(r.id)} snapshot failed, resumed sending replication messages to ${hexId(m.from)} [${pr.toString()}]`,
        );
      }
      // Wait for a MsgHeartbeatResp or MsgAppResp before probing again.
      pr.msgAppFlowPaused = true;
      break;
    case MessageType.MsgUnreachable:
      // An unreachable peer has probably lost in-flight appends: probe it again.
      if (pr.state === PrState.StateReplicate) pr.becomeProbe();
      r.logger.debug(
        `${hexId(r.id)} failed to send message to ${hexId(m.from)} because it is unreachable [${pr.toString()}]`,
      );
      break;
    case MessageType.MsgTransferLeader:
      leaderTransfer(r, m, pr);
      break;
  }
}

function leaderPropose(r: Raft, m: Message): void {
  if (m.entries.length === 0) raftPanic(r.logger, `${hexId(r.id)} stepped empty MsgProp`);
  if (!r.trk.progress.has(r.id)) {
    // Removed from the configuration: the leader can no longer propose (it keeps leading
    // only to replicate the removal).
    throw new ErrProposalDropped();
  }
  if (r.leadTransferee !== None) {
    r.logger.debug(
      `${hexId(r.id)} [term ${r.term}] transfer leadership to ${hexId(r.leadTransferee)} is in progress; dropping proposal`,
    );
    throw new ErrProposalDropped();
  }
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    let cc: ConfChange | ConfChangeV2 | undefined;
    if (e.type === EntryType.EntryConfChange) cc = decodeConfChange(e.data ?? new Uint8Array());
    else if (e.type === EntryType.EntryConfChangeV2) {
      cc = decodeConfChangeV2(e.data ?? new Uint8Array());
    }
    if (cc === undefined) continue;
    const failedCheck = confChangeRefusal(r, confChangeAsV2(cc));
    if (failedCheck !== '' && !r.disableConfChangeValidation) {
      r.logger.info(
        `${hexId(r.id)} ignoring conf change ${describeConfChangeLong(cc)} at config ${r.trk.config.toString()}: ${failedCheck}`,
      );
      m.entries[i] = { term: 0, index: 0, type: EntryType.EntryNormal, data: undefined };
    } else {
      r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
    }
  }
  if (!r.appendEntry(m.entries)) throw new ErrProposalDropped();
  r.bcastAppend();
}

/** confChangeRefusal returns why a proposed conf change must be refused, or ''. */
function confChangeRefusal(r: Raft, cc: ConfChangeV2): string {
  const alreadyPending = r.pendingConfIndex > r.raftLog.applied;
  const alreadyJoint = r.trk.config.voters.outgoing.size() > 0;
  const wantsLeaveJoint = cc.changes.length === 0;
  if (alreadyPending) {
    return `possible unapplied conf change at index ${r.pendingConfIndex} (applied to ${r.raftLog.applied})`;
  }
  if (alreadyJoint && !wantsLeaveJoint) return 'must transition out of joint config first';
  if (!alreadyJoint && wantsLeaveJoint) return 'not in joint state; refusing empty conf change';
  return '';
}

function leaderReadIndex(r: Raft, m: Message): void {
  if (r.trk.isSingleton() && r.trk.config.voters.ids().has(r.id)) {
    // The leader is the only voter, so no other leader can exist: answer at once. Its commit
    // index may be behind writes it acknowledged before a crash (a commit-only HardState is
    // not synced), but everything in its log up to its own match index is durable, and the
    // read waits for it to be applied. A removed leader whose config has one *other* voter
    // must not take this path (found by the simulation: a stale read).
    const index = Math.max(r.raftLog.committed, r.trk.committed());
    const resp = r.responseToReadIndexReq(m, index);
    if (resp.to !== None) r.send(resp);
    return;
  }
  // Until an entry of this term commits, the leader's commit index may be stale (§6.4).
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  sendMsgReadIndexResponse(r, m);
}

function leaderAppResp(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  if (m.reject) {
    r.logger.debug(
      `${hexId(r.id)} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${hexId(m.from)} for index ${m.index}`,
    );
    let nextProbeIdx = m.rejectHint;
    if (m.logTerm > 0) {
      // Skip every index of the leader's log whose term is above the follower's hint term.
      nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
    }
    if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
      r.logger.debug(`${hexId(r.id)} decreased progress of ${hexId(m.from)} to [${pr.toString()}]`);
      if (pr.state === PrState.StateReplicate) pr.becomeProbe();
      r.sendAppend(m.from);
    }
    return;
  }
  if (!(pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === PrState.StateProbe))) {
    return;
  }
  switch (pr.state) {
    case PrState.StateProbe:
      pr.becomeReplicate();
      break;
    case PrState.StateSnapshot:
      if (pr.match + 1 >= r.raftLog.firstIndex()) {
        // The follower caught up past the compaction point, by the snapshot or otherwise.
        r.logger.debug(
          `${hexId(r.id)} recovered from needing snapshot, resumed sending replication messages to ${hexId(m.from)} [${pr.toString()}]`,
        );
        pr.becomeProbe();
        pr.becomeReplicate();
      }
      break;
    case PrState.StateReplicate:
      pr.inflights.freeLE(m.index);
      break;
  }
  if (r.maybeCommit()) {
    releasePendingReadIndexMessages(r);
    r.bcastAppend();
  } else if (r.id !== m.from && pr.canBumpCommit(r.raftLog.committed)) {
    // The follower may not know the commit index yet: tell it with an (empty) append.
    r.sendAppend(m.from);
  }
  if (r.id !== m.from) {
    // Pipeline: keep sending while the flow-control window allows (optimistic replication).
    while (r.maybeSendAppend(m.from, false)) {
      // keep going
    }
  }
  if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
    r.logger.info(
      `${hexId(r.id)} sent MsgTimeoutNow to ${hexId(m.from)} after received MsgAppResp`,
    );
    r.sendTimeoutNow(m.from);
  }
}

function leaderHeartbeatResp(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  // A follower that is behind, or being probed, gets another append now.
  if (pr.match < r.raftLog.lastIndex() || pr.state === PrState.StateProbe) r.sendAppend(m.from);
  if (r.readOnly.option !== ReadOnlyOption.ReadOnlySafe) return;
  if (m.context === undefined || m.context.length === 0) return;
  r.readOnly.recvAck(m.from, m.context);
  const rss = r.readOnly.maybeAdvance(r.trk.config.voters);
  for (const rs of rss) {
    const resp = r.responseToReadIndexReq(rs.req, rs.index);
    if (resp.to !== None) r.send(resp);
  }
}

function leaderTransfer(r: Raft, m: Message, pr: Progress): void {
  if (pr.isLearner) {
    r.logger.debug(`${hexId(r.id)} is learner. Ignored transferring leadership`);
    return;
  }
  const leadTransferee = m.from;
  const last = r.leadTransferee;
  if (last !== None) {
    if (last === leadTransferee) {
      r.logger.info(
        `${hexId(r.id)} [term ${r.term}] transfer leadership to ${hexId(leadTransferee)} is in progress, ignores request to same node ${hexId(leadTransferee)}`,
      );
      return;
    }
    r.abortLeaderTransfer();
    r.logger.info(
      `${hexId(r.id)} [term ${r.term}] abort previous transferring leadership to ${hexId(last)}`,
    );
  }
  if (leadTransferee === r.id) {
    r.logger.debug(`${hexId(r.id)} is already leader. Ignored transferring leadership to self`);
    return;
  }
  r.logger.info(
    `${hexId(r.id)} [term ${r.term}] starts to transfer leadership to ${hexId(leadTransferee)}`,
  );
  // The transfer must finish within one election timeout, or it is aborted.
  r.electionElapsed = 0;
  r.leadTransferee = leadTransferee;
  if (pr.match === r.raftLog.lastIndex()) {
    r.sendTimeoutNow(leadTransferee);
    r.logger.info(
      `${hexId(r.id)} sends MsgTimeoutNow to ${hexId(leadTransferee)} immediately as ${hexId(leadTransferee)} already has up-to-date log`,
    );
  } else {
    r.sendAppend(leadTransferee);
  }
}

function stepCandidate(r: Raft, m: Message): void {
  const myVoteRespType =
    r.state === StateType.StatePreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgProp:
      r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping proposal`);
      throw new ErrProposalDropped();
    case MessageType.MsgApp:
      r.becomeFollower(m.term, m.from);
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case myVoteRespType: {
      const { granted, rejected, result } = r.poll(m.from, m.type, !m.reject);
      r.logger.info(
        `${hexId(r.id)} has received ${granted} ${typeName(m.type)} votes and ${rejected} vote rejections`,
      );
      if (result === VoteResult.VoteWon) {
        if (r.state === StateType.StatePreCandidate) {
          r.campaign(CampaignType.campaignElection);
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === VoteResult.VoteLost) {
        // A lost pre-vote leaves the term alone; a lost vote keeps the incremented term.
        r.becomeFollower(r.term, None);
      }
      return;
    }
    case MessageType.MsgTimeoutNow:
      r.logger.debug(
        `${hexId(r.id)} [term ${r.term} state ${StateTypeNames[r.state]}] ignored MsgTimeoutNow from ${hexId(m.from)}`,
      );
      return;
  }
}

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgProp:
      if (r.lead === None) {
        r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping proposal`);
        throw new ErrProposalDropped();
      }
      if (r.disableProposalForwarding) {
        r.logger.info(
          `${hexId(r.id)} not forwarding to leader ${hexId(r.lead)} at term ${r.term}; dropping proposal`,
        );
        throw new ErrProposalDropped();
      }
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === None) {
        r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping leader transfer msg`);
        return;
      }
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.MsgForgetLeader:
      if (r.readOnly.option === ReadOnlyOption.ReadOnlyLeaseBased) {
        // Forgetting the leader would let this node vote inside the leader's lease.
        r.logger.error('ignoring MsgForgetLeader due to ReadOnlyLeaseBased');
        return;
      }
      if (r.lead !== None) {
        r.logger.info(`${hexId(r.id)} forgetting leader ${hexId(r.lead)} at term ${r.term}`);
        r.lead = None;
      }
      return;
    case MessageType.MsgTimeoutNow:
      r.logger.info(
        `${hexId(r.id)} [term ${r.term}] received MsgTimeoutNow from ${hexId(m.from)} and starts an election to get leadership.`,
      );
      // The transfer election skips pre-vote and ignores leases (§3.10).
      r.hup(CampaignType.campaignTransfer);
      return;
    case MessageType.MsgReadIndex:
      if (r.lead === None) {
        r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping index reading msg`);
        return;
      }
      m.to = r.lead;
      r.send(m);
      return;
    case MessageType.MsgReadIndexResp:
      if (m.entries.length !== 1) {
        r.logger.error(
          `${hexId(r.id)} invalid format of MsgReadIndexResp from ${hexId(m.from)}, entries count: ${m.entries.length}`,
        );
        return;
      }
      r.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data ?? new Uint8Array() });
      return;
  }
}

function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0) return;
  if (!r.committedEntryInCurrentTerm()) {
    r.logger.error(
      'pending MsgReadIndex should be released only after first commit in current term',
    );
    return;
  }
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendMsgReadIndexResponse(r, m);
}

function sendMsgReadIndexResponse(r: Raft, m: Message): void {
  if (r.readOnly.option === ReadOnlyOption.ReadOnlySafe) {
    // Confirm leadership with a heartbeat round that carries this read's position (§6.4).
    r.readOnly.addRequest(r.raftLog.committed, m);
    r.readOnly.recvAck(r.id, r.readOnly.heartbeatCtx());
    r.bcastHeartbeat();
  } else {
    // Lease-based: check-quorum guarantees no other leader within the lease (§6.4.1).
    const resp = r.responseToReadIndexReq(m, r.raftLog.committed);
    if (resp.to !== None) r.send(resp);
  }
}
