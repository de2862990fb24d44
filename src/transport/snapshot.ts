/**
 * Snapshot streaming. A MsgSnap travels as SnapBegin (the message without its data, and the
 * data's size), SnapChunk frames carrying the data in order, and SnapEnd with the data's
 * SHA-256. Chunks of one snapshot interleave with Messages frames on the same connection,
 * so heartbeats keep flowing while a large snapshot is sent. The receiver assembles the
 * data within its own size limit, checks the digest, hands the message to raft and answers
 * with SnapAck; only then does the sender report success (etcd: ReportSnapshot).
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

import { encodeMessage } from '../raftpb/codec.ts';
import type { Message } from '../raftpb/types.ts';
import { SnapshotStreamError } from './errors.ts';
import { encodeSnapBegin, encodeSnapChunkHeader, encodeSnapEnd } from './frame.ts';
import type { SnapBeginFrame, SnapChunkFrame, SnapEndFrame } from './frame.ts';

/** withoutData returns a copy of a MsgSnap whose snapshot carries no data. */
function withoutData(m: Message): Message {
  if (m.snapshot === undefined) return m;
  return { ...m, snapshot: { ...m.snapshot, data: undefined } };
}

/**
 * OutgoingSnapshot produces the frames of one snapshot stream, a step at a time, and
 * computes the digest as the data goes out.
 */
export class OutgoingSnapshot {
  /** snapId names the stream on its connection. */
  readonly snapId: number;
  /** message is the MsgSnap being sent (with its data). */
  readonly message: Message;
  readonly #data: Uint8Array;
  readonly #chunkBytes: number;
  readonly #hash: Hash = createHash('sha256');
  #offset = 0;
  #begun = false;
  #ended = false;

  /** Creates the stream; chunkBytes (> 0) is the data carried by one SnapChunk. */
  constructor(snapId: number, message: Message, chunkBytes: number) {
    this.snapId = snapId;
    this.message = message;
    this.#data = message.snapshot?.data ?? new Uint8Array(0);
    this.#chunkBytes = chunkBytes;
  }

  /** totalBytes is the length of the snapshot data. */
  get totalBytes(): number {
    return this.#data.length;
  }

  /** sent is true once every frame, SnapEnd included, has been produced. */
  get sent(): boolean {
    return this.#ended;
  }

  /**
   * step returns the next frames to write: SnapBegin first, then one chunk per step, with
   * SnapEnd after the last chunk. The pieces are to be written in order; data pieces are
   * views on the snapshot, not copies. After the end it returns an empty list.
   */
  step(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (this.#ended) return out;
    if (!this.#begun) {
      this.#begun = true;
      out.push(
        encodeSnapBegin(this.snapId, this.totalBytes, encodeMessage(withoutData(this.message))),
      );
    }
    if (this.#offset < this.#data.length) {
      const end = Math.min(this.#data.length, this.#offset + this.#chunkBytes);
      const piece = this.#data.subarray(this.#offset, end);
      this.#hash.update(piece);
      out.push(encodeSnapChunkHeader(this.snapId, piece.length), piece);
      this.#offset = end;
    }
    if (this.#offset === this.#data.length) {
      this.#ended = true;
      out.push(encodeSnapEnd(this.snapId, new Uint8Array(this.#hash.digest())));
    }
    return out;
  }
}

/**
 * IncomingSnapshot assembles one snapshot stream. Each method throws a SnapshotStreamError
 * for a stream it refuses; the connection is then closed and raft never sees the snapshot.
 */
export class IncomingSnapshot {
  /** snapId names the stream on its connection. */
  readonly snapId: number;
  readonly #message: Message;
  readonly #data: Uint8Array;
  readonly #hash: Hash = createHash('sha256');
  #filled = 0;

  /** Starts a stream; refuses one whose data exceeds maxBytes before allocating it. */
  constructor(begin: SnapBeginFrame, maxBytes: number) {
    if (begin.totalBytes > maxBytes) {
      throw new SnapshotStreamError(
        `snapshot ${begin.snapId} of ${begin.totalBytes} bytes exceeds limit ${maxBytes}`,
      );
    }
    this.snapId = begin.snapId;
    this.#message = begin.message;
    this.#data = new Uint8Array(begin.totalBytes);
  }

  /** receivedBytes is how much data has arrived so far. */
  get receivedBytes(): number {
    return this.#filled;
  }

  /** chunk appends the data of a SnapChunk of this stream. */
  chunk(f: SnapChunkFrame): void {
    this.#checkId(f.snapId);
    if (f.data.length > this.#data.length - this.#filled) {
      throw new SnapshotStreamError(
        `snapshot ${this.snapId}: chunk of ${f.data.length} bytes overruns the declared ` +
          `${this.#data.length} bytes (${this.#filled} received)`,
      );
    }
    this.#data.set(f.data, this.#filled);
    this.#hash.update(f.data);
    this.#filled += f.data.length;
  }

  /** end checks the size and digest and returns the MsgSnap with its data restored. */
  end(f: SnapEndFrame): Message {
    this.#checkId(f.snapId);
    if (this.#filled !== this.#data.length) {
      throw new SnapshotStreamError(
        `snapshot ${this.snapId} ended after ${this.#filled} of ${this.#data.length} bytes`,
      );
    }
    const digest = new Uint8Array(this.#hash.digest());
    if (!equalBytes(digest, f.sha256)) {
      throw new SnapshotStreamError(`snapshot ${this.snapId} failed its SHA-256 checksum`);
    }
    const m = this.#message;
    const data = this.#data.length === 0 ? undefined : this.#data;
    return m.snapshot === undefined ? m : { ...m, snapshot: { ...m.snapshot, data } };
  }

  #checkId(snapId: number): void {
    if (snapId !== this.snapId) {
      throw new SnapshotStreamError(
        `snapshot frame for stream ${snapId} inside stream ${this.snapId}`,
      );
    }
  }
}

/** equalBytes compares two byte arrays. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
