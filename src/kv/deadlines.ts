/**
 * DeadlineWheel: the request deadlines of one server on a single timer. A timer per request
 * (setTimeout, clearTimeout, and the AbortSignal it usually feeds) is a measurable share of
 * a short request's cost; here a deadline joins a slot of `resolutionMs`, slots fire in
 * order from one timer, and a request that ends first leaves its slot in O(1).
 */

/**
 * Expiring is what a DeadlineWheel holds: expire() is called once its deadline has passed,
 * unless it was removed first. The wheel owns `slot` and `index` while it holds the item.
 */
export interface Expiring {
  expire(): void;
  /** slot is the wheel's slot holding this item; undefined when none does. */
  slot: Slot | undefined;
  /** index is this item's place in its slot. */
  index: number;
}

/** Slot is one tick of a DeadlineWheel: the items due at `tick`. */
export interface Slot {
  readonly tick: number;
  readonly items: Expiring[];
}

/** DeadlineWheelOptions configure a DeadlineWheel. */
export interface DeadlineWheelOptions {
  /** resolutionMs: deadlines are rounded up to a multiple of it. Default 10. */
  resolutionMs?: number;
  /** now returns the time in ms (monotonic). Default performance.now. */
  now?: () => number;
}

/**
 * DeadlineWheel calls expire() on each item at or shortly after (by at most resolutionMs
 * plus timer lateness) its deadline. Its one timer stays armed when the wheel empties (so
 * that one request at a time does not set and clear a timer each) but is unref'd then: an
 * idle wheel keeps no process alive.
 */
export class DeadlineWheel {
  private readonly resolutionMs: number;
  private readonly now: () => number;
  private readonly slots = new Map<number, Slot>();
  /** ticks is a binary min-heap of the keys of `slots`. */
  private readonly ticks: number[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** armedTick is the tick the timer fires for; Infinity when it is not armed. */
  private armedTick = Infinity;
  /** live counts the items held. */
  private live = 0;

  constructor(o: DeadlineWheelOptions = {}) {
    this.resolutionMs = o.resolutionMs ?? 10;
    this.now = o.now ?? (() => performance.now());
    if (!(this.resolutionMs > 0)) {
      throw new RangeError(`DeadlineWheel: resolutionMs ${this.resolutionMs} must be > 0`);
    }
  }

  /** size is the number of items waiting for their deadline. */
  get size(): number {
    return this.live;
  }

  /** add holds item until `afterMs` from now; an item already held is moved. */
  add(item: Expiring, afterMs: number): void {
    if (item.slot !== undefined) this.remove(item);
    const tick = Math.ceil((this.now() + Math.max(0, afterMs)) / this.resolutionMs);
    let slot = this.slots.get(tick);
    if (slot === undefined) {
      slot = { tick, items: [] };
      this.slots.set(tick, slot);
      heapPush(this.ticks, tick);
    }
    item.slot = slot;
    item.index = slot.items.length;
    slot.items.push(item);
    if (this.live++ === 0) this.timer?.ref();
    if (tick < this.armedTick) this.arm(tick);
  }

  /** remainingMs is the time left until item's deadline (rounded up to the resolution); 0 when the wheel does not hold it. */
  remainingMs(item: Expiring): number {
    const slot = item.slot;
    return slot === undefined ? 0 : Math.max(0, slot.tick * this.resolutionMs - this.now());
  }

  /** remove forgets item (a no-op when the wheel does not hold it). */
  remove(item: Expiring): void {
    const slot = item.slot;
    if (slot === undefined) return;
    const items = slot.items;
    const last = items.pop() as Expiring;
    if (last !== item) {
      items[item.index] = last;
      last.index = item.index;
    }
    item.slot = undefined;
    if (--this.live === 0) this.timer?.unref();
  }

  /** close forgets every item without expiring it. */
  close(): void {
    for (const slot of this.slots.values()) for (const item of slot.items) item.slot = undefined;
    this.live = 0;
    this.reset();
  }

  private reset(): void {
    this.slots.clear();
    this.ticks.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedTick = Infinity;
  }

  private arm(tick: number): void {
    clearTimeout(this.timer);
    this.armedTick = tick;
    const delayMs = Math.max(0, tick * this.resolutionMs - this.now());
    this.timer = setTimeout(() => this.fire(), delayMs);
  }

  private fire(): void {
    this.timer = undefined;
    this.armedTick = Infinity;
    const nowTick = this.now() / this.resolutionMs;
    while (this.ticks.length > 0 && (this.ticks[0] as number) <= nowTick) {
      const tick = heapPop(this.ticks);
      const slot = this.slots.get(tick) as Slot;
      this.slots.delete(tick);
      // Detach the whole slot first: expire() may end other requests, which remove() them.
      for (const item of slot.items) item.slot = undefined;
      this.live -= slot.items.length;
      for (const item of slot.items) item.expire();
    }
    if (this.live === 0) {
      this.reset();
      return;
    }
    const next = this.ticks[0];
    if (next !== undefined) this.arm(next);
  }
}

function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if ((h[parent] as number) <= v) break;
    h[i] = h[parent] as number;
    i = parent;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0] as number;
  const last = h.pop() as number;
  if (h.length === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const r = l + 1;
    const c = r < h.length && (h[r] as number) < (h[l] as number) ? r : l;
    if ((h[c] as number) >= last) break;
    h[i] = h[c] as number;
    i = c;
  }
  h[i] = last;
  return top;
}
