import { decodeConfChange, decodeConfChangeV2 } from '../raftpb/codec.ts';
import { EntryType, isEmptyHardState, isEmptySnap, newConfState } from '../raftpb/types.ts';
import type { ConfState, Entry, Message } from '../raftpb/types.ts';
import type { Config } from '../raft/config.ts';
import { discardLogger } from '../raft/logger.ts';
import { RawNode } from '../raft/rawnode.ts';
import type { ReadState } from '../raft/ready.ts';
import { StateType } from '../raft/ready.ts';
import { MemoryStorage } from '../raft/storage.ts';

/** TestNode is one member of a Network: a RawNode, its storage and what it applied. */
/** NetStorage is a MemoryStorage that refreshes its snapshot before handing it out. */
export class NetStorage extends MemoryStorage {
  beforeSnapshot: (() => void) | undefined;

  override snapshot(): ReturnType<MemoryStorage['snapshot']> {
    this.beforeSnapshot?.();
    return super.snapshot();
  }

  /** snapshotIndex returns the index of the stored snapshot without refreshing it. */
  snapshotIndex(): number {
    return super.snapshot().metadata.index;
  }
}

export interface TestNode {
  id: number;
  storage: NetStorage;
  rn: RawNode;
  /** applied lists every committed entry this node applied, in order (since its creation). */
  applied: Entry[];
  /** appliedIndex is the index of the last applied entry (survives restarts). */
  appliedIndex: number;
  confState: ConfState;
  readStates: ReadState[];
  config: Config;
}

/** NetworkOptions configure every node of a Network. */
export interface NetworkOptions {
  voters: number[];
  learners?: number[];
  config?: Partial<Config>;
  /** compactEvery makes each node snapshot and compact every that many applied entries. */
  compactEvery?: number;
}

/**
 * Network is a deterministic, synchronous cluster of RawNodes for tests: it processes every
 * Ready like a real application (persist, apply, send), delivers messages through a filter
 * (drops and partitions), and can crash and restart nodes from their storage.
 */
export class Network {
  readonly nodes = new Map<number, TestNode>();
  /** queue holds messages in flight, in send order. */
  queue: Message[] = [];
  /** cut holds the one-way links that drop messages, as "from->to". */
  private readonly cut = new Set<string>();
  /** dropIf drops any message it returns true for. */
  dropIf: ((m: Message) => boolean) | undefined;
  private readonly opts: NetworkOptions;
  private seed = 1;

  constructor(opts: NetworkOptions) {
    this.opts = opts;
    for (const id of [...opts.voters, ...(opts.learners ?? [])]) this.addNode(id, true);
  }

  /** addNode creates node `id`; bootstrapped nodes start with the network's ConfState. */
  addNode(id: number, bootstrap: boolean): TestNode {
    const cs = bootstrap
      ? {
          ...newConfState(),
          voters: [...this.opts.voters],
          learners: [...(this.opts.learners ?? [])],
        }
      : newConfState();
    // Bootstrapped nodes start from a snapshot at index 1 (like etcd's test harness), so a
    // node added later must be caught up by snapshot, the way it learns the configuration.
    const storage = new NetStorage();
    if (bootstrap) storage.applySnapshot({ metadata: { confState: cs, index: 1, term: 1 } });
    const n = this.makeNode(id, storage, bootstrap ? 1 : 0);
    n.confState = cs;
    return n;
  }

  private makeNode(id: number, storage: NetStorage, applied: number): TestNode {
    let s = (this.seed++ * 7919 + id) >>> 0;
    const config: Config = {
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      maxInflightMsgs: 256,
      maxSizePerMsg: Number.POSITIVE_INFINITY,
      logger: discardLogger,
      applied,
      randomIntn: (k: number) => {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        return (s >>> 8) % k;
      },
      ...this.opts.config,
    };
    const rn = new RawNode(config);
    const n: TestNode = {
      id,
      storage,
      rn,
      applied: [],
      appliedIndex: applied,
      confState: storage.initialState().confState,
      readStates: [],
      config,
    };
    // Like an application's snapshotter, the snapshot handed to raft is taken of the state as
    // applied now, so it always carries the current configuration.
    storage.beforeSnapshot = () => {
      if (n.appliedIndex > storage.snapshotIndex()) {
        storage.createSnapshot(n.appliedIndex, n.confState, new Uint8Array([1]));
      }
    };
    this.nodes.set(id, n);
    return n;
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  /** restart simulates a crash: the node keeps only its storage (durable state). */
  restart(id: number): TestNode {
    const old = this.node(id);
    this.queue = this.queue.filter((m) => m.to !== id);
    const n = this.makeNode(id, old.storage, old.appliedIndex);
    n.confState = old.confState;
    return n;
  }

  /** isolate cuts every link to and from id; heal restores all links. */
  isolate(id: number): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  /** cutLink drops messages from a to b (one way). */
  cutLink(from: number, to: number): void {
    this.cut.add(`${from}->${to}`);
  }

  heal(): void {
    this.cut.clear();
    this.dropIf = undefined;
  }

  /** processReady handles one Ready of node id like an application would. */
  processReady(n: TestNode): void {
    const rd = n.rn.ready();
    if (!isEmptyHardState(rd.hardState)) n.storage.setHardState(rd.hardState);
    if (!isEmptySnap(rd.snapshot) && rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      n.confState = rd.snapshot.metadata.confState;
      n.appliedIndex = rd.snapshot.metadata.index;
    }
    n.storage.append(rd.entries);
    for (const m of rd.messages) this.queue.push(m);
    for (const rs of rd.readStates) n.readStates.push(rs);
    for (const e of rd.committedEntries) this.apply(n, e);
    n.rn.advance();
    this.maybeCompact(n);
  }

  private apply(n: TestNode, e: Entry): void {
    if (e.type === EntryType.EntryConfChange) {
      n.confState = n.rn.applyConfChange(decodeConfChange(e.data ?? new Uint8Array()));
    } else if (e.type === EntryType.EntryConfChangeV2) {
      n.confState = n.rn.applyConfChange(decodeConfChangeV2(e.data ?? new Uint8Array()));
    }
    n.applied.push(e);
    n.appliedIndex = e.index;
  }

  private maybeCompact(n: TestNode): void {
    const every = this.opts.compactEvery;
    if (every === undefined) return;
    const snapIndex = n.storage.snapshotIndex();
    if (n.appliedIndex - snapIndex < every) return;
    n.storage.createSnapshot(n.appliedIndex, n.confState, new Uint8Array([1]));
    n.storage.compact(n.appliedIndex);
  }

  /** deliver steps every queued message (once), dropping those the filters reject. */
  deliver(): number {
    const msgs = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of msgs) {
      const to = this.nodes.get(m.to);
      if (to === undefined) continue;
      if (this.cut.has(`${m.from}->${m.to}`)) continue;
      if (this.dropIf?.(m) === true) continue;
      try {
        to.rn.step(m);
      } catch {
        // Dropped proposals and unknown peers are normal in tests.
      }
      delivered++;
    }
    return delivered;
  }

  /** stabilize processes Readys and delivers messages until nothing changes. */
  stabilize(maxRounds = 10_000): void {
    for (let i = 0; i < maxRounds; i++) {
      let busy = false;
      for (const n of this.nodes.values()) {
        while (n.rn.hasReady()) {
          this.processReady(n);
          busy = true;
        }
      }
      if (this.queue.length > 0) {
        this.deliver();
        busy = true;
      }
      if (!busy) return;
    }
    throw new Error(`network did not stabilize within ${maxRounds} rounds`);
  }

  /** tick ticks the given nodes (all by default) `times` times, stabilizing after each. */
  tick(times: number, ids: number[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) this.node(id).rn.tick();
      this.stabilize();
    }
  }

  /** campaign makes id campaign and runs the election to completion. */
  campaign(id: number): void {
    this.node(id).rn.campaign();
    this.stabilize();
  }

  /** leaders returns the ids of the nodes that believe they lead. */
  leaders(): number[] {
    const out: number[] = [];
    for (const n of this.nodes.values()) {
      if (n.rn.raft.state === StateType.StateLeader) out.push(n.id);
    }
    return out;
  }

  /** propose proposes a string on node id and returns whether it was accepted. */
  propose(id: number, data: string): boolean {
    try {
      this.node(id).rn.propose(new TextEncoder().encode(data));
      return true;
    } catch {
      return false;
    }
  }

  /** appliedData returns the payloads of the normal, non-empty entries a node applied. */
  appliedData(id: number): string[] {
    const dec = new TextDecoder();
    return this.node(id)
      .applied.filter((e) => e.type === EntryType.EntryNormal && (e.data?.length ?? 0) > 0)
      .map((e) => dec.decode(e.data));
  }
}
