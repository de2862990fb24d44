/**
 * Reading one segment file: its frames, where the log ends, and whether what follows the
 * last good frame is a torn tail (an unfinished write, repaired on open) or corruption
 * (refused). The rules are in docs/wal.md, "Where the log ends".
 */
import { decodeSegmentHeader, segmentHeaderSeed } from './bodies.ts';
import type { SegmentHeader } from './bodies.ts';
import { WalCorruptError } from './errors.ts';
import { FrameKind, RecordType, readFrame, zeroTail } from './record.ts';
import type { Frame } from './record.ts';

/**
 * SECTOR is the unit a disk writes atomically, as etcd assumes: a crash leaves each
 * 512-byte sector of an unfinished write either fully written or untouched.
 */
export const SECTOR = 512;

/** ScannedRecord is one valid record after the segment header. */
export interface ScannedRecord {
  type: RecordType;
  /** body is a view on the file's buffer. */
  body: Uint8Array;
  /** offset is where the record's frame starts in the file. */
  offset: number;
}

/** TornTail describes an unfinished write found at the end of the last segment. */
export interface TornTail {
  /** offset is where the first bad frame starts; the log is truncated there. */
  offset: number;
  /** bytes is how many bytes from offset on hold data (and will be zeroed). */
  bytes: number;
  /** reason says what was wrong with the frame at offset. */
  reason: string;
}

/** SegmentScan is the content of one segment file. */
export interface SegmentScan {
  header: SegmentHeader;
  records: ScannedRecord[];
  /** end is the offset just past the last valid frame: where the next write goes. */
  end: number;
  /** lastCrc is the CRC of the last valid record (the seed of the next one). */
  lastCrc: number;
  /** torn is set when the last segment ends with an unfinished write. */
  torn: TornTail | undefined;
}

/**
 * scanSegment reads every frame of a segment. Only the last segment (isLast) may end with
 * a torn tail. Throws WalCorruptError, naming `file` and the offset of the bad frame, for
 * anything that an unfinished write cannot explain.
 */
export function scanSegment(buf: Uint8Array, file: string, isLast: boolean): SegmentScan {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const header = readHeader(buf, view, file);
  const records: ScannedRecord[] = [];
  let crc = header.frame.crc;
  let off = header.frame.end;
  for (;;) {
    if (off === buf.length) break;
    const f = readFrame(buf, view, off, crc);
    if (f.kind !== FrameKind.Ok) {
      const torn = classifyEnd(buf, off, f, isLast, file);
      return { header: header.header, records, end: off, lastCrc: crc, torn };
    }
    const body = buf.subarray(f.bodyOffset, f.bodyOffset + f.bodyLength);
    records.push({ type: f.type, body, offset: off });
    crc = f.crc;
    off = f.end;
  }
  return { header: header.header, records, end: off, lastCrc: crc, torn: undefined };
}

function readHeader(
  buf: Uint8Array,
  view: DataView,
  file: string,
): { frame: Frame; header: SegmentHeader } {
  const f = readFrame(buf, view, 0, segmentHeaderSeed);
  if (f.kind !== FrameKind.Ok) {
    throw new WalCorruptError(file, 0, `unreadable segment header: ${f.reason}`);
  }
  if (f.type !== RecordType.SegmentHeader) {
    throw new WalCorruptError(file, 0, `segment starts with a record of type ${f.type}`);
  }
  const header = decodeSegmentHeader(buf.subarray(f.bodyOffset, f.bodyOffset + f.bodyLength));
  if (typeof header === 'string') throw new WalCorruptError(file, 0, header);
  return { frame: f, header };
}

/**
 * classifyEnd decides what the bad frame at off means: the clean end of the log (undefined),
 * a torn tail, or corruption (throws). A torn tail is what a crash in the middle of the last
 * write leaves: a prefix of the write's sectors, then zeros. So everything from some sector
 * boundary inside the bad frame to the end of the file must be zero; the file may also
 * simply end there. Anything else (a bad header, data after the end of the log, a damaged
 * frame followed by more data, damage in an older segment) is refused.
 */
function classifyEnd(
  buf: Uint8Array,
  off: number,
  f: Frame,
  isLast: boolean,
  file: string,
): TornTail | undefined {
  const z = zeroTail(buf);
  if (f.kind === FrameKind.Zero && z <= off) return undefined;
  if (isLast && f.kind === FrameKind.Eof) {
    return { offset: off, bytes: buf.length - off, reason: f.reason };
  }
  if (isLast && f.kind === FrameKind.BadBody && Math.ceil(z / SECTOR) * SECTOR < f.end) {
    return { offset: off, bytes: z - off, reason: f.reason };
  }
  const reason =
    f.kind === FrameKind.Zero
      ? `non-zero byte at offset ${z - 1} after the end of the log`
      : f.reason;
  throw new WalCorruptError(file, off, reason);
}
