/**
 * MessageQueue: the per-peer FIFO of messages waiting for the socket, with their encoded
 * sizes. Taking from the front is O(taken): a head index moves forward and the array is
 * compacted once the dead prefix is at least half of it.
 */
import type { SizedMessage } from './frame.ts';

/** MessageQueue is a FIFO of sized messages; see the file comment. */
export class MessageQueue {
  /** Items in order; those before #head were taken. 0 <= #head <= #items.length. */
  #items: SizedMessage[] = [];
  #head = 0;
  /** Sum of the sizes of the items not yet taken. */
  #bytes = 0;

  /** length is the number of messages waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** bytes is the sum of the encoded sizes of the messages waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** push appends a message. */
  push(item: SizedMessage): void {
    this.#items.push(item);
    this.#bytes += item.size;
  }

  /**
   * take removes and returns the oldest messages, at least one if any wait, as long as
   * their framed size (4 + size each) stays within maxBody.
   */
  take(maxBody: number): SizedMessage[] {
    const items = this.#items;
    const start = this.#head;
    let end = start;
    let body = 0;
    while (end < items.length && (end === start || body + 4 + items[end]!.size <= maxBody)) {
      body += 4 + items[end]!.size;
      this.#bytes -= items[end]!.size;
      end++;
    }
    const out = items.slice(start, end);
    this.#head = end;
    if (this.#head === items.length) this.clear();
    else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  /** clear drops every waiting message. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
