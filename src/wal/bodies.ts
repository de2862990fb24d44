/**
 * Fixed-layout bodies of the WAL's own record types: the segment header and the two
 * snapshot markers. Entry and HardState bodies are raftpb encodings (see record.ts).
 * Every integer is a little-endian u64 holding a safe integer, except the CRC and the
 * magic/version words (u32).
 */
import type { HardState } from '../raftpb/types.ts';
import { LITTLE_ENDIAN, getU64, putU64 } from './record.ts';

/** SEGMENT_MAGIC opens every segment header body: the bytes "RWAL". */
export const SEGMENT_MAGIC = 0x4c415752;
/** SEGMENT_VERSION is the format version this code writes and reads. */
export const SEGMENT_VERSION = 1;
/** SEGMENT_HEADER_SIZE is the size of a segment header body. */
export const SEGMENT_HEADER_SIZE = 72;

/** SnapshotMark names a snapshot by its log position. */
export interface SnapshotMark {
  index: number;
  term: number;
}

/**
 * SegmentHeader is the body of the first record of a segment: where the segment sits in the
 * sequence and in the CRC chain, and the state that was durable when it was cut, so that
 * older segments can be deleted without losing the HardState or the snapshot marker.
 */
export interface SegmentHeader {
  /** seq is the segment's sequence number; segments are numbered without gaps. */
  seq: number;
  /** firstIndex is the index the next entry was expected to have at the cut (lastIndex+1). */
  firstIndex: number;
  /** prevCrc is the CRC of the last record before this segment (0 for the first segment). */
  prevCrc: number;
  hardState: HardState;
  /** snapshot is the newest snapshot whose marker was durable at the cut ({0, 0} if none). */
  snapshot: SnapshotMark;
}

/** encodeSegmentHeader returns the body of a segment header record. */
export function encodeSegmentHeader(h: SegmentHeader): Uint8Array {
  const b = new Uint8Array(SEGMENT_HEADER_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, SEGMENT_MAGIC, LITTLE_ENDIAN);
  v.setUint32(4, SEGMENT_VERSION, LITTLE_ENDIAN);
  putU64(v, 8, h.seq);
  putU64(v, 16, h.firstIndex);
  v.setUint32(24, h.prevCrc, LITTLE_ENDIAN);
  putHardState(v, 32, h.hardState);
  putU64(v, 56, h.snapshot.index);
  putU64(v, 64, h.snapshot.term);
  return b;
}

/** segmentHeaderSeed returns the prevCrc of a header body (the seed of its own CRC). */
export function segmentHeaderSeed(body: Uint8Array): number {
  if (body.length !== SEGMENT_HEADER_SIZE) return 0;
  return viewOf(body).getUint32(24, LITTLE_ENDIAN);
}

/** decodeSegmentHeader decodes a header body, or returns a string saying what is wrong. */
export function decodeSegmentHeader(body: Uint8Array): SegmentHeader | string {
  if (body.length !== SEGMENT_HEADER_SIZE) return `segment header of ${body.length} bytes`;
  const v = viewOf(body);
  if (v.getUint32(0, LITTLE_ENDIAN) !== SEGMENT_MAGIC) return 'bad segment magic';
  const version = v.getUint32(4, LITTLE_ENDIAN);
  if (version !== SEGMENT_VERSION) return `unsupported segment version ${version}`;
  const h: SegmentHeader = {
    seq: getU64(v, 8),
    firstIndex: getU64(v, 16),
    prevCrc: v.getUint32(24, LITTLE_ENDIAN),
    hardState: getHardState(v, 32),
    snapshot: { index: getU64(v, 56), term: getU64(v, 64) },
  };
  const nums = [h.seq, h.firstIndex, h.snapshot.index, h.snapshot.term];
  if (nums.some((n) => n < 0) || !validHardState(h.hardState)) return 'integer above 2^53-1';
  return h;
}

/** encodeSnapshotTaken returns the body of a SnapshotTaken record. */
export function encodeSnapshotTaken(m: SnapshotMark): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  putU64(v, 0, m.index);
  putU64(v, 8, m.term);
  return b;
}

/** decodeSnapshotTaken decodes a SnapshotTaken body, or returns what is wrong. */
export function decodeSnapshotTaken(body: Uint8Array): SnapshotMark | string {
  if (body.length !== 16) return `snapshot marker of ${body.length} bytes`;
  const v = viewOf(body);
  const m = { index: getU64(v, 0), term: getU64(v, 8) };
  return m.index < 0 || m.term < 0 ? 'integer above 2^53-1' : m;
}

/** SnapshotApplied is the body of a SnapshotApplied record. */
export interface SnapshotApplied extends SnapshotMark {
  /** hardState is the state to adopt with the snapshot; its commit is the snapshot index. */
  hardState: HardState;
}

/** encodeSnapshotApplied returns the body of a SnapshotApplied record. */
export function encodeSnapshotApplied(a: SnapshotApplied): Uint8Array {
  const b = new Uint8Array(40);
  const v = new DataView(b.buffer);
  putU64(v, 0, a.index);
  putU64(v, 8, a.term);
  putHardState(v, 16, a.hardState);
  return b;
}

/** decodeSnapshotApplied decodes a SnapshotApplied body, or returns what is wrong. */
export function decodeSnapshotApplied(body: Uint8Array): SnapshotApplied | string {
  if (body.length !== 40) return `snapshot marker of ${body.length} bytes`;
  const v = viewOf(body);
  const a = { index: getU64(v, 0), term: getU64(v, 8), hardState: getHardState(v, 16) };
  if (a.index < 0 || a.term < 0 || !validHardState(a.hardState)) return 'integer above 2^53-1';
  return a;
}

function putHardState(v: DataView, off: number, hs: HardState): void {
  putU64(v, off, hs.term);
  putU64(v, off + 8, hs.vote);
  putU64(v, off + 16, hs.commit);
}

function getHardState(v: DataView, off: number): HardState {
  return { term: getU64(v, off), vote: getU64(v, off + 8), commit: getU64(v, off + 16) };
}

function validHardState(hs: HardState): boolean {
  return hs.term >= 0 && hs.vote >= 0 && hs.commit >= 0;
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
