/**
 * InteractionEnv drives a group of RawNodes by hand for datadriven scenario files (etcd-raft
 * `rafttest/interaction_env*.go`): the test decides when each node handles its Ready, which
 * messages are delivered or dropped, and when the storage threads run. Everything raft logs
 * and everything the harness prints goes into one output buffer, in the order it happens.
 *
 * This file holds the state and the operations; interaction_env_handler.ts maps the
 * datadriven commands onto them.
 */
import { describeEntries, describeMessage, describeReady } from '../raft/describe.ts';
import type { Config } from '../raft/config.ts';
import { RaftError } from '../raft/errors.ts';
import { newRawNode } from '../raft/rawnode.ts';
import type { RawNode } from '../raft/rawnode.ts';
import { MemoryStorage } from '../raft/storage.ts';
import { cloneSnapshot, isLocalMsgTarget, noLimit } from '../raft/util.ts';
import { decodeConfChange, decodeConfChangeV2 } from '../raftpb/codec.ts';
import {
  EntryType,
  MessageType,
  emptySnapshot,
  isEmptyHardState,
  isEmptySnap,
  newMessage,
} from '../raftpb/types.ts';
import type { ConfState, Entry, HardState, Message, Snapshot } from '../raftpb/types.ts';
import { RedirectLogger } from './interaction_env_logger.ts';

/**
 * InteractionError is an error a command reports as its output (Go handlers return it)
 * rather than one that aborts the file.
 */
export class InteractionError extends Error {
  readonly code = 'ERR_INTERACTION';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InteractionError';
  }
}

/**
 * isReportedError reports whether err is printed as a command's output: a harness error or
 * one of raft's documented errors. Everything else (RaftPanic, a bad file) aborts the file.
 */
export function isReportedError(err: unknown): err is Error {
  return err instanceof InteractionError || err instanceof RaftError;
}

/**
 * HistoryStorage is a MemoryStorage whose snapshot() returns the newest entry of the node's
 * History (the state after the last entry the harness applied), not the snapshot
 * MemoryStorage keeps. That is what a leader sends to a follower that needs a snapshot.
 */
export class HistoryStorage extends MemoryStorage {
  constructor(private readonly history: readonly Snapshot[]) {
    super();
  }

  override snapshot(): Snapshot {
    const last = this.history[this.history.length - 1];
    if (last === undefined) throw new Error('HistoryStorage: empty history');
    return last;
  }
}

/** InteractionNode is one member of the group and the harness state kept for it. */
export interface InteractionNode {
  readonly id: number;
  readonly rawNode: RawNode;
  readonly storage: HistoryStorage;
  readonly config: Config;
  /** MsgStorageAppend messages waiting for the append thread (async storage writes only). */
  appendWork: Message[];
  /** MsgStorageApply messages waiting for the apply thread (async storage writes only). */
  applyWork: Message[];
  /**
   * The state machine after each applied entry, oldest first; starts with the bootstrap (or
   * an empty) snapshot. Never empty.
   */
  history: Snapshot[];
}

/** Recipient names a node whose messages deliverMsgs delivers, or drops. */
export interface Recipient {
  id: number;
  drop: boolean;
}

/** InteractionOptions customise an InteractionEnv. */
export interface InteractionOptions {
  /** onConfig may adjust each node's Config before the node is created (not its id). */
  onConfig?: (cfg: Config) => void;
}

/** configTemplate is the Config every add-nodes starts from: no size limits at all. */
export function configTemplate(): Omit<Config, 'id' | 'storage'> {
  return {
    electionTick: 3,
    heartbeatTick: 1,
    maxSizePerMsg: noLimit,
    maxInflightMsgs: 2 ** 31 - 1,
  };
}

const utf8 = new TextEncoder();

/**
 * maxStabilizeRounds bounds the stabilize loop so that a livelock (a bug) fails the file
 * instead of hanging the run. Real scenarios settle within a few dozen rounds.
 */
const maxStabilizeRounds = 10_000;

/** concatBytes joins two byte strings (either may be absent). */
function concatBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array {
  const out = new Uint8Array((a?.length ?? 0) + (b?.length ?? 0));
  if (a !== undefined) out.set(a, 0);
  if (b !== undefined) out.set(b, a?.length ?? 0);
  return out;
}

/** InteractionEnv is the state of one scenario file: nodes, in-flight messages, output. */
export class InteractionEnv {
  readonly nodes: InteractionNode[] = [];
  /** The network: every message sent and not yet delivered or dropped, oldest first. */
  messages: Message[] = [];
  readonly output = new RedirectLogger();

  constructor(private readonly options: InteractionOptions = {}) {}

  /** node returns the node with the given id, throwing for an id that was never added. */
  node(id: number): InteractionNode {
    const n = Number.isInteger(id) ? this.nodes[id - 1] : undefined;
    if (n === undefined) {
      throw new RangeError(`no node with id ${id} (the group has ${this.nodes.length} nodes)`);
    }
    return n;
  }

  /**
   * addNodes creates n nodes with the next free ids from the config template cfg and the
   * initial snapshot snap. A snapshot other than the empty one bootstraps the nodes: it is
   * given term 1 and applied to each fresh storage (its index must be > 1).
   */
  addNodes(n: number, cfg: Omit<Config, 'id' | 'storage'>, snap: Snapshot): void {
    const bootstrap = !isEmptySnapshotValue(snap);
    for (let i = 0; i < n; i++) {
      const id = this.nodes.length + 1;
      const history: Snapshot[] = [snap];
      const storage = new HistoryStorage(history);
      if (bootstrap) {
        if (snap.metadata.index <= 1) {
          throw new InteractionError('index must be specified as > 1 due to bootstrap');
        }
        snap.metadata.term = 1;
        storage.applySnapshot(snap);
        const fi = storage.firstIndex();
        if (fi !== snap.metadata.index + 1) {
          throw new InteractionError(
            `failed to establish first index ${snap.metadata.index + 1}; got ${fi}`,
          );
        }
      }
      const config: Config = { ...cfg, id, storage };
      this.options.onConfig?.(config);
      if (config.id !== id) throw new InteractionError('OnConfig must not change the ID');
      if (config.logger !== undefined) throw new InteractionError('OnConfig must not set Logger');
      config.logger = this.output;
      const rawNode = newRawNode(config);
      this.nodes.push({ id, rawNode, storage, config, appendWork: [], applyWork: [], history });
    }
  }

  /**
   * processReady handles one Ready of node id: prints it, persists and applies it (unless the
   * node writes asynchronously, in which case the work is queued for its threads), queues
   * its messages on the network, and advances.
   */
  processReady(id: number): void {
    const n = this.node(id);
    const rd = n.rawNode.ready();
    this.output.write(describeReady(rd));
    const async = n.config.asyncStorageWrites === true;
    if (!async) {
      processAppend(n, rd.hardState, rd.entries, rd.snapshot);
      processApply(n, rd.committedEntries);
    }
    for (const m of rd.messages) {
      if (!isLocalMsgTarget(m.to)) {
        this.messages.push(m);
        continue;
      }
      if (!async) throw new Error('unexpected local msg target');
      if (m.type === MessageType.MsgStorageAppend) n.appendWork.push(m);
      else if (m.type === MessageType.MsgStorageApply) n.applyWork.push(m);
      else throw new Error(`unexpected message type ${m.type}`);
    }
    if (!async) n.rawNode.advance();
  }

  /**
   * processAppendThread performs the oldest MsgStorageAppend of node id: persists it, prints
   * it and its responses, and puts the responses on the network.
   */
  processAppendThread(id: number): void {
    const n = this.node(id);
    const m = n.appendWork.shift();
    if (m === undefined) {
      this.output.write('no append work to perform');
      return;
    }
    const resps = this.startWork(m);
    const st: HardState = { term: m.term, vote: m.vote, commit: m.commit };
    const snap = m.snapshot === undefined ? emptySnapshot() : cloneSnapshot(m.snapshot);
    processAppend(n, st, m.entries, snap);
    this.finishWork(resps);
  }

  /** processApplyThread performs the oldest MsgStorageApply of node id, like the above. */
  processApplyThread(id: number): void {
    const n = this.node(id);
    const m = n.applyWork.shift();
    if (m === undefined) {
      this.output.write('no apply work to perform');
      return;
    }
    const resps = this.startWork(m);
    processApply(n, m.entries);
    this.finishWork(resps);
  }

  private startWork(m: Message): Message[] {
    const resps = m.responses;
    m.responses = [];
    this.output.write(`Processing:\n${describeMessage(m)}\n`);
    return resps;
  }

  private finishWork(resps: Message[]): void {
    this.output.write('Responses:\n');
    for (const r of resps) this.output.write(`${describeMessage(r)}\n`);
    for (const r of resps) this.messages.push(r);
  }

  /**
   * deliverMsgs takes, for each recipient in order, the messages addressed to it (of type
   * typ, if given) off the network and steps them into the recipient, or prints them as
   * dropped. Local messages are never dropped. Returns the number of messages taken.
   */
  deliverMsgs(typ: MessageType | undefined, rs: readonly Recipient[]): number {
    let count = 0;
    for (const r of rs) {
      const [msgs, rest] = splitMsgs(this.messages, r.id, typ, r.drop);
      this.messages = rest;
      count += msgs.length;
      for (const m of msgs) {
        if (r.drop) {
          this.output.write(`dropped: ${describeMessage(m)}\n`);
          continue;
        }
        this.output.write(`${describeMessage(m)}\n`);
        try {
          this.node(m.to).rawNode.step(m);
        } catch (err) {
          if (!(err instanceof RaftError)) throw err;
          this.output.write(`${err.message}\n`);
        }
      }
    }
    return count;
  }

  /**
   * stabilize handles Readies, delivers messages and runs the storage threads of the given
   * nodes (all nodes when ids is empty) until none of them has anything left to do.
   */
  stabilize(ids: readonly number[]): void {
    const nodes = ids.length > 0 ? ids.map((id) => this.node(id)) : this.nodes.slice();
    const out = this.output;
    for (let round = 1; ; round++) {
      if (round > maxStabilizeRounds) {
        throw new Error(`stabilize: no fixed point after ${maxStabilizeRounds} rounds`);
      }
      let done = true;
      for (const n of nodes) {
        if (!n.rawNode.hasReady()) continue;
        out.write(`> ${n.id} handling Ready\n`);
        out.withIndent(() => this.processReady(n.id));
        done = false;
      }
      for (const n of nodes) {
        if (!this.messages.some((m) => m.to === n.id)) continue;
        out.write(`> ${n.id} receiving messages\n`);
        out.withIndent(() => this.deliverMsgs(undefined, [{ id: n.id, drop: false }]));
        done = false;
      }
      for (const n of nodes) {
        if (n.appendWork.length === 0) continue;
        out.write(`> ${n.id} processing append thread\n`);
        while (n.appendWork.length > 0) out.withIndent(() => this.processAppendThread(n.id));
        done = false;
      }
      for (const n of nodes) {
        if (n.applyWork.length === 0) continue;
        out.write(`> ${n.id} processing apply thread\n`);
        while (n.applyWork.length > 0) {
          out.withIndent(() => {
            try {
              this.processApplyThread(n.id);
            } catch (err) {
              // The Go harness ignores apply-thread errors here.
              if (!isReportedError(err)) throw err;
            }
          });
        }
        done = false;
      }
      if (done) return;
    }
  }

  /** raftLog prints the entries in node id's stable storage. */
  raftLog(id: number): void {
    const s = this.node(id).storage;
    const fi = s.firstIndex();
    const li = s.lastIndex();
    if (li < fi) {
      this.output.write(`log is empty: first index=${fi}, last index=${li}`);
      return;
    }
    this.output.write(describeEntries(s.entries(fi, li + 1, noLimit)));
  }

  /** compact discards node id's stored log before newFirstIndex (raft is not told). */
  compact(id: number, newFirstIndex: number): void {
    this.node(id).storage.compact(newFirstIndex);
    this.raftLog(id);
  }

  /** raftState prints, for every node, its role, voter status, term and leader as it sees them. */
  raftState(): void {
    for (const n of this.nodes) {
      const r = n.rawNode.raft;
      const voters = r.trk.config.voters;
      const voter = voters.incoming.has(n.id) || voters.outgoing.has(n.id);
      const state = stateName(r.state);
      this.output.write(
        `${n.id}: ${state} ${voter ? '(Voter)' : '(Non-Voter)'} Term:${r.term} Lead:${r.lead}\n`,
      );
    }
  }

  /** status prints node id's progress map (only a leader has one). */
  status(id: number): void {
    const progress = this.node(id).rawNode.status().progress;
    if (progress === undefined) return;
    const ids = [...progress.keys()].sort((a, b) => a - b);
    for (const pid of ids) this.output.write(`${pid}: ${String(progress.get(pid))}\n`);
  }

  /**
   * sendSnapshot puts a MsgSnap from node `from` to node `to` on the network, carrying the
   * sender's newest History snapshot, and prints it (without a final newline).
   */
  sendSnapshot(from: number, to: number): void {
    const sender = this.node(from);
    const msg = newMessage({
      type: MessageType.MsgSnap,
      from,
      to,
      term: sender.rawNode.basicStatus().hardState.term,
      snapshot: sender.storage.snapshot(),
    });
    this.messages.push(msg);
    this.output.write(describeMessage(msg));
  }

  /** tick ticks node id n times. */
  tick(id: number, n: number): void {
    const rn = this.node(id).rawNode;
    for (let i = 0; i < n; i++) rn.tick();
  }
}

/** stateName is the Go name of a raft role ("StateLeader"). */
function stateName(s: number): string {
  return ['StateFollower', 'StateCandidate', 'StateLeader', 'StatePreCandidate'][s] ?? `${s}`;
}

/** isEmptySnapshotValue reports whether snap equals the empty snapshot in every field. */
function isEmptySnapshotValue(snap: Snapshot): boolean {
  const cs = snap.metadata.confState;
  return (
    snap.metadata.index === 0 &&
    snap.metadata.term === 0 &&
    (snap.data === undefined || snap.data.length === 0) &&
    cs.voters.length === 0 &&
    cs.learners.length === 0 &&
    cs.votersOutgoing.length === 0 &&
    cs.learnersNext.length === 0 &&
    !cs.autoLeave
  );
}

/**
 * splitMsgs separates the messages addressed to `to` (of type typ, if given) from the rest,
 * keeping the order of both. When dropping, local messages stay: they need reliable delivery.
 */
function splitMsgs(
  msgs: readonly Message[],
  to: number,
  typ: MessageType | undefined,
  drop: boolean,
): [Message[], Message[]] {
  const taken: Message[] = [];
  const rest: Message[] = [];
  for (const m of msgs) {
    if (m.to === to && !(drop && isLocalMessage(m)) && (typ === undefined || m.type === typ)) {
      taken.push(m);
    } else {
      rest.push(m);
    }
  }
  return [taken, rest];
}

/** isLocalMessage: a message to itself or to/from a local storage thread. */
function isLocalMessage(m: Message): boolean {
  return m.from === m.to || isLocalMsgTarget(m.from) || isLocalMsgTarget(m.to);
}

/** processAppend writes a hard state and either a snapshot or entries to n's storage. */
function processAppend(
  n: InteractionNode,
  st: HardState,
  ents: Entry[],
  snap: Snapshot | undefined,
): void {
  const s = n.storage;
  if (!isEmptyHardState(st)) s.setHardState(st);
  if (!isEmptySnap(snap)) {
    if (ents.length > 0) {
      throw new InteractionError("can't apply snapshot and entries at the same time");
    }
    s.applySnapshot(snap as Snapshot);
    return;
  }
  s.append(ents);
}

/**
 * processApply applies committed entries to n's "appender" state machine: conf changes go
 * to raft, and every entry adds a History snapshot (data = previous data + payload).
 */
function processApply(n: InteractionNode, ents: readonly Entry[]): void {
  for (const ent of ents) {
    let update: Uint8Array | undefined;
    let cs: ConfState | undefined;
    if (ent.type === EntryType.EntryConfChange) {
      const cc = decodeOrReport(() => decodeConfChange(ent.data ?? new Uint8Array()));
      update = cc.context;
      cs = n.rawNode.applyConfChange(cc);
    } else if (ent.type === EntryType.EntryConfChangeV2) {
      const cc = decodeOrReport(() => decodeConfChangeV2(ent.data ?? new Uint8Array()));
      cs = n.rawNode.applyConfChange(cc);
      update = cc.context;
    } else {
      update = ent.data;
    }
    const last = n.history[n.history.length - 1] as Snapshot;
    n.history.push({
      data: concatBytes(last.data, update),
      metadata: { index: ent.index, term: ent.term, confState: cs ?? last.metadata.confState },
    });
  }
}

function decodeOrReport<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (isReportedError(err)) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new InteractionError(msg, { cause: err });
  }
}

/** bytesOf returns the UTF-8 bytes of s. */
export function bytesOf(s: string): Uint8Array {
  return utf8.encode(s);
}
