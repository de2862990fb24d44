import {
  ConfChangeType,
  EntryType,
  MessageType,
  emptyHardState,
  isEmptyHardState,
  isEmptySnap,
  isHardStateEqual,
  newMessage,
} from '../raftpb/types.ts';
import type { ConfChange, ConfChangeV2, ConfState, HardState, Message } from '../raftpb/types.ts';
import { confChangeAsV2, marshalConfChange } from '../raftpb/confchange.ts';
import { encodeConfChange } from '../raftpb/codec.ts';
import type { Config } from './config.ts';
import { ErrStepLocalMsg, ErrStepPeerNotFound } from './errors.ts';
import { raftPanic } from './logger.ts';
import { None, Raft } from './raft.ts';
import type { Ready, SoftState } from './ready.ts';
import { getBasicStatus, getStatus } from './status.ts';
import type { BasicStatus, Status } from './status.ts';
import {
  LocalAppendThread,
  LocalApplyThread,
  entsSize,
  isLocalMsg,
  isLocalMsgTarget,
  isResponseMsg,
} from './util.ts';

/** SnapshotStatus is what the application reports about a snapshot it tried to send. */
export const SnapshotStatus = { SnapshotFinish: 1, SnapshotFailure: 2 } as const;
/** SnapshotStatus is the numeric value of a snapshot report. */
export type SnapshotStatus = (typeof SnapshotStatus)[keyof typeof SnapshotStatus];

/** Peer is a member of the initial configuration given to bootstrap(). */
export interface Peer {
  id: number;
  context?: Uint8Array;
}

/**
 * RawNode is the thread-unsafe, synchronous interface to a raft node (etcd-raft's RawNode).
 * Drive it with tick() and step(); collect work with hasReady()/ready(); acknowledge it with
 * advance() (or, with asyncStorageWrites, by stepping the storage threads' responses).
 */
export class RawNode {
  readonly raft: Raft;
  readonly asyncStorageWrites: boolean;
  private prevSoftSt: SoftState;
  private prevHardSt: HardState;
  /** stepsOnAdvance are the local responses stepped by advance() (synchronous mode). */
  private stepsOnAdvance: Message[] = [];

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.asyncStorageWrites = config.asyncStorageWrites ?? false;
    this.prevSoftSt = this.raft.softState();
    this.prevHardSt = this.raft.hardState();
  }

  /** tick advances the logical clock by one tick. */
  tick(): void {
    this.raft.tick();
  }

  /**
   * tickQuiesced advances the election clock without sending heartbeats or campaigning; use
   * it when a group is known to be idle.
   */
  tickQuiesced(): void {
    this.raft.electionElapsed++;
  }

  /** campaign makes the node start an election (or a pre-vote). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup }));
  }

  /** propose appends data to the log; it throws ErrProposalDropped when that cannot happen. */
  propose(data: Uint8Array): void {
    this.raft.step(
      newMessage({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.EntryNormal, data }],
      }),
    );
  }

  /** proposeBatch appends several entries with one message (one append, one broadcast). */
  proposeBatch(data: Uint8Array[]): void {
    this.raft.step(
      newMessage({
        type: MessageType.MsgProp,
        from: this.raft.id,
        entries: data.map((d) => ({ term: 0, index: 0, type: EntryType.EntryNormal, data: d })),
      }),
    );
  }

  /** proposeConfChange proposes a membership change; it throws like propose(). */
  proposeConfChange(cc: ConfChange | ConfChangeV2): void {
    const { type, data } = marshalConfChange(cc);
    this.raft.step(
      newMessage({ type: MessageType.MsgProp, entries: [{ term: 0, index: 0, type, data }] }),
    );
  }

  /** applyConfChange applies a committed conf change to the node and returns the ConfState. */
  applyConfChange(cc: ConfChange | ConfChangeV2): ConfState {
    return this.raft.applyConfChange(confChangeAsV2(cc));
  }

  /**
   * step hands a message from the network (or a local storage thread) to raft. It throws
   * ErrStepLocalMsg for local message types from elsewhere and ErrStepPeerNotFound for a
   * response from a node that is not in the configuration.
   */
  step(m: Message): void {
    if (isLocalMsg(m.type) && !isLocalMsgTarget(m.from)) throw new ErrStepLocalMsg();
    if (isResponseMsg(m.type) && !isLocalMsgTarget(m.from) && !this.raft.trk.progress.has(m.from)) {
      throw new ErrStepPeerNotFound();
    }
    this.raft.step(m);
  }

  /** ready returns the outstanding work and marks it as handed out. */
  ready(): Ready {
    const rd = this.readyWithoutAccept();
    this.acceptReady(rd);
    return rd;
  }

  private readyWithoutAccept(): Ready {
    const r = this.raft;
    const log = r.raftLog;
    const rd: Ready = {
      softState: undefined,
      hardState: emptyHardState,
      readStates: [],
      entries: log.nextUnstableEnts(),
      snapshot: undefined,
      committedEntries: log.nextCommittedEnts(this.applyUnstableEntries()),
      messages: r.msgs,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoftSt.lead || ss.raftState !== this.prevSoftSt.raftState) {
      rd.softState = ss;
    }
    const hs = r.hardState();
    if (!isHardStateEqual(hs, this.prevHardSt)) rd.hardState = hs;
    if (log.hasNextUnstableSnapshot()) rd.snapshot = log.nextUnstableSnapshot();
    if (r.readStates.length !== 0) rd.readStates = r.readStates;
    rd.mustSync = mustSync(hs, this.prevHardSt, rd.entries.length);

    // r.msgs is handed out as is: acceptReady() replaces it right after.
    if (this.asyncStorageWrites) {
      // The messages to the local threads go last, append before apply.
      if (this.needStorageAppendMsg(rd)) rd.messages.push(this.newStorageAppendMsg(rd));
      if (rd.committedEntries.length > 0) rd.messages.push(this.newStorageApplyMsg(rd));
    } else {
      for (const m of r.msgsAfterAppend) {
        if (m.to !== r.id) rd.messages.push(m);
      }
    }
    return rd;
  }

  private needStorageAppendMsg(rd: Ready): boolean {
    return (
      rd.entries.length > 0 ||
      !isEmptyHardState(rd.hardState) ||
      !isEmptySnap(rd.snapshot) ||
      this.raft.msgsAfterAppend.length > 0
    );
  }

  private needStorageAppendRespMsg(rd: Ready): boolean {
    return this.raft.raftLog.hasNextOrInProgressUnstableEnts() || !isEmptySnap(rd.snapshot);
  }

  private newStorageAppendMsg(rd: Ready): Message {
    const r = this.raft;
    const m = newMessage({
      type: MessageType.MsgStorageAppend,
      to: LocalAppendThread,
      from: r.id,
      entries: rd.entries,
    });
    if (!isEmptyHardState(rd.hardState)) {
      m.term = rd.hardState.term;
      m.vote = rd.hardState.vote;
      m.commit = rd.hardState.commit;
    }
    if (!isEmptySnap(rd.snapshot)) m.snapshot = rd.snapshot;
    // The responses are delivered once the write is durable: this is what lets the leader
    // write to its own disk in parallel with replication (Raft thesis §10.2.1).
    m.responses = r.msgsAfterAppend.slice();
    if (this.needStorageAppendRespMsg(rd)) m.responses.push(this.newStorageAppendRespMsg(rd));
    return m;
  }

  private newStorageAppendRespMsg(rd: Ready): Message {
    const r = this.raft;
    const m = newMessage({
      type: MessageType.MsgStorageAppendResp,
      to: r.id,
      from: LocalAppendThread,
      term: r.term,
    });
    if (r.raftLog.hasNextOrInProgressUnstableEnts()) {
      const last = r.raftLog.lastEntryID();
      m.index = last.index;
      m.logTerm = last.term;
    }
    if (!isEmptySnap(rd.snapshot)) m.snapshot = rd.snapshot;
    return m;
  }

  private newStorageApplyMsg(rd: Ready): Message {
    const r = this.raft;
    const ents = rd.committedEntries;
    return newMessage({
      type: MessageType.MsgStorageApply,
      to: LocalApplyThread,
      from: r.id,
      entries: ents,
      responses: [this.newStorageApplyRespMsg(ents)],
    });
  }

  private newStorageApplyRespMsg(ents: Ready['committedEntries']): Message {
    return newMessage({
      type: MessageType.MsgStorageApplyResp,
      to: this.raft.id,
      from: LocalApplyThread,
      entries: ents,
    });
  }

  private acceptReady(rd: Ready): void {
    const r = this.raft;
    if (rd.softState !== undefined) this.prevSoftSt = rd.softState;
    if (!isEmptyHardState(rd.hardState)) this.prevHardSt = rd.hardState;
    if (rd.readStates.length !== 0) r.readStates = [];
    if (!this.asyncStorageWrites) {
      if (this.stepsOnAdvance.length !== 0) {
        raftPanic(r.logger, 'two accepted Ready structs without call to Advance');
      }
      for (const m of r.msgsAfterAppend) {
        if (m.to === r.id) this.stepsOnAdvance.push(m);
      }
      if (this.needStorageAppendRespMsg(rd)) {
        this.stepsOnAdvance.push(this.newStorageAppendRespMsg(rd));
      }
      if (rd.committedEntries.length > 0) {
        this.stepsOnAdvance.push(this.newStorageApplyRespMsg(rd.committedEntries));
      }
    }
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.raftLog.acceptUnstable();
    const ents = rd.committedEntries;
    if (ents.length > 0) {
      const index = ents[ents.length - 1]!.index;
      r.raftLog.acceptApplying(index, entsSize(ents), this.applyUnstableEntries());
    }
  }

  /** applyUnstableEntries: without async writes, entries may be applied before they are durable. */
  private applyUnstableEntries(): boolean {
    return !this.asyncStorageWrites;
  }

  /** hasReady reports whether ready() would return something to do. */
  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftSt.lead || ss.raftState !== this.prevSoftSt.raftState) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !isHardStateEqual(hs, this.prevHardSt)) return true;
    const log = r.raftLog;
    if (log.hasNextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (log.hasNextUnstableEnts() || log.hasNextCommittedEnts(this.applyUnstableEntries())) {
      return true;
    }
    return r.readStates.length !== 0;
  }

  /**
   * advance acknowledges the last Ready: its entries and hard state are durable and its
   * committed entries applied. Not allowed with asyncStorageWrites.
   */
  advance(): void {
    if (this.asyncStorageWrites) {
      raftPanic(this.raft.logger, 'Advance must not be called when using AsyncStorageWrites');
    }
    const steps = this.stepsOnAdvance;
    this.stepsOnAdvance = [];
    for (const m of steps) {
      try {
        this.raft.step(m);
      } catch {
        // Errors of local responses are ignored, as in etcd-raft.
      }
    }
  }

  /** status returns the node's status; on a leader it includes copies of all progress. */
  status(): Status {
    return getStatus(this.raft);
  }

  /** basicStatus returns the status without the progress copies (cheaper). */
  basicStatus(): BasicStatus {
    return getBasicStatus(this.raft);
  }

  /** reportUnreachable tells raft that the last message to `id` may have been lost. */
  reportUnreachable(id: number): void {
    this.stepIgnoringErrors(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  /** reportSnapshot tells raft whether a snapshot sent to `id` was applied. */
  reportSnapshot(id: number, status: SnapshotStatus): void {
    const reject = status === SnapshotStatus.SnapshotFailure;
    this.stepIgnoringErrors(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject }));
  }

  /** transferLeader asks the leader to hand leadership to `transferee` (Raft thesis §3.10). */
  transferLeader(transferee: number): void {
    this.stepIgnoringErrors(newMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /**
   * forgetLeader makes a follower forget its leader, so that it grants votes at once; it is a
   * no-op on a leader and refused under ReadOnlyLeaseBased.
   */
  forgetLeader(): void {
    this.raft.step(newMessage({ type: MessageType.MsgForgetLeader }));
  }

  /**
   * readIndex requests a linearizable read point; the answer arrives as a ReadState with the
   * same rctx in a later Ready. rctx must be unique among outstanding requests.
   */
  readIndex(rctx: Uint8Array): void {
    this.stepIgnoringErrors(
      newMessage({
        type: MessageType.MsgReadIndex,
        entries: [{ term: 0, index: 0, type: EntryType.EntryNormal, data: rctx }],
      }),
    );
  }

  /**
   * bootstrap writes the initial configuration into an empty log as committed conf-change
   * entries at term 1. It throws if the storage is not empty or no peer is given.
   */
  bootstrap(peers: Peer[]): void {
    if (peers.length === 0) throw new RangeError('must provide at least one peer to Bootstrap');
    const r = this.raft;
    if (r.raftLog.storage.lastIndex() !== 0) {
      throw new RangeError("can't bootstrap a nonempty Storage");
    }
    // The hard state must be persisted by the next Ready even though nothing else changed.
    this.prevHardSt = emptyHardState;
    r.becomeFollower(1, None);
    const ents = peers.map((p, i) => {
      const cc: ConfChange = {
        type: ConfChangeType.ConfChangeAddNode,
        nodeId: p.id,
        context: p.context,
        id: 0,
      };
      return { type: EntryType.EntryConfChange, term: 1, index: i + 1, data: encodeConfChange(cc) };
    });
    r.raftLog.append(ents);
    r.raftLog.committed = ents.length;
    for (const p of peers) {
      r.applyConfChange(
        confChangeAsV2({ type: ConfChangeType.ConfChangeAddNode, nodeId: p.id, id: 0 }),
      );
    }
  }

  private stepIgnoringErrors(m: Message): void {
    try {
      this.raft.step(m);
    } catch {
      // These calls report facts; raft has nothing to say back.
    }
  }
}

/** mustSync reports whether the Ready's writes must be synced to disk. */
export function mustSync(st: HardState, prev: HardState, entsnum: number): boolean {
  // Term, vote and log entries are what Raft requires on stable storage (§5, Figure 2);
  // the commit index may be recovered after a crash.
  return entsnum !== 0 || st.vote !== prev.vote || st.term !== prev.term;
}

/** newRawNode creates a RawNode; it throws ErrConfigInvalid for a bad config. */
export function newRawNode(config: Config): RawNode {
  return new RawNode(config);
}
