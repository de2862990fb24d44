/** Indexed is anything kept at a log index. */
export interface Indexed {
  readonly index: number;
}

/** Below this many settled slots at its front, an IndexQueue does not bother to compact. */
const compactAfter = 1024;

/**
 * IndexQueue maps log indexes to items, like a Map<number, T>, for items that arrive in
 * increasing index order and mostly leave in that order too: a proposal is placed at the end
 * of the log and settled when its entry is applied, from the start. It is a sorted array used
 * as a queue: O(1) at both ends and for consecutive indexes, binary search otherwise, and no
 * garbage per item (a Map rehashes as it churns; the Node's proposals pass through it one by
 * one).
 *
 * Invariant: items[head..] are defined and sorted by strictly increasing index; the slots
 * before head are empty.
 */
export class IndexQueue<T extends Indexed> {
  private items: (T | undefined)[] = [];
  private head = 0;

  /** size is the number of items. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** get returns the item at index, if any. */
  get(index: number): T | undefined {
    const at = this.find(index);
    return at < 0 ? undefined : this.items[at];
  }

  /** last returns the item with the highest index, if any. */
  last(): T | undefined {
    return this.size === 0 ? undefined : this.items[this.items.length - 1];
  }

  /** set adds item, replacing the one at the same index. */
  set(item: T): void {
    const last = this.last();
    if (last === undefined || last.index < item.index) {
      this.items.push(item);
      return;
    }
    const at = this.lowerBound(item.index);
    if (this.items[at]?.index === item.index) this.items[at] = item;
    else this.items.splice(at, 0, item);
  }

  /** delete removes the item at index, if any. */
  delete(index: number): void {
    const at = this.find(index);
    if (at < 0) return;
    if (at === this.items.length - 1) this.items.pop();
    else if (at > this.head) this.items.splice(at, 1);
    else this.items[this.head++] = undefined;
    this.compact();
  }

  /** values returns the items in index order (a copy). */
  values(): T[] {
    return this.items.slice(this.head) as T[];
  }

  /** find returns the position of index in items, -1 if absent. */
  private find(index: number): number {
    const first = this.items[this.head];
    if (first === undefined) return -1;
    const guess = this.head + index - first.index; // exact while indexes are consecutive
    if (guess >= this.head && this.items[guess]?.index === index) return guess;
    const at = this.lowerBound(index);
    return this.items[at]?.index === index ? at : -1;
  }

  /** lowerBound returns the first position at or after head whose index is >= index. */
  private lowerBound(index: number): number {
    let [lo, hi] = [this.head, this.items.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.items[mid] as T).index < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** compact drops the empty slots at the front once they are the larger part. */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= compactAfter && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
