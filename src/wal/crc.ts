/**
 * CRC-32C (Castagnoli), the checksum of WAL records and snapshot files, from the
 * `@node-rs/crc32` package: SSE4.2 / ARMv8 CRC instructions behind a prebuilt N-API binary
 * shipped inside the npm package (nothing is downloaded at install time).
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/**
 * crc32c returns the CRC-32C of `data`, continuing from `seed` (the CRC of the bytes before
 * it; 0 to start). crc32c(b, crc32c(a)) === crc32c(a ++ b), which is what chains WAL records.
 */
export function crc32c(data: Uint8Array, seed = 0): number {
  return nativeCrc32c(data, seed) >>> 0;
}
