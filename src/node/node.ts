/**
 * Node: the asynchronous driver around RawNode. It owns the tick timer and the Ready loop,
 * and does the work of each Ready in the order Raft demands: persist before sending what
 * depends on it, apply only what is committed (and, with asyncStorageWrites, durable).
 * See docs/node.md.
 */
import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ErrProposalDropped, RaftError } from '../raft/errors.ts';
import type { Logger } from '../raft/logger.ts';
import { RawNode, SnapshotStatus } from '../raft/rawnode.ts';
import { StateType } from '../raft/ready.ts';
import type { SoftState } from '../raft/ready.ts';
import { cloneConfState } from '../raft/util.ts';
import { refusal } from '../raft/validate.ts';
import { ConfChangeType, MessageType, isEmptySnap } from '../raftpb/types.ts';
import type { ConfChangeSingle, ConfState, Message } from '../raftpb/types.ts';
import { Applier } from './apply.ts';
import type { ApplierHost } from './apply.ts';
import { encodeEnvelopes } from './envelope.ts';
import { ErrNodeClosed, ErrNodeStopped, ErrNotLeader, ErrTransferFailed } from './errors.ts';
import type { DurableStorage, StateMachine, Transport, TransportHandler } from './interfaces.ts';
import { bootstrapPeers, idError, isFresh, raftConfig, resolveOptions } from './options.ts';
import type { NodeOptions, ResolvedOptions } from './options.ts';
import { PeerBook } from './peers.ts';
import { acceptForwarded, Proposal, ProposalTracker } from './proposals.ts';
import { ReadIndexQueue } from './reads.ts';
import { ReadyLoop } from './ready_loop.ts';
import type { LoopHost } from './ready_loop.ts';
import { runConfChange, transferOutcome, transferTarget } from './membership.ts';
import type { MembershipHost } from './membership.ts';
import { Condition, Waiter } from './waiter.ts';
import type { AbortLike, WaitOptions } from './waiter.ts';
import type { LeaderChange, NodeBrief, NodeEvents, NodeStatus } from './events.ts';

/** dropSettled removes from batch, in place, the proposals already settled (aborted). */
function dropSettled(batch: Proposal[]): void {
  let n = 0;
  for (const p of batch) if (!p.settled) batch[n++] = p;
  batch.length = n;
}

const noData = new Uint8Array(0);

type State = 'starting' | 'running' | 'closing' | 'closed';

/**
 * Node runs one raft member. Create it with Node.start(); every method that waits takes
 * `{ signal }` and rejects with `signal.reason` when it aborts (the operation itself may
 * still take effect: an aborted proposal can be committed).
 *
 * Error contract: waits reject with ErrNodeClosed after close(), ErrNodeStopped (cause: the
 * fatal error) after a storage, state machine or raft failure, ErrNotLeader for leader-only
 * operations on a follower, and with the errors listed on each method. Invalid arguments
 * reject with TypeError or RangeError.
 */
export class Node extends EventEmitter<NodeEvents> {
  /** id is this node's id. */
  readonly id: number;
  private readonly rn: RawNode;
  private readonly storage: DurableStorage;
  private readonly transport: Transport;
  private readonly sm: StateMachine;
  private readonly opts: ResolvedOptions;
  private readonly logger: Logger;
  /** refused counts the messages from the network that validate.ts refused. */
  private refused = 0;
  private readonly session: number;
  private readonly tracker = new ProposalTracker();
  private readonly reads: ReadIndexQueue;
  private readonly peers: PeerBook;
  private readonly applier: Applier;
  private readonly conds = new Set<Condition<unknown>>();
  private batch: Proposal[] = [];
  private seq = 0;
  private flushScheduled = false;
  private readonly loop: ReadyLoop;
  private membershipChain: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  private state: State = 'starting';
  private fatalError: Error | undefined;
  private lastLead = 0;
  private shutdownPromise: Promise<void> | undefined;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(o: ResolvedOptions) {
    super();
    this.opts = o;
    this.id = o.id;
    this.storage = o.storage;
    this.transport = o.transport;
    this.sm = o.stateMachine;
    this.logger = o.logger;
    this.session = randomInt(0, 0x1_0000_0000);
    const snap = o.storage.snapshot();
    this.rn = new RawNode(raftConfig(o, snap.metadata.index));
    this.reads = new ReadIndexQueue(
      (rctx) => this.rn.readIndex(rctx),
      o.electionTick,
      this.session,
    );
    this.peers = new PeerBook(o.id, o.transport);
    this.applier = new Applier(this.applierHost(), o.storage.initialState().confState);
    this.loop = new ReadyLoop(this.loopHost());
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  /**
   * start creates a Node: it restores the state machine from the storage's snapshot (the
   * log after it is replayed by raft), bootstraps an empty storage with options.peers
   * (unless options.join), starts the transport and the tick timer. It rejects with
   * TypeError/RangeError for bad options, ErrConfigInvalid for a bad raft configuration,
   * and with whatever restoring or starting the transport throws.
   */
  static async start(options: NodeOptions): Promise<Node> {
    const node = new Node(resolveOptions(options));
    await node.init();
    return node;
  }

  /**
   * init starts the transport first (so that addPeer never precedes start; inputs are
   * ignored until the node runs), then restores, bootstraps and links the peers. On failure
   * the transport is closed again.
   */
  private async init(): Promise<void> {
    const o = this.opts;
    await this.transport.start(this.handler());
    try {
      const snap = this.storage.snapshot();
      if (!isEmptySnap(snap)) await this.applier.restore(snap);
      if (isFresh(this.storage) && !o.join) this.rn.bootstrap(bootstrapPeers(o));
      this.peers.learn(new Map(o.peers.map((p) => [p.id, p.address])));
      for (const p of o.peers) this.peers.link(p.id);
      this.peers.sync(this.applier.confState);
    } catch (err) {
      await this.transport.close().catch(() => undefined);
      throw err;
    }
    this.state = 'running';
    this.timer = setInterval(() => this.onTick(), o.tickMs);
    this.loop.kick();
  }

  // ---------------------------------------------------------------------------------------
  // Public API

  /**
   * propose replicates data and resolves with the state machine's result for it once it is
   * applied on this node. Proposals made in the same turn of the event loop travel in one
   * MsgProp. On a follower the proposal is forwarded to the leader (unless
   * forwardProposals is false: then ErrNotLeader). While no leader is known, proposals wait
   * for one.
   *
   * Rejects with ErrProposalDropped (raft refused it: no leader, transfer in progress, size
   * limit; never applied), ErrLeaderChanged (its entry was replaced by another leader's, or
   * it never reached the log of the leader it was forwarded to; never applied),
   * ErrOutcomeUnknown (a snapshot replaced its entry before this node applied it),
   * ErrNodeClosed, ErrNodeStopped, or `signal.reason`. A proposal forwarded to a leader that
   * loses it without a term change (the message is dropped) waits until the signal aborts.
   */
  propose(data: Uint8Array, options: WaitOptions = {}): Promise<unknown> {
    if (!(data instanceof Uint8Array)) {
      return Promise.reject(
        new TypeError(`propose: data must be a Uint8Array, got ${typeof data}`),
      );
    }
    const refused = this.refusal() ?? (this.opts.forwardProposals ? undefined : this.leaderOnly());
    if (refused !== undefined) return Promise.reject(refused);
    const seq = (this.seq = (this.seq + 1) >>> 0);
    const { signal } = options;
    const onAbort = signal === undefined ? undefined : (): void => this.tracker.forget(seq);
    const p = new Proposal(seq, data, signal, onAbort);
    if (!p.settled) {
      this.batch.push(p);
      this.scheduleFlush();
    }
    return p.promise;
  }

  /**
   * read resolves with a read index once a linearizable read may be served from this
   * node's state machine (ReadIndex, Raft thesis §6.4): everything committed before the call
   * is applied here. Works on followers too. Rejects with ErrNodeClosed, ErrNodeStopped or
   * `signal.reason`; without a leader it keeps retrying until the signal aborts.
   */
  read(options: WaitOptions = {}): Promise<number> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    const waiter = new Waiter<number>(options.signal);
    if (!waiter.settled) {
      this.reads.add(waiter);
      this.scheduleFlush();
    }
    return waiter.promise;
  }

  /**
   * addVoter adds node id (reachable at address) as a voter, or promotes it if it is a
   * learner; resolves with the configuration once the change (entered and left through a
   * joint configuration) is applied here. Leader only (ErrNotLeader). A change that would
   * leave the configuration invalid rejects with RangeError; one whose entry is replaced
   * rejects with ErrLeaderChanged.
   */
  addVoter(id: number, address: string, options: WaitOptions = {}): Promise<ConfState> {
    return this.changeMembership(ConfChangeType.ConfChangeAddNode, id, address, options);
  }

  /** addLearner adds node id (at address) as a non-voting learner; see addVoter. */
  addLearner(id: number, address: string, options: WaitOptions = {}): Promise<ConfState> {
    return this.changeMembership(ConfChangeType.ConfChangeAddLearnerNode, id, address, options);
  }

  /** promote makes learner id a voter; see addVoter. */
  promote(id: number, options: WaitOptions = {}): Promise<ConfState> {
    return this.changeMembership(ConfChangeType.ConfChangeAddNode, id, undefined, options);
  }

  /**
   * removeMember removes voter or learner id; see addVoter. Removing the leader itself works:
   * it steps down once the change is applied.
   */
  removeMember(id: number, options: WaitOptions = {}): Promise<ConfState> {
    return this.changeMembership(ConfChangeType.ConfChangeRemoveNode, id, undefined, options);
  }

  /**
   * transferLeadership hands leadership to `to` (default: the most up-to-date voter) and
   * resolves with the new leader's id once this node sees it lead (Raft thesis §3.10).
   * Leader only (ErrNotLeader). Rejects with ErrTransferFailed when raft refuses or abandons
   * the transfer (the target did not catch up within an election timeout) or another node
   * won, and with ErrNodeClosed, ErrNodeStopped or `signal.reason`.
   */
  transferLeadership(to?: number, options: WaitOptions = {}): Promise<number> {
    const bad = to === undefined ? undefined : idError('transferLeadership', to);
    const refused = bad ?? this.refusal() ?? this.leaderOnly();
    if (refused !== undefined) return Promise.reject(refused);
    const target = to ?? transferTarget(this.rn, this.id);
    if (target === this.id) return Promise.resolve(this.id);
    const r = this.rn.raft;
    if (target !== 0) this.rn.transferLeader(target);
    this.loop.kick();
    if (target === 0 || r.leadTransferee !== target) {
      return Promise.reject(new ErrTransferFailed(target, r.lead));
    }
    return this.until(() => transferOutcome(this.rn, this.id, target), options.signal);
  }

  /** campaign makes this node start an election now. Throws ErrNodeClosed/ErrNodeStopped. */
  campaign(): void {
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
    this.rn.campaign();
    this.loop.kick();
  }

  /** waitForLeader resolves with the leader's id as soon as one is known. */
  waitForLeader(options: WaitOptions = {}): Promise<number> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return this.until(
      () => (this.rn.raft.lead === 0 ? undefined : this.rn.raft.lead),
      options.signal,
    );
  }

  /** leader is the id of the leader this node knows of, 0 if none. */
  get leader(): number {
    return this.rn.raft.lead;
  }

  /** isLeader reports whether this node is the leader. */
  get isLeader(): boolean {
    return this.rn.raft.state === StateType.StateLeader;
  }

  /** error is the fatal error that stopped the node, if any. */
  get error(): Error | undefined {
    return this.fatalError;
  }

  /**
   * brief returns the few fields of status() that request paths read (leader, term, commit
   * and applied index, learner or not) without status()'s copies of the progress map and
   * configuration: raftkv reads it for every response header.
   */
  brief(): NodeBrief {
    const r = this.rn.raft;
    return {
      leader: r.lead,
      term: r.term,
      commitIndex: r.raftLog.committed,
      appliedIndex: this.applier.applied,
      isLearner: this.applier.confState.learners.includes(this.id),
    };
  }

  /** status returns the node's current state. */
  status(): NodeStatus {
    const st = this.rn.status();
    return {
      id: this.id,
      leader: st.softState.lead,
      term: st.hardState.term,
      role: st.softState.raftState,
      commitIndex: st.hardState.commit,
      appliedIndex: this.applier.applied,
      snapshotIndex: this.applier.snapshotIndex,
      firstIndex: this.storage.firstIndex(),
      lastIndex: this.rn.raft.raftLog.lastIndex(),
      confState: cloneConfState(this.applier.confState),
      raft: st,
    };
  }

  /**
   * close stops the node: no new work is accepted, the writes, applies and snapshot in
   * progress finish, every pending call rejects with ErrNodeClosed (its proposal may still commit on
   * the others), then the transport and the storage are closed. Idempotent. If the signal
   * aborts first (a hung disk), the node stops without waiting for the work in progress and
   * close rejects with `signal.reason`.
   */
  close(options: WaitOptions = {}): Promise<void> {
    if (this.state === 'running') {
      this.state = 'closing';
      clearInterval(this.timer);
      this.rejectBatch(new ErrNodeClosed());
      void this.loop
        .idle()
        .then(() => this.applier.idle())
        .then(() => this.shutdown(new ErrNodeClosed()));
    }
    const waiter = new Waiter<void>(options.signal, () => void this.shutdown(new ErrNodeClosed()));
    void this.closedPromise.then(() => waiter.resolve());
    return waiter.promise;
  }

  /** closed resolves once the node has stopped, by close() or after a fatal error. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  // ---------------------------------------------------------------------------------------
  // Inputs

  private handler(): TransportHandler {
    return {
      receive: (m) => this.guard(() => this.receive(m)),
      reportUnreachable: (id) => this.guard(() => this.rn.reportUnreachable(id)),
      reportSnapshot: (id, ok) =>
        this.guard(() =>
          this.rn.reportSnapshot(
            id,
            ok ? SnapshotStatus.SnapshotFinish : SnapshotStatus.SnapshotFailure,
          ),
        ),
    };
  }

  /** guard runs an input while the node runs, then kicks the loop; errors are fatal. */
  private guard(f: () => void): void {
    if (this.state !== 'running') return;
    try {
      f();
      this.loop.kick();
    } catch (err) {
      this.fail(err);
    }
  }

  private receive(m: Message): void {
    const why = refusal(m, this.id);
    if (why !== undefined) {
      this.refused++;
      if (this.refused === 1 || this.refused % 1000 === 0) {
        this.logger.warning(
          `raft node ${this.id}: dropped a message from ${m.from} that no correct peer sends ` +
            `(${why}); ${this.refused} dropped so far`,
        );
      }
      return;
    }
    if (
      m.type === MessageType.MsgProp &&
      !acceptForwarded(this.rn.raft.state, this.rn.raft.term, m)
    ) {
      return;
    }
    this.stepIgnoringRefusals(m);
  }

  /** stepIgnoringRefusals steps m; raft's refusals (RaftError) are dropped, not fatal. */
  private stepIgnoringRefusals(m: Message): void {
    try {
      this.rn.step(m);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
  }

  private onTick(): void {
    this.guard(() => {
      this.rn.tick();
      this.reads.tick();
      this.pollConds();
    });
  }

  /**
   * scheduleFlush flushes the queued proposals and reads with setImmediate, once the
   * event loop has run every I/O callback ready now: the requests that arrived on all
   * connections in one turn become one MsgProp, one Ready, one MsgApp per follower (and
   * one ReadIndex), instead of one each per connection. Measured on a 3-member raftkv
   * against a microtask (2026-11-26, docs/performance.md): puts at 128 clients +20 %, CPU
   * per put -22 %; at 1 client no difference. The flush cannot throw (guard catches).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.guard(() => {
      this.flushProposals();
      this.reads.flush();
    });
  };

  /**
   * flushProposals hands the queued proposals to raft as one batch (one MsgProp). While no
   * leader is known they stay queued (as etcd's Node does), until one is.
   */
  private flushProposals(): void {
    const batch = this.batch;
    this.batch = [];
    dropSettled(batch);
    if (batch.length === 0) return;
    if (this.rn.raft.lead === 0) {
      this.batch = batch;
      return;
    }
    const refused = this.opts.forwardProposals ? undefined : this.leaderOnly();
    if (refused !== undefined) {
      for (const p of batch) p.reject(refused);
      return;
    }
    const term = this.rn.raft.term;
    for (const p of batch) p.term = term;
    const leading = this.isLeader;
    if (!leading) for (const p of batch) this.tracker.track(p);
    try {
      this.rn.proposeBatch(this.envelopes(batch, term));
    } catch (err) {
      for (const p of batch) this.tracker.forget(p.seq);
      if (!(err instanceof ErrProposalDropped)) throw err;
      for (const p of batch) p.reject(err);
      return;
    }
    if (leading) this.place(batch);
  }

  /** envelopes returns the data of the batch's entries: each payload in its envelope. */
  private envelopes(batch: readonly Proposal[], term: number): Uint8Array[] {
    const data = encodeEnvelopes({ origin: this.id, session: this.session, seq: 0, term }, batch);
    for (const p of batch) p.data = noData; // the envelope has a copy: let the caller's go
    return data;
  }

  /**
   * place tracks the proposals a leader has just appended: raft put them at the end of its
   * log, in order, in its term (a leader learns their position at once, see proposals.ts).
   */
  private place(batch: readonly Proposal[]): void {
    let index = this.rn.raft.raftLog.lastIndex() - batch.length;
    for (const p of batch) {
      p.index = ++index;
      this.tracker.track(p);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Outputs of the Ready loop

  private onSoftState(ss: SoftState): void {
    if (ss.lead === this.lastLead) return;
    this.lastLead = ss.lead;
    if (ss.lead !== 0 && this.batch.length > 0) this.scheduleFlush();
    const ev: LeaderChange = {
      leader: ss.lead,
      term: this.rn.raft.term,
      isLeader: ss.lead === this.id,
    };
    this.safeEmit('leaderChange', ev);
  }

  // ---------------------------------------------------------------------------------------
  // Membership and leadership

  private changeMembership(
    type: ConfChangeType,
    id: number,
    address: string | undefined,
    options: WaitOptions,
  ): Promise<ConfState> {
    const badAddress = address !== undefined && (typeof address !== 'string' || address === '');
    const refused =
      idError('membership change', id) ??
      (badAddress
        ? new TypeError(`membership change: node ${id} needs a non-empty address`)
        : undefined) ??
      this.refusal() ??
      this.leaderOnly();
    if (refused !== undefined) return Promise.reject(refused);
    const change: ConfChangeSingle = { type, nodeId: id };
    const run = (): Promise<ConfState> =>
      runConfChange(this.membershipHost(), change, address, options.signal);
    const p = this.membershipChain.then(run, run);
    this.membershipChain = p.catch(() => undefined);
    return p;
  }

  // ---------------------------------------------------------------------------------------
  // Waiting, failing, shutting down

  /** until resolves once check() returns a value (and rejects if it throws). */
  private until<T>(check: () => T | undefined, signal: AbortLike | undefined): Promise<T> {
    const c = new Condition<T>(check, signal);
    if (!c.poll()) {
      const cond = c as Condition<unknown>;
      this.conds.add(cond);
      const drop = (): void => void this.conds.delete(cond);
      c.waiter.promise.then(drop, drop);
    }
    return c.waiter.promise;
  }

  private pollConds(): void {
    for (const c of this.conds) if (c.poll()) this.conds.delete(c);
  }

  private applierHost(): ApplierHost {
    return {
      id: this.id,
      session: this.session,
      rawNode: this.rn,
      storage: this.storage,
      stateMachine: this.sm,
      tracker: this.tracker,
      peers: this.peers,
      snapshotInterval: this.opts.snapshotInterval,
      compactionMargin: this.opts.compactionMargin,
      onApplied: () => {
        this.reads.onApplied(this.applier.applied);
        this.pollConds();
      },
      onConfChange: (cs) => this.safeEmit('membershipChange', cs),
      onSnapshot: (ev) => this.safeEmit('snapshot', ev),
      fail: (err) => this.fail(err),
    };
  }

  private loopHost(): LoopHost {
    return {
      id: this.id,
      rawNode: this.rn,
      storage: this.storage,
      transport: this.transport,
      applier: this.applier,
      tracker: this.tracker,
      reads: this.reads,
      asyncStorageWrites: this.opts.asyncStorageWrites,
      running: () => this.state === 'running',
      alive: () => this.state === 'running' || this.state === 'closing',
      onSoftState: (ss) => this.onSoftState(ss),
      step: (m) => this.stepIgnoringRefusals(m),
      afterWork: () => this.pollConds(),
      fail: (err) => this.fail(err),
    };
  }

  private membershipHost(): MembershipHost {
    return {
      rawNode: this.rn,
      tracker: this.tracker,
      applier: this.applier,
      until: (check, signal) => this.until(check, signal),
      leaderOnly: () => this.leaderOnly(),
      kick: () => this.loop.kick(),
    };
  }

  /** refusal returns the error for a call made while the node does not run. */
  private refusal(): Error | undefined {
    if (this.state === 'running') return undefined;
    if (this.fatalError !== undefined) return new ErrNodeStopped({ cause: this.fatalError });
    return new ErrNodeClosed();
  }

  private leaderOnly(): ErrNotLeader | undefined {
    if (this.rn.raft.state === StateType.StateLeader) return undefined;
    const lead = this.rn.raft.lead;
    return new ErrNotLeader(lead, this.peers.address(lead));
  }

  /** fail stops the node for good after a fatal error. */
  private fail(err: unknown): void {
    if (this.state === 'closed' || this.fatalError !== undefined) return;
    const e = err instanceof Error ? err : new Error(String(err));
    this.fatalError = e;
    this.logger.error(`raft node ${this.id} stopped: ${e.message}`);
    this.safeEmit('fatal', e);
    void this.shutdown(new ErrNodeStopped({ cause: e }));
  }

  private rejectBatch(err: Error): void {
    for (const p of this.batch) p.reject(err);
    this.batch = [];
  }

  /** shutdown rejects everything pending with err and releases the timer, transport, storage. */
  private shutdown(err: Error): Promise<void> {
    this.shutdownPromise ??= this.release(err);
    return this.shutdownPromise;
  }

  private async release(err: Error): Promise<void> {
    this.state = 'closed';
    clearInterval(this.timer);
    this.rejectBatch(err);
    this.tracker.rejectAll(err);
    this.reads.rejectAll(err);
    for (const c of this.conds) c.waiter.reject(err);
    this.conds.clear();
    await this.transport
      .close()
      .catch((e: unknown) => this.logger.warning(`transport close: ${String(e)}`));
    await this.storage
      .close()
      .catch((e: unknown) => this.logger.warning(`storage close: ${String(e)}`));
    this.resolveClosed();
  }

  /** safeEmit emits an event; a listener that throws is reported as uncaught, not fatal. */
  private safeEmit<K extends keyof NodeEvents>(event: K, ...args: NodeEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: NodeEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
