import type { JointConfig } from '../quorum/joint.ts';
import type { Message } from '../raftpb/types.ts';
import { ReadOnlyOption } from './config.ts';

/** ReadIndexRequest is a read waiting for leadership confirmation, at commit index `index`. */
export interface ReadIndexRequest {
  req: Message;
  index: number;
}

const LITTLE_ENDIAN = true;

/**
 * ReadOnly tracks ReadIndex requests under ReadOnlySafe (Raft thesis §6.4). Each request gets
 * a position in a sequence; heartbeats carry the highest position queued so far as their
 * context, and a follower echoes it back. Once a quorum acked position p, every request up to p
 * is confirmed.
 */
export class ReadOnly {
  readonly option: ReadOnlyOption;
  /** acks maps a voter to the highest read position it acknowledged. */
  private readonly acks = new Map<number, number>();
  /** unconfirmedReads are the queued requests, in position order after confirmedReads. */
  private unconfirmedReads: ReadIndexRequest[] = [];
  /** confirmedReads is the number of requests confirmed so far. */
  private confirmedReads = 0;

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** addRequest queues a read at the given commit index. */
  addRequest(commitIndex: number, req: Message): void {
    this.unconfirmedReads.push({ req, index: commitIndex });
  }

  /** recvAck records a heartbeat acknowledgement carrying a read position. */
  recvAck(from: number, ctx: Uint8Array | undefined): void {
    if (ctx === undefined || ctx.length === 0) return;
    const pos = decodePosition(ctx);
    if (pos === undefined) return;
    this.acks.set(from, Math.max(this.acks.get(from) ?? 0, pos));
  }

  /** acked is the AckedIndexer view of the acks, for the quorum computation. */
  acked(voterId: number): number | undefined {
    return this.acks.get(voterId);
  }

  /** maybeAdvance returns the requests newly confirmed by a quorum of `voters`. */
  maybeAdvance(voters: JointConfig): ReadIndexRequest[] {
    // Positions beyond what was queued cannot be real acks: clamp (and the empty quorum's
    // infinite index confirms everything queued).
    const queuedUpTo = this.confirmedReads + this.unconfirmedReads.length;
    const confirmed = Math.min(voters.committedIndex(this), queuedUpTo);
    if (confirmed <= this.confirmedReads) return [];
    const n = confirmed - this.confirmedReads;
    const done = this.unconfirmedReads.slice(0, n);
    this.unconfirmedReads = this.unconfirmedReads.slice(n);
    this.confirmedReads = confirmed;
    return done;
  }

  /** heartbeatCtx returns the position of the last queued read, or undefined if none. */
  heartbeatCtx(): Uint8Array | undefined {
    if (this.unconfirmedReads.length === 0) return undefined;
    return encodePosition(this.confirmedReads + this.unconfirmedReads.length);
  }
}

function encodePosition(pos: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint32(0, pos % 0x100000000, LITTLE_ENDIAN);
  v.setUint32(4, Math.floor(pos / 0x100000000), LITTLE_ENDIAN);
  return b;
}

function decodePosition(ctx: Uint8Array): number | undefined {
  if (ctx.length < 8) return undefined;
  const v = new DataView(ctx.buffer, ctx.byteOffset, 8);
  const lo = v.getUint32(0, LITTLE_ENDIAN);
  const hi = v.getUint32(4, LITTLE_ENDIAN);
  const pos = hi * 0x100000000 + lo;
  return Number.isSafeInteger(pos) ? pos : undefined;
}
