import type { Entry, HardState, Message, Snapshot } from '../raftpb/types.ts';
import type { Storage } from '../raft/storage.ts';

/**
 * TransportHandler is what a Transport calls into: the Node that owns it. Calls arrive on the
 * event loop; the handler never throws.
 */
export interface TransportHandler {
  /** receive hands an inbound raft message to the node. */
  receive(m: Message): void;
  /** reportUnreachable tells raft that messages to `id` were dropped (queue full, no link). */
  reportUnreachable(id: number): void;
  /** reportSnapshot tells raft whether a MsgSnap to `id` was delivered (true) or failed. */
  reportSnapshot(id: number, ok: boolean): void;
}

/**
 * Transport moves raft messages between nodes (etcd-raft leaves this to the application).
 * Delivery is best effort: raft copes with loss, duplication and reordering.
 *
 * Error contract: send() never throws and never blocks; a message that cannot be queued is
 * dropped and reported through the handler. close() resolves once every connection and
 * timer is released; closed() resolves when the transport has stopped for any reason.
 */
export interface Transport {
  /** start attaches the handler and begins accepting and making connections. */
  start(handler: TransportHandler): Promise<void>;
  /** send queues the messages of one Ready for their peers (each m.to), in order. */
  send(msgs: readonly Message[]): void;
  /** addPeer / removePeer keep the transport's membership in step with the configuration. */
  addPeer(id: number, address: string): void;
  removePeer(id: number): void;
  close(): Promise<void>;
  closed(): Promise<void>;
}

/**
 * StateMachine is the application's replicated state. The Node calls apply() with committed
 * entries in log order (EntryNormal entries with data only; conf changes and empty entries are
 * handled by the Node), snapshot() (or snapshotChunks()) when it wants to compact the log, and
 * restore() when a snapshot from the leader replaces the state.
 *
 * A snapshot is taken in the background: the Node goes on applying entries while the
 * promise of snapshot() is pending or the chunks are pulled. So the state must be captured
 * when snapshot() or snapshotChunks() is called (synchronously, e.g. a copy-on-write view);
 * entries applied later must not show in it.
 *
 * Error contract: apply must be deterministic; an error thrown from apply, snapshot or
 * restore stops the Node (the replica can no longer be trusted), it is never skipped.
 */
export interface StateMachine {
  /** apply returns one result per entry, given to the proposer's propose() promise. */
  apply(entries: readonly Entry[]): unknown[] | Promise<unknown[]>;
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /**
   * snapshotChunks, if implemented, is preferred to snapshot(): the same data in pieces
   * (their concatenation), which a DurableStorage writes out as they come, so that the
   * whole snapshot never has to be in memory at once.
   */
  snapshotChunks?(): AsyncIterable<Uint8Array>;
  restore(data: Uint8Array): void | Promise<void>;
}

/**
 * DurableStorage is raft's Storage (read synchronously by the core from an in-memory cache)
 * plus the asynchronous writes that make state durable.
 *
 * Error contract: a rejected save()/saveSnapshot() means the write may or may not be on disk;
 * the Node stops for good and never acknowledges it (an fsync error is never retried).
 */
export interface DurableStorage extends Storage {
  /**
   * save makes hard state, entries (replacing any conflicting suffix) and snapshot durable, in
   * that one call; concurrent calls may share one fsync (group commit). It resolves once
   * durable. The in-memory view used by Storage reflects the call as soon as it is made.
   */
  save(
    hardState: HardState | undefined,
    entries: readonly Entry[],
    snapshot?: Snapshot,
  ): Promise<void>;
  /**
   * createSnapshot records the application's snapshot at `index` (must be applied) and may
   * release log before it; compactTo drops log entries before `index` from memory and disk.
   * With `chunks`, the snapshot's data is their concatenation (snapshot.data is ignored),
   * consumed once; until the promise resolves, snapshot() may serve the previous snapshot
   * or throw ErrSnapshotTemporarilyUnavailable.
   */
  createSnapshot(snapshot: Snapshot, chunks?: AsyncIterable<Uint8Array>): Promise<void>;
  compactTo(index: number): Promise<void>;
  close(): Promise<void>;
}
