/**
 * Opening a WAL directory: replay every segment, pick the newest valid snapshot the log
 * names, rebuild the in-memory log, repair a torn tail, and hand the writer its state. A new
 * directory gets its first segment.
 */
import { dirname, join } from 'node:path';
import type { Logger } from '../raft/logger.ts';
import { MemoryStorage } from '../raft/storage.ts';
import { cloneConfState } from '../raft/util.ts';
import type { ConfState, Snapshot } from '../raftpb/types.ts';
import type { SnapshotMark } from './bodies.ts';
import { WalCorruptError } from './errors.ts';
import { OpenMode } from './fs.ts';
import type { WalFile, WalFS } from './fs.ts';
import { BROKEN_SUFFIX, TMP_SUFFIX, parseSegmentName, parseSnapName } from './names.ts';
import type { SegmentName, SnapName } from './names.ts';
import { ReplayLog } from './replay.ts';
import { scanSegment } from './scan.ts';
import type { SegmentScan, TornTail } from './scan.ts';
import { installSegment, prepareSegmentFile } from './segment.ts';
import type { Preallocate } from './segment.ts';
import { decodeSnapFile, encodeSnapFile, writeSnapFile } from './snapfile.ts';
import { SPARE_NAME } from './writer.ts';
import type { WriterState } from './writer.ts';

/** RecoverOptions are what recover() needs. */
export interface RecoverOptions {
  fs: WalFS;
  dir: string;
  logger: Logger;
  segmentSize: number;
  preallocate: Preallocate;
  /** confState is recorded as a snapshot at index 0 when the directory is new. */
  confState: ConfState | undefined;
}

/** RecoveryReport says what open found and did. */
export interface RecoveryReport {
  /** segments is the number of segment files replayed; records the records in them. */
  segments: number;
  records: number;
  /** snapshot is the snapshot the log was rebuilt from ({0,0} if none). */
  snapshot: SnapshotMark;
  /** tornTail is the unfinished write that was cut off the last segment, if any. */
  tornTail: (TornTail & { file: string }) | undefined;
  /** brokenSnapshots are snapshot files that failed their checks (renamed *.broken). */
  brokenSnapshots: string[];
  /** created is true when the directory held no WAL and a new one was started. */
  created: boolean;
}

/** Recovered is the result of recover(). */
export interface Recovered {
  /** mem holds the log and the snapshot's metadata; the snapshot's data is snapData. */
  mem: MemoryStorage;
  state: WriterState;
  report: RecoveryReport;
  /** snapData is the data of the snapshot the log was rebuilt from, if any. */
  snapData?: Uint8Array | undefined;
}

const zeroHardState = (): { term: number; vote: number; commit: number } => ({
  term: 0,
  vote: 0,
  commit: 0,
});

/**
 * recover opens (or creates) the WAL in o.dir. Throws WalCorruptError when the files cannot
 * be trusted, and the file system's error when they cannot be read.
 */
export async function recover(o: RecoverOptions): Promise<Recovered> {
  await o.fs.mkdir(o.dir);
  const names = await o.fs.readdir(o.dir);
  for (const n of names) if (n.endsWith(TMP_SUFFIX)) await o.fs.unlink(join(o.dir, n));
  const segs = names.flatMap((n) => parseSegmentName(n) ?? []).sort((a, b) => a.seq - b.seq);
  const snaps = names.flatMap((n) => parseSnapName(n) ?? []);
  if (segs.length === 0) return createFresh(o, snaps);
  checkSequence(o.dir, segs);
  const { log, last } = await replaySegments(o, segs);
  const report: RecoveryReport = {
    segments: segs.length,
    records: log.records,
    snapshot: { index: 0, term: 0 },
    tornTail: undefined,
    brokenSnapshots: [],
    created: false,
  };
  const snap = await chooseSnapshot(o, snaps, log, report);
  const mem = rebuild(o, log, snap, segs);
  const lastFile = join(o.dir, (segs[segs.length - 1] as SegmentName).name);
  const file = await o.fs.open(lastFile, OpenMode.Write);
  if (last.torn !== undefined) await repairTail(o, file, lastFile, last.torn, report);
  const snapFiles = await tidySnapshots(o, snaps, report);
  const state: WriterState = {
    segments: segs.map((s) => ({ seq: s.seq, firstIndex: s.firstIndex, name: s.name })),
    file,
    pos: last.end,
    headerEnd: last.records[0]?.offset ?? last.end,
    lastCrc: last.lastCrc,
    hardState: mem.initialState().hardState,
    snapshot: report.snapshot,
    lastIndex: log.lastIndex(),
    dummyIndex: log.dummyIndex,
    snapFiles,
  };
  return { mem, state, report, snapData: snap?.data };
}

/**
 * replaySegments reads the segments oldest first into a ReplayLog, checking each header
 * against the file name and the CRC chain across segments; it returns the last scan.
 */
async function replaySegments(
  o: RecoverOptions,
  segs: SegmentName[],
): Promise<{ log: ReplayLog; last: SegmentScan }> {
  const log = new ReplayLog();
  let last: SegmentScan | undefined;
  for (const [i, seg] of segs.entries()) {
    const file = join(o.dir, seg.name);
    const scan = scanSegment(await o.fs.readFile(file), file, i === segs.length - 1);
    const h = scan.header;
    if (h.seq !== seg.seq || h.firstIndex !== seg.firstIndex) {
      throw new WalCorruptError(file, 0, `header says segment ${h.seq} at index ${h.firstIndex}`);
    }
    if (last !== undefined && h.prevCrc !== last.lastCrc) {
      throw new WalCorruptError(file, 0, 'CRC chain broken between segments');
    }
    log.segment(h, file, i === 0);
    for (const r of scan.records) log.apply(r, file);
    last = scan;
  }
  if (last === undefined) throw new Error('replaySegments: no segment');
  return { log, last };
}

/** repairTail zeroes a torn tail (so the next write starts on clean space) and reports it. */
async function repairTail(
  o: RecoverOptions,
  file: WalFile,
  path: string,
  t: TornTail,
  report: RecoveryReport,
): Promise<void> {
  o.logger.warning(
    `wal: torn tail in ${path} at offset ${t.offset}: dropped ${t.bytes} bytes of an unfinished write (${t.reason})`,
  );
  report.tornTail = { ...t, file: path };
  await file.write(new Uint8Array(t.bytes), t.offset);
  await file.datasync();
}

function checkSequence(dir: string, segs: SegmentName[]): void {
  for (let i = 1; i < segs.length; i++) {
    const prev = segs[i - 1] as SegmentName;
    const cur = segs[i] as SegmentName;
    if (cur.seq !== prev.seq + 1) {
      throw new WalCorruptError(join(dir, cur.name), 0, `segment ${prev.seq + 1} is missing`);
    }
  }
}

/**
 * chooseSnapshot returns the newest valid snapshot file whose marker the log holds and that
 * covers the start of the replayed log; undefined when the log starts at index 1 and no
 * snapshot was ever recorded. A damaged file is skipped for an older one; if none is left,
 * open refuses rather than forget what the snapshot held.
 */
async function chooseSnapshot(
  o: RecoverOptions,
  snaps: SnapName[],
  log: ReplayLog,
  report: RecoveryReport,
): Promise<Snapshot | undefined> {
  const candidates = snaps
    .filter((s) => (s.index === 0 || log.hasMark(s)) && s.index >= log.dummyIndex)
    .sort((a, b) => b.index - a.index || b.term - a.term);
  for (const c of candidates) {
    const snap = decodeSnapFile(await o.fs.readFile(join(o.dir, c.name)), c.index, c.term);
    if (typeof snap !== 'string') {
      report.snapshot = { index: c.index, term: c.term };
      return snap;
    }
    o.logger.warning(`wal: snapshot ${join(o.dir, c.name)} is damaged (${snap}); set aside`);
    report.brokenSnapshots.push(c.name);
  }
  const broken = report.brokenSnapshots[0];
  if (broken !== undefined) {
    throw new WalCorruptError(join(o.dir, broken), 0, 'snapshot damaged and no older valid one');
  }
  if (log.dummyIndex === 0) return undefined;
  throw new WalCorruptError(
    o.dir,
    0,
    `no valid snapshot at or after index ${log.dummyIndex}, where the WAL begins`,
  );
}

/** rebuild makes the MemoryStorage that serves reads: snapshot, then the log after it. */
function rebuild(
  o: RecoverOptions,
  log: ReplayLog,
  snap: Snapshot | undefined,
  segs: SegmentName[],
): MemoryStorage {
  const mem = new MemoryStorage(o.logger);
  const lastFile = join(o.dir, (segs[segs.length - 1] as SegmentName).name);
  const s = snap?.metadata.index ?? 0;
  if (snap !== undefined) mem.applySnapshot({ metadata: snap.metadata });
  if (s > log.lastIndex()) {
    throw new WalCorruptError(
      lastFile,
      0,
      `snapshot ${s} is past the last entry ${log.lastIndex()}`,
    );
  }
  if (snap !== undefined && s > log.dummyIndex && log.term(s) !== snap.metadata.term) {
    throw new WalCorruptError(
      lastFile,
      0,
      `entry ${s} has term ${log.term(s)}, snapshot says ${snap.metadata.term}`,
    );
  }
  mem.append(log.entriesAfter(s));
  const hs = { ...log.hardState };
  if (hs.commit < s) {
    o.logger.info(`wal: commit ${hs.commit} raised to the snapshot index ${s}`);
    hs.commit = s;
  }
  if (hs.commit > mem.lastIndex()) {
    throw new WalCorruptError(
      lastFile,
      0,
      `commit ${hs.commit} is past the last entry ${mem.lastIndex()}`,
    );
  }
  mem.setHardState(hs);
  return mem;
}

/**
 * tidySnapshots sets damaged snapshot files aside and removes those newer than the one in
 * use (written before a crash that kept their marker out of the log); it returns the rest.
 */
async function tidySnapshots(
  o: RecoverOptions,
  snaps: SnapName[],
  report: RecoveryReport,
): Promise<SnapName[]> {
  const keep: SnapName[] = [];
  let changed = false;
  for (const s of snaps) {
    const path = join(o.dir, s.name);
    if (report.brokenSnapshots.includes(s.name)) {
      await o.fs.rename(path, path + BROKEN_SUFFIX);
      changed = true;
    } else if (s.index > report.snapshot.index) {
      o.logger.info(`wal: removing snapshot ${path}, which the log never recorded`);
      await o.fs.unlink(path);
      changed = true;
    } else keep.push(s);
  }
  if (changed) await o.fs.syncDir(o.dir);
  return keep;
}

/** createFresh starts a WAL in an empty directory, with an index-0 snapshot if confState. */
async function createFresh(o: RecoverOptions, snaps: SnapName[]): Promise<Recovered> {
  const stray = snaps.find((s) => s.index > 0);
  if (stray !== undefined) {
    throw new WalCorruptError(join(o.dir, stray.name), 0, 'snapshot file without any WAL segment');
  }
  await o.fs.syncDir(dirname(o.dir));
  const mem = new MemoryStorage(o.logger);
  const snapFiles: SnapName[] = [];
  if (o.confState !== undefined) {
    const snap = { metadata: { confState: cloneConfState(o.confState), index: 0, term: 0 } };
    const name = await writeSnapFile(o.fs, o.dir, encodeSnapFile(snap), 0, 0);
    snapFiles.push({ name, index: 0, term: 0 });
    mem.applySnapshot(snap);
  }
  const tmp = join(o.dir, SPARE_NAME);
  const file = await prepareSegmentFile(o.fs, tmp, o.segmentSize, o.preallocate);
  const h = {
    seq: 0,
    firstIndex: 1,
    prevCrc: 0,
    hardState: zeroHardState(),
    snapshot: { index: 0, term: 0 },
  };
  const seg = await installSegment(o.fs, o.dir, tmp, file, h);
  const state: WriterState = {
    segments: [{ seq: 0, firstIndex: 1, name: seg.name }],
    file,
    pos: seg.end,
    headerEnd: seg.end,
    lastCrc: seg.crc,
    hardState: zeroHardState(),
    snapshot: { index: 0, term: 0 },
    lastIndex: 0,
    dummyIndex: 0,
    snapFiles,
  };
  const report: RecoveryReport = {
    segments: 1,
    records: 0,
    snapshot: { index: 0, term: 0 },
    tornTail: undefined,
    brokenSnapshots: [],
    created: true,
  };
  return { mem, state, report };
}
