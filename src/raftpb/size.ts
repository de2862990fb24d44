import type { Entry } from './types.ts';

/** varintSize returns the number of bytes of the protobuf varint encoding of a safe integer. */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  // Not a safe integer (Infinity would loop forever): the encoder refuses it anyway.
  if (!(v <= Number.MAX_SAFE_INTEGER)) return 10;
  let n = 4;
  v = Math.floor(v / 0x10000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 0x80);
  }
  return n;
}

/**
 * entrySize returns the length of an Entry's protobuf encoding in etcd's wire format
 * (type, term and index always written; data written when not undefined). Raft's byte
 * limits (MaxSizePerMsg, MaxCommittedSizePerReady, ...) are counted in this unit.
 */
export function entrySize(e: Entry): number {
  let n = 3 + varintSize(e.type) + varintSize(e.term) + varintSize(e.index);
  const d = e.data;
  if (d !== undefined) n += 1 + varintSize(d.length) + d.length;
  return n;
}
