/**
 * MemberTransport: the Transport a raftkv member gives its Node, wrapped around the real one
 * (TcpTransport). It does two things on the way:
 *
 * - it records the address of every peer the Node tells it about (addPeer/removePeer, from
 *   the configuration's conf change contexts and snapshots), so that MemberList can show
 *   each member's peer URL on every member, not only on the one that added it;
 * - it can **isolate** the member for fault injection: while isolated, every raft message
 *   in or out is dropped, as if the network around the member were cut. Dropped sends are
 *   reported to raft as unreachable peers (and a dropped MsgSnap as a failed snapshot), as
 *   the TCP transport does when a link is down; reports are made asynchronously, never from
 *   inside send(), as the Transport contract asks.
 */
import type { Transport, TransportHandler } from '../../node/interfaces.ts';
import { MessageType } from '../../raftpb/types.ts';
import type { Message } from '../../raftpb/types.ts';

/**
 * MemberTransport wraps a Transport; see the file comment. Error contract: that of the
 * wrapped transport (send never throws); isolate() and heal() never throw.
 */
export class MemberTransport implements Transport {
  readonly #inner: Transport;
  readonly #addresses = new Map<number, string>();
  #handler: TransportHandler | undefined;
  #isolated = false;
  #unreachable = new Set<number>();
  #failedSnaps: number[] = [];
  #reportScheduled = false;
  #closing = false;
  /** dropped counts the messages dropped while isolated (in and out). */
  dropped = 0;

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  /** isolated reports whether the member is cut off from its peers. */
  get isolated(): boolean {
    return this.#isolated;
  }

  /** isolate drops every raft message to and from the peers from now on. */
  isolate(): void {
    this.#isolated = true;
  }

  /** heal lets raft messages through again. */
  heal(): void {
    this.#isolated = false;
  }

  /** address returns the transport address last given for peer id, if any. */
  address(id: number): string | undefined {
    return this.#addresses.get(id);
  }

  /** start implements Transport: the handler given to the inner transport drops while isolated. */
  start(handler: TransportHandler): Promise<void> {
    this.#handler = handler;
    return this.#inner.start({
      receive: (m) => {
        if (this.#isolated) this.dropped++;
        else handler.receive(m);
      },
      reportUnreachable: (id) => handler.reportUnreachable(id),
      reportSnapshot: (id, ok) => handler.reportSnapshot(id, ok),
    });
  }

  /** send implements Transport. */
  send(msgs: readonly Message[]): void {
    if (!this.#isolated) {
      this.#inner.send(msgs);
      return;
    }
    for (const m of msgs) {
      this.dropped++;
      this.#unreachable.add(m.to);
      if (m.type === MessageType.MsgSnap) this.#failedSnaps.push(m.to);
    }
    this.#scheduleReports();
  }

  /** addPeer implements Transport and records the address. */
  addPeer(id: number, address: string): void {
    this.#inner.addPeer(id, address);
    this.#addresses.set(id, address);
  }

  /** removePeer implements Transport and forgets the address. */
  removePeer(id: number): void {
    this.#inner.removePeer(id);
    this.#addresses.delete(id);
  }

  /** close implements Transport; no report is made after it. */
  close(): Promise<void> {
    this.#closing = true;
    return this.#inner.close();
  }

  /** closed implements Transport. */
  closed(): Promise<void> {
    return this.#inner.closed();
  }

  #scheduleReports(): void {
    if (this.#reportScheduled) return;
    this.#reportScheduled = true;
    queueMicrotask(() => {
      this.#reportScheduled = false;
      const h = this.#handler;
      const unreachable = this.#unreachable;
      const snaps = this.#failedSnaps;
      this.#unreachable = new Set();
      this.#failedSnaps = [];
      if (h === undefined || this.#closing) return;
      for (const id of snaps) h.reportSnapshot(id, false);
      for (const id of unreachable) h.reportUnreachable(id);
    });
  }
}
