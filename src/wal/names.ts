/**
 * File names in a WAL directory:
 *
 *     <seq>-<firstIndex>.wal     a segment (16 lowercase hex digits each)
 *     <term>-<index>.snap        a snapshot file
 *     *.tmp                      a file being written; removed on open
 *     *.broken                   a snapshot file that failed its checksum, set aside
 */

/** SEGMENT_SUFFIX ends the name of every segment file. */
export const SEGMENT_SUFFIX = '.wal';
/** SNAP_SUFFIX ends the name of every snapshot file. */
export const SNAP_SUFFIX = '.snap';
/** TMP_SUFFIX ends the name of a file that is not complete yet. */
export const TMP_SUFFIX = '.tmp';
/** BROKEN_SUFFIX is appended to a snapshot file that failed its checks. */
export const BROKEN_SUFFIX = '.broken';

const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})(\.wal|\.snap)$/;

/** hex16 formats a safe integer as 16 lowercase hex digits. */
export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** SegmentName is what a segment's file name says. */
export interface SegmentName {
  name: string;
  seq: number;
  firstIndex: number;
}

/** segmentName returns the file name of segment `seq` whose first entry is firstIndex. */
export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}${SEGMENT_SUFFIX}`;
}

/** parseSegmentName parses a segment file name; undefined if it is not one. */
export function parseSegmentName(name: string): SegmentName | undefined {
  const m = parse(name, SEGMENT_SUFFIX);
  return m === undefined ? undefined : { name, seq: m[0], firstIndex: m[1] };
}

/** SnapName is what a snapshot file's name says. */
export interface SnapName {
  name: string;
  term: number;
  index: number;
}

/** snapName returns the file name of the snapshot at (index, term). */
export function snapName(index: number, term: number): string {
  return `${hex16(term)}-${hex16(index)}${SNAP_SUFFIX}`;
}

/** parseSnapName parses a snapshot file name; undefined if it is not one. */
export function parseSnapName(name: string): SnapName | undefined {
  const m = parse(name, SNAP_SUFFIX);
  return m === undefined ? undefined : { name, term: m[0], index: m[1] };
}

function parse(name: string, suffix: string): [number, number] | undefined {
  const m = NAME.exec(name);
  if (m === null || m[3] !== suffix) return undefined;
  const a = Number.parseInt(m[1] as string, 16);
  const b = Number.parseInt(m[2] as string, 16);
  if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b)) return undefined;
  return [a, b];
}
