/**
 * An in-memory network of Transports for tests and single-process clusters, with the faults
 * tests need: drop, partition, delay, and a free-form filter.
 *
 * Messages travel through the raftpb codec (encode on send, decode on delivery), so what
 * arrives is a copy, exactly what a wire transport would deliver. Delivery is asynchronous:
 * in a microtask when there is no delay (so a test's `await` of one macrotask sees the whole
 * cascade settle), with setTimeout when a delay is set (fake timers move it).
 */
import { decodeMessage, encodeMessage } from '../raftpb/codec.ts';
import { MessageType } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import type { Transport, TransportHandler } from './interfaces.ts';

/** Verdict is what a filter decides for one message: deliver, drop, or delay it (ms). */
export type Verdict = 'deliver' | 'drop' | number;

/** MessageFilter decides the fate of a message before the network's own rules. */
export type MessageFilter = (m: Message) => Verdict | undefined;

/** NetworkStats counts what the network did. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
}

/**
 * MemoryNetwork connects MemoryTransports by address. Faults apply between node ids: a
 * dropped or partitioned link loses messages silently, and a message to a peer the sender
 * has no link to (unknown id, closed endpoint, other side of a partition) is reported back
 * as unreachable, the way a refused connection is. Delivering a MsgSnap reports the
 * snapshot as done; losing one reports it as failed.
 */
export class MemoryNetwork {
  /** stats counts messages sent, delivered and dropped over the network's life. */
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0 };
  private readonly endpoints = new Map<string, MemoryTransport>();
  private readonly dropped = new Set<string>();
  private readonly delays = new Map<string, number>();
  private groups: Map<number, number> | undefined;
  private filter: MessageFilter | undefined;

  /** transport returns a new transport for node id at address (default `mem://<id>`). */
  transport(id: number, address = `mem://${id}`): MemoryTransport {
    return new MemoryTransport(this, id, address);
  }

  /** drop loses every message from `from` to `to` (either may be '*') until heal(). */
  drop(from: number | '*', to: number | '*'): void {
    this.dropped.add(`${from}>${to}`);
  }

  /** delay holds messages from `from` to `to` (either may be '*') for ms until heal(). */
  delay(from: number | '*', to: number | '*', ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`delay: ms ${ms} must be >= 0`);
    this.delays.set(`${from}>${to}`, ms);
  }

  /**
   * partition splits the nodes into groups that only reach their own group; nodes not named
   * form one more group together.
   */
  partition(...groups: readonly (readonly number[])[]): void {
    this.groups = new Map();
    groups.forEach((g, i) => g.forEach((id) => this.groups?.set(id, i + 1)));
  }

  /** isolate cuts id off from every other node. */
  isolate(id: number): void {
    this.partition([id]);
  }

  /** setFilter installs (or, with undefined, removes) a filter consulted first. */
  setFilter(f: MessageFilter | undefined): void {
    this.filter = f;
  }

  /** heal removes every fault: drops, delays, partitions and the filter. */
  heal(): void {
    this.dropped.clear();
    this.delays.clear();
    this.groups = undefined;
    this.filter = undefined;
  }

  /** taken returns the error for a transport whose address another one uses. */
  taken(t: MemoryTransport): RangeError | undefined {
    const other = this.endpoints.get(t.address);
    if (other === undefined || other === t) return undefined;
    return new RangeError(`MemoryNetwork: address ${t.address} is already in use`);
  }

  /** register attaches a started transport; used by MemoryTransport. */
  register(t: MemoryTransport): void {
    this.endpoints.set(t.address, t);
  }

  /** unregister detaches a transport; used by MemoryTransport. */
  unregister(t: MemoryTransport): void {
    if (this.endpoints.get(t.address) === t) this.endpoints.delete(t.address);
  }

  /** route decides and performs the delivery of one message; used by MemoryTransport. */
  route(from: MemoryTransport, address: string | undefined, m: Message): void {
    this.stats.sent++;
    const to = address === undefined ? undefined : this.endpoints.get(address);
    if (to === undefined || to.id !== m.to || !this.linked(from.id, m.to)) {
      this.stats.dropped++;
      from.lost(m, true);
      return;
    }
    const v = this.verdict(m);
    if (v === 'drop') {
      this.stats.dropped++;
      from.lost(m, false);
      return;
    }
    const bytes = encodeMessage(m);
    const deliver = (): void => {
      if (!this.endpoints.has(to.address) || !this.linked(from.id, m.to)) {
        this.stats.dropped++;
        from.lost(m, true);
        return;
      }
      this.stats.delivered++;
      to.deliver(decodeMessage(bytes));
      if (m.type === MessageType.MsgSnap) from.snapshotDone(m.to);
    };
    if (v === 0) queueMicrotask(deliver);
    else setTimeout(deliver, v);
  }

  private linked(a: number, b: number): boolean {
    return this.groups === undefined || (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  private verdict(m: Message): 'drop' | number {
    const f = this.filter?.(m);
    if (f === 'drop') return 'drop';
    if (typeof f === 'number') return f;
    const keys = [`${m.from}>${m.to}`, `${m.from}>*`, `*>${m.to}`, '*>*'];
    if (keys.some((k) => this.dropped.has(k))) return 'drop';
    for (const k of keys) {
      const d = this.delays.get(k);
      if (d !== undefined) return d;
    }
    return 0;
  }
}

/**
 * MemoryTransport is one node's endpoint on a MemoryNetwork; it implements Transport.
 * send() never throws; messages to peers never added with addPeer() are reported
 * unreachable.
 */
export class MemoryTransport implements Transport {
  readonly id: number;
  readonly address: string;
  private readonly net: MemoryNetwork;
  private readonly peers = new Map<number, string>();
  private handler: TransportHandler | undefined;
  private state: 'new' | 'open' | 'closed' = 'new';
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  /** Use MemoryNetwork.transport() to make one. */
  constructor(net: MemoryNetwork, id: number, address: string) {
    this.net = net;
    this.id = id;
    this.address = address;
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
  }

  /** start implements Transport; it rejects with a RangeError if the address is taken. */
  start(handler: TransportHandler): Promise<void> {
    if (this.state !== 'new') return Promise.reject(new Error('MemoryTransport: already started'));
    const taken = this.net.taken(this);
    if (taken !== undefined) return Promise.reject(taken);
    this.net.register(this);
    this.handler = handler;
    this.state = 'open';
    return Promise.resolve();
  }

  /** send implements Transport. */
  send(msgs: readonly Message[]): void {
    if (this.state !== 'open') return;
    for (const m of msgs) this.net.route(this, this.peers.get(m.to), m);
  }

  /** addPeer implements Transport. */
  addPeer(id: number, address: string): void {
    this.peers.set(id, address);
  }

  /** removePeer implements Transport. */
  removePeer(id: number): void {
    this.peers.delete(id);
  }

  /** peerIds lists the peers added and not removed, for tests. */
  peerIds(): number[] {
    return [...this.peers.keys()].sort((a, b) => a - b);
  }

  /** close implements Transport. */
  close(): Promise<void> {
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.net.unregister(this);
      this.handler = undefined;
      this.resolveClosed();
    }
    return this.closedPromise;
  }

  /** closed implements Transport. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /** deliver hands an inbound message to the handler; used by MemoryNetwork. */
  deliver(m: Message): void {
    this.handler?.receive(m);
  }

  /** lost reports (in a microtask) a message that did not arrive; used by MemoryNetwork. */
  lost(m: Message, unreachable: boolean): void {
    if (!unreachable && m.type !== MessageType.MsgSnap) return;
    queueMicrotask(() => {
      const h = this.handler;
      if (h === undefined) return;
      if (unreachable) h.reportUnreachable(m.to);
      if (m.type === MessageType.MsgSnap) h.reportSnapshot(m.to, false);
    });
  }

  /** snapshotDone reports a delivered MsgSnap; used by MemoryNetwork. */
  snapshotDone(to: number): void {
    this.handler?.reportSnapshot(to, true);
  }
}
