/**
 * Snapshot files. Layout (little-endian):
 *
 *     0   u32  magic "SNAP"
 *     4   u32  version (1 or 2)
 *     8   u32  CRC-32C of the payload
 *     12  u32  reserved, zero
 *     16  u64  payload length
 *     24  payload, version 1: the raftpb Snapshot encoding (metadata and data)
 *         payload, version 2: u32 n, n bytes of raftpb SnapshotMetadata, then the data
 *
 * Version 2 is written as the data comes (writeSnapFileChunks), without the whole snapshot in
 * memory, and read back without copying the data out of the file's buffer.
 *
 * A file is written under a temporary name, fsynced, renamed into place and the directory
 * fsynced, so a complete file either exists under its final name or not at all.
 */
import { join } from 'node:path';
import {
  decodeSnapshot,
  decodeSnapshotMetadata,
  encodeSnapshot,
  encodeSnapshotMetadata,
} from '../raftpb/codec.ts';
import type { Snapshot, SnapshotMetadata } from '../raftpb/types.ts';
import { crc32c } from './crc.ts';
import { OpenMode } from './fs.ts';
import type { WalFile, WalFS } from './fs.ts';
import { TMP_SUFFIX, snapName } from './names.ts';
import { LITTLE_ENDIAN, getU64, putU64 } from './record.ts';

/** SNAP_MAGIC opens every snapshot file: the bytes "SNAP". */
export const SNAP_MAGIC = 0x50414e53;
/** SNAP_VERSION is the version of the files encodeSnapFile writes. */
export const SNAP_VERSION = 1;
/** SNAP_VERSION_CHUNKED is the version of the files writeSnapFileChunks writes. */
export const SNAP_VERSION_CHUNKED = 2;
/** SNAP_HEADER_SIZE is the size of the snapshot file header. */
export const SNAP_HEADER_SIZE = 24;

/** encodeSnapFile returns the bytes of the snapshot file for snap. */
export function encodeSnapFile(snap: Snapshot): Uint8Array {
  const payload = encodeSnapshot(snap);
  const out = new Uint8Array(SNAP_HEADER_SIZE + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, SNAP_MAGIC, LITTLE_ENDIAN);
  v.setUint32(4, SNAP_VERSION, LITTLE_ENDIAN);
  v.setUint32(8, crc32c(payload), LITTLE_ENDIAN);
  putU64(v, 16, payload.length);
  out.set(payload, SNAP_HEADER_SIZE);
  return out;
}

/**
 * decodeSnapFile checks and decodes a snapshot file; it returns a string saying what is
 * wrong when the file is damaged or does not hold the snapshot its name promises.
 */
export function decodeSnapFile(buf: Uint8Array, index: number, term: number): Snapshot | string {
  if (buf.length < SNAP_HEADER_SIZE) return `file of ${buf.length} bytes is too short`;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (v.getUint32(0, LITTLE_ENDIAN) !== SNAP_MAGIC) return 'bad magic';
  const version = v.getUint32(4, LITTLE_ENDIAN);
  if (version !== SNAP_VERSION && version !== SNAP_VERSION_CHUNKED) return 'unsupported version';
  if (v.getUint32(12, LITTLE_ENDIAN) !== 0) return 'reserved bytes are not zero';
  const len = getU64(v, 16);
  if (len !== buf.length - SNAP_HEADER_SIZE) return `payload length ${len} does not match file`;
  const payload = buf.subarray(SNAP_HEADER_SIZE);
  if (crc32c(payload) !== v.getUint32(8, LITTLE_ENDIAN)) return 'CRC mismatch';
  let snap: Snapshot;
  try {
    snap = version === SNAP_VERSION ? decodeSnapshot(payload) : decodeChunked(payload);
  } catch (err) {
    return `cannot decode: ${(err as Error).message}`;
  }
  const m = snap.metadata;
  if (m.index !== index || m.term !== term) {
    return `holds index ${m.index} term ${m.term}, name says index ${index} term ${term}`;
  }
  return snap;
}

/** decodeChunked decodes a version 2 payload; data is a view into it, not a copy. */
function decodeChunked(payload: Uint8Array): Snapshot {
  if (payload.length < 4) throw new RangeError(`payload of ${payload.length} bytes`);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const n = v.getUint32(0, LITTLE_ENDIAN);
  if (4 + n > payload.length) throw new RangeError(`metadata length ${n} exceeds the payload`);
  const metadata = decodeSnapshotMetadata(payload.subarray(4, 4 + n));
  const snap: Snapshot = { metadata };
  if (payload.length > 4 + n) snap.data = payload.subarray(4 + n);
  return snap;
}

/**
 * writeSnapFileChunks writes a version 2 snapshot file durably, like writeSnapFile, from
 * the metadata and the data's chunks, one chunk in memory at a time; it returns the file's
 * name. Rejects with the file system's error (a temporary file may be left; open removes
 * it) or with what iterating the chunks throws.
 */
export async function writeSnapFileChunks(
  fs: WalFS,
  dir: string,
  metadata: SnapshotMetadata,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<string> {
  return publishSnapFile(fs, dir, snapName(metadata.index, metadata.term), async (f) => {
    const m = encodeSnapshotMetadata(metadata);
    const first = new Uint8Array(4 + m.length);
    new DataView(first.buffer).setUint32(0, m.length, LITTLE_ENDIAN);
    first.set(m, 4);
    let pos = SNAP_HEADER_SIZE;
    let crc = 0;
    const put = async (c: Uint8Array): Promise<void> => {
      await f.write(c, pos);
      crc = crc32c(c, crc);
      pos += c.length;
    };
    await put(first);
    for await (const c of chunks) if (c.length > 0) await put(c);
    const head = new Uint8Array(SNAP_HEADER_SIZE);
    const v = new DataView(head.buffer);
    v.setUint32(0, SNAP_MAGIC, LITTLE_ENDIAN);
    v.setUint32(4, SNAP_VERSION_CHUNKED, LITTLE_ENDIAN);
    v.setUint32(8, crc, LITTLE_ENDIAN);
    putU64(v, 16, pos - SNAP_HEADER_SIZE);
    await f.write(head, 0);
  });
}

/**
 * writeSnapFile writes a snapshot file durably (temporary name, fsync, rename, directory
 * fsync) and returns its name. Rejects with the file system's error.
 */
export async function writeSnapFile(
  fs: WalFS,
  dir: string,
  bytes: Uint8Array,
  index: number,
  term: number,
): Promise<string> {
  return publishSnapFile(fs, dir, snapName(index, term), (f) => f.write(bytes, 0));
}

/**
 * publishSnapFile makes file `name` in dir durably: `fill` writes it under a temporary name,
 * then fsync, rename and directory fsync. Returns the name; rejects with the file system's
 * error (the temporary file is left for open() to remove).
 */
async function publishSnapFile(
  fs: WalFS,
  dir: string,
  name: string,
  fill: (f: WalFile) => Promise<void>,
): Promise<string> {
  const tmp = join(dir, name + TMP_SUFFIX);
  const f = await fs.open(tmp, OpenMode.Create);
  try {
    await fill(f);
    await f.sync();
  } finally {
    await f.close();
  }
  await fs.rename(tmp, join(dir, name));
  await fs.syncDir(dir);
  return name;
}
