/**
 * Protobuf base-128 varints of non-negative safe integers, for the hand-written encoders of
 * raftkv (put_codec.ts, command.ts, snapshot.ts). Division, not bit operations, so that values
 * past 2^31 stay exact.
 */

/** varintSize is the number of bytes of v as a varint. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** putVarint writes v at buf[pos] and returns the position after it. */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}
