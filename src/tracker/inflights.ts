/**
 * Inflights is the sliding window of MsgApp messages sent to one follower and not yet
 * acknowledged. Each message is remembered by the index of its last entry and its payload
 * size. The window is limited both by message count (`size`) and by total bytes (`maxBytes`,
 * a soft limit: the message that crosses it is still accepted; 0 means no byte limit).
 *
 * The caller checks full() before add(), adds messages with increasing indexes, and releases
 * them with freeLE() when the follower acknowledges an index.
 *
 * The window is a ring buffer that starts empty and doubles on demand up to `size` slots, so
 * that a process hosting many raft groups does not pay for idle windows.
 */
export class Inflights {
  /** The maximum number of messages in flight (>= 0; a window of size 0 is always full). */
  readonly size: number;
  /** The byte budget of the window; 0 means unlimited. */
  readonly maxBytes: number;
  /** Slot of the oldest message; 0 whenever the window is empty. 0 <= start < capacity. */
  private start = 0;
  /** Number of messages in flight: 0 <= n <= size. */
  private n = 0;
  /** Sum of the byte sizes of the messages in flight. */
  private totalBytes = 0;
  /**
   * The ring, two numbers per slot: [index, bytes]. Its capacity (length / 2) only grows,
   * never beyond `size`; messages wrap around at `size`, so they never wrap before the ring
   * has reached its full capacity.
   */
  private ring: Float64Array = new Float64Array(0);

  /** Inflights creates an empty window of at most size messages and maxBytes bytes. */
  constructor(size: number, maxBytes = 0) {
    if (!(size >= 0)) throw new RangeError(`Inflights size must be >= 0, got ${size}`);
    if (!(maxBytes >= 0)) throw new RangeError(`Inflights maxBytes must be >= 0, got ${maxBytes}`);
    this.size = size;
    this.maxBytes = maxBytes;
  }

  /** clone returns an identical window that shares no memory with this one. */
  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes);
    c.start = this.start;
    c.n = this.n;
    c.totalBytes = this.totalBytes;
    c.ring = this.ring.slice();
    return c;
  }

  /**
   * add records a message whose last entry has the given index and whose entries total
   * `bytes`. The window must not be full and indexes must increase from call to call; a full
   * window is a broken invariant and throws.
   */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('cannot add into a Full inflights');
    let slot = this.start + this.n;
    if (slot >= this.size) slot -= this.size;
    if (slot * 2 >= this.ring.length) this.grow();
    this.ring[slot * 2] = index;
    this.ring[slot * 2 + 1] = bytes;
    this.n++;
    this.totalBytes += bytes;
  }

  /** freeLE releases every message whose index is at most `to` (the follower acked `to`). */
  freeLE(to: number): void {
    if (this.n === 0 || to < this.ring[this.start * 2]!) return;
    let slot = this.start;
    let freed = 0;
    let bytes = 0;
    while (freed < this.n && this.ring[slot * 2]! <= to) {
      bytes += this.ring[slot * 2 + 1]!;
      freed++;
      if (++slot >= this.size) slot -= this.size;
    }
    this.n -= freed;
    this.totalBytes -= bytes;
    // Restart at slot 0 when empty so that the ring does not grow needlessly.
    this.start = this.n === 0 ? 0 : slot;
  }

  /** full reports whether no further message may be sent now. */
  full(): boolean {
    return this.n === this.size || (this.maxBytes !== 0 && this.totalBytes >= this.maxBytes);
  }

  /** count returns the number of messages in flight. */
  count(): number {
    return this.n;
  }

  /** bytes returns the total payload size of the messages in flight. */
  bytes(): number {
    return this.totalBytes;
  }

  /** reset forgets every message in flight (the ring keeps its capacity). */
  reset(): void {
    this.start = 0;
    this.n = 0;
    this.totalBytes = 0;
  }

  private grow(): void {
    const capacity = this.ring.length / 2;
    const grown = capacity === 0 ? 1 : Math.min(capacity * 2, this.size);
    const next = new Float64Array(grown * 2);
    next.set(this.ring);
    this.ring = next;
  }
}
