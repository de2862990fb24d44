/**
 * Creating segment files: preallocation of a spare file under a temporary name, and its
 * installation as the next segment (header written and synced, renamed, directory synced).
 */
import { join } from 'node:path';
import { encodeSegmentHeader } from './bodies.ts';
import type { SegmentHeader } from './bodies.ts';
import { OpenMode } from './fs.ts';
import type { WalFile, WalFS } from './fs.ts';
import { segmentName } from './names.ts';
import { FrameWriter, RecordType } from './record.ts';

/** Preallocate selects how a new segment file gets its space before it is used. */
export const Preallocate = {
  /**
   * Write zeros over the whole segment (the default): blocks are allocated and written up
   * front, so each later fdatasync flushes data only, with no block allocation to journal.
   */
  Zero: 'zero',
  /** Set the length with ftruncate: cheap to create, but appends then allocate blocks. */
  Sparse: 'sparse',
  /** Do not preallocate: the file grows with each write. */
  None: 'none',
} as const;
/** Preallocate is one of the Preallocate values. */
export type Preallocate = (typeof Preallocate)[keyof typeof Preallocate];

const ZERO_CHUNK = 1 << 20;

/**
 * prepareSegmentFile creates (or empties) the file at path, preallocates `size` bytes as
 * `mode` says, fsyncs it and returns it open for writing. Rejects with the file system's
 * error; the file is closed then.
 */
export async function prepareSegmentFile(
  fs: WalFS,
  path: string,
  size: number,
  mode: Preallocate,
): Promise<WalFile> {
  const f = await fs.open(path, OpenMode.Create);
  try {
    if (mode === Preallocate.Zero) {
      const zeros = new Uint8Array(Math.min(size, ZERO_CHUNK));
      for (let off = 0; off < size; off += zeros.length) {
        await f.write(zeros.subarray(0, Math.min(zeros.length, size - off)), off);
      }
    } else if (mode === Preallocate.Sparse) {
      await f.truncate(size);
    }
    await f.sync();
  } catch (err) {
    await f.close().catch(() => undefined);
    throw err;
  }
  return f;
}

/** encodeHeaderFrame returns the sealed frame of a segment header and its CRC. */
export function encodeHeaderFrame(h: SegmentHeader): { bytes: Uint8Array; crc: number } {
  const w = new FrameWriter();
  w.addBody(RecordType.SegmentHeader, encodeSegmentHeader(h));
  const crc = w.seal(h.prevCrc);
  return { bytes: w.bytes().slice(), crc };
}

/** InstalledSegment is where writing continues in a segment just installed. */
export interface InstalledSegment {
  name: string;
  /** end is the offset just past the header frame. */
  end: number;
  /** crc is the header record's CRC, the seed of the next record. */
  crc: number;
}

/**
 * installSegment writes the header into a prepared file, fsyncs it, renames it from tmpPath
 * to its segment name in dir and fsyncs the directory. Rejects with the file system's error.
 */
export async function installSegment(
  fs: WalFS,
  dir: string,
  tmpPath: string,
  file: WalFile,
  h: SegmentHeader,
): Promise<InstalledSegment> {
  const { bytes, crc } = encodeHeaderFrame(h);
  await file.write(bytes, 0);
  await file.sync();
  const name = segmentName(h.seq, h.firstIndex);
  await fs.rename(tmpPath, join(dir, name));
  await fs.syncDir(dir);
  return { name, end: bytes.length, crc };
}
