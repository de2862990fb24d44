/**
 * The write-ahead log and snapshot files behind DiskStorage, the durable raft Storage.
 * See docs/wal.md for the on-disk format and the recovery rules.
 */
export { DiskStorage, openDiskStorage, DEFAULT_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from './storage.ts';
export type { DiskStorageOptions } from './storage.ts';
export type { RecoveryReport } from './recover.ts';
export type { WalStats } from './writer.ts';
export { Preallocate } from './segment.ts';
export {
  WalError,
  WalErrorCode,
  WalCorruptError,
  WalFailedError,
  WalClosedError,
} from './errors.ts';
export type { WalErrorOptions } from './errors.ts';
export { nodeFS, OpenMode } from './fs.ts';
export type { WalFS, WalFile } from './fs.ts';
export { crc32c } from './crc.ts';
