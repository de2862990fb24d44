/** A binary min-heap of timed events, ordered by (time, insertion order), for the simulator. */

/** Timed is anything with a time and a tie-breaking sequence number. */
export interface Timed {
  t: number;
  seq: number;
}

function less(a: Timed, b: Timed): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

/** EventHeap pops events in time order; equal times pop in the order they were pushed. */
export class EventHeap<T extends Timed> {
  private readonly items: T[] = [];

  /** size is the number of queued events. */
  get size(): number {
    return this.items.length;
  }

  /** push queues an event. */
  push(e: T): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pe = a[p] as T;
      if (!less(e, pe)) break;
      a[i] = pe;
      i = p;
    }
    a[i] = e;
  }

  /** pop removes and returns the earliest event, or undefined if there is none. */
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(a[r] as T, a[l] as T) ? r : l;
      if (!less(a[c] as T, last)) break;
      a[i] = a[c] as T;
      i = c;
    }
    a[i] = last;
    return top;
  }
}
