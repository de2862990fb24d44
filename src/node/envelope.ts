/**
 * The byte formats the Node puts into raft's log, conf changes and snapshots. They are part
 * of the on-disk and on-wire format: change them only with a new version byte.
 *
 * 1. Proposal envelope (the data of every EntryNormal that Node.propose() creates), all
 *    integers big-endian:
 *
 *    | offset | size | field                                                          |
 *    |--------|------|----------------------------------------------------------------|
 *    | 0      | 1    | version, 1                                                     |
 *    | 1      | 8    | origin: id of the node whose propose() made the entry          |
 *    | 9      | 4    | session: random per Node instance (tells restarts apart)       |
 *    | 13     | 4    | seq: per-session counter                                       |
 *    | 17     | 8    | term: the proposer's raft term when it proposed                |
 *    | 25     | n    | payload: the application's bytes, all the state machine sees   |
 *
 *    (origin, session, seq) matches an applied entry to the promise waiting for it; `term`
 *    lets a leader refuse a forwarded proposal meant for an earlier term's leader.
 *
 * 2. Peer addresses in ConfChange / ConfChangeV2 `context`: UTF-8 JSON
 *    `{"addresses":{"<node id>":"<address>"}}` naming the address of each node the change
 *    adds (removals carry none). Any other context is ignored.
 *
 * 3. Snapshot data: `u32 metaLength | meta | application snapshot`, where meta is UTF-8
 *    JSON `{"v":1,"addresses":{"<node id>":"<address>"}}`: the address book of the members,
 *    so that a node restored from a snapshot can reach them.
 */

/** EnvelopeVersion is the version byte of the proposal envelope. */
export const EnvelopeVersion = 1;
/** EnvelopeHeaderSize is the size of the proposal envelope before the payload. */
export const EnvelopeHeaderSize = 25;

const BIG_ENDIAN = false;
const TWO_32 = 0x1_0000_0000;

/** ProposalId identifies one proposal: who made it, in which session, which one. */
export interface ProposalId {
  origin: number;
  session: number;
  seq: number;
  /** The proposer's term when it proposed. */
  term: number;
}

/**
 * header is where envelope headers are written and read, through headerView. A DataView on
 * the entry's own bytes would need `data.buffer`, which moves a small typed array off V8's
 * heap: that costs several times the whole encode, once for every proposal.
 */
const header = new Uint8Array(EnvelopeHeaderSize);
const headerView = new DataView(header.buffer);

function putU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, Math.floor(n / TWO_32), BIG_ENDIAN);
  v.setUint32(at + 4, n >>> 0, BIG_ENDIAN);
}

function getU64(v: DataView, at: number): number {
  return v.getUint32(at, BIG_ENDIAN) * TWO_32 + v.getUint32(at + 4, BIG_ENDIAN);
}

/** writeHeader puts the envelope header of proposal id into `header`. */
function writeHeader(id: ProposalId): void {
  const v = headerView;
  v.setUint8(0, EnvelopeVersion);
  putU64(v, 1, id.origin);
  v.setUint32(9, id.session, BIG_ENDIAN);
  v.setUint32(13, id.seq, BIG_ENDIAN);
  putU64(v, 17, id.term);
}

/** encodeEnvelope returns the envelope of payload for proposal id. */
export function encodeEnvelope(id: ProposalId, payload: Uint8Array): Uint8Array {
  writeHeader(id);
  const out = new Uint8Array(EnvelopeHeaderSize + payload.length);
  out.set(header);
  out.set(payload, EnvelopeHeaderSize);
  return out;
}

/** Proposed is one proposal of a batch: its seq and the application's bytes. */
export interface Proposed {
  readonly seq: number;
  readonly data: Uint8Array;
}

/**
 * encodeEnvelopes returns the envelopes of a batch of proposals made by the same node,
 * session and term (id.seq is ignored), as views of one buffer: one allocation per batch,
 * and bytes off V8's heap that its garbage collector never copies while the log holds them.
 */
export function encodeEnvelopes(id: ProposalId, batch: readonly Proposed[]): Uint8Array[] {
  let size = 0;
  for (const p of batch) size += EnvelopeHeaderSize + p.data.length;
  const buf = new ArrayBuffer(size);
  const bytes = new Uint8Array(buf);
  writeHeader(id);
  const out = new Array<Uint8Array>(batch.length);
  let at = 0;
  for (let i = 0; i < batch.length; i++) {
    const p = batch[i] as Proposed;
    headerView.setUint32(13, p.seq, BIG_ENDIAN);
    bytes.set(header, at);
    bytes.set(p.data, at + EnvelopeHeaderSize);
    out[i] = new Uint8Array(buf, at, EnvelopeHeaderSize + p.data.length);
    at += EnvelopeHeaderSize + p.data.length;
  }
  return out;
}

/** isEnvelope reports whether data starts with an envelope header of this version. */
function isEnvelope(data: Uint8Array | undefined): data is Uint8Array {
  return data !== undefined && data.length >= EnvelopeHeaderSize && data[0] === EnvelopeVersion;
}

/** readHeader copies the header of an envelope into `header`; false if data is none. */
function readHeader(data: Uint8Array | undefined): boolean {
  if (!isEnvelope(data)) return false;
  for (let i = 0; i < EnvelopeHeaderSize; i++) header[i] = data[i] as number;
  return true;
}

/**
 * decodeEnvelope reads the header of an entry's data; undefined when data is too short or
 * carries another version (such data is given to the state machine as it is).
 */
export function decodeEnvelope(data: Uint8Array | undefined): ProposalId | undefined {
  if (!readHeader(data)) return undefined;
  const v = headerView;
  return {
    origin: getU64(v, 1),
    session: v.getUint32(9, BIG_ENDIAN),
    seq: v.getUint32(13, BIG_ENDIAN),
    term: getU64(v, 17),
  };
}

/**
 * envelopeSeq returns the seq of data's envelope if the proposal was made by node `origin`
 * in `session`, undefined otherwise. It is decodeEnvelope without the allocation, for the
 * per-entry paths.
 */
export function envelopeSeq(
  data: Uint8Array | undefined,
  origin: number,
  session: number,
): number | undefined {
  if (!readHeader(data)) return undefined;
  const v = headerView;
  if (getU64(v, 1) !== origin || v.getUint32(9, BIG_ENDIAN) !== session) return undefined;
  return v.getUint32(13, BIG_ENDIAN);
}

/** envelopePayload returns the application's bytes of an entry's data (a view, no copy). */
export function envelopePayload(data: Uint8Array): Uint8Array {
  return isEnvelope(data) ? data.subarray(EnvelopeHeaderSize) : data;
}

/** AddressBook maps node ids to transport addresses. */
export type AddressBook = ReadonlyMap<number, string>;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function bookToJson(book: AddressBook): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [id, a] of book) o[String(id)] = a;
  return o;
}

function bookFromJson(v: unknown): Map<number, string> {
  const out = new Map<number, string>();
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, a] of Object.entries(v as Record<string, unknown>)) {
    const id = Number(k);
    if (Number.isSafeInteger(id) && id > 0 && typeof a === 'string') out.set(id, a);
  }
  return out;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8Decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/** encodeAddressContext returns the conf change context that carries these addresses. */
export function encodeAddressContext(book: AddressBook): Uint8Array {
  return utf8.encode(JSON.stringify({ addresses: bookToJson(book) }));
}

/** decodeAddressContext reads a conf change context; empty for anything not in format 2. */
export function decodeAddressContext(ctx: Uint8Array | undefined): Map<number, string> {
  if (ctx === undefined || ctx.length === 0) return new Map();
  const v = parseJson(ctx);
  if (typeof v !== 'object' || v === null) return new Map();
  return bookFromJson((v as { addresses?: unknown }).addresses);
}

/** wrapSnapshot returns snapshot data in format 3. */
export function wrapSnapshot(book: AddressBook, app: Uint8Array): Uint8Array {
  const head = snapshotHead(book);
  const out = new Uint8Array(head.length + app.length);
  out.set(head, 0);
  out.set(app, head.length);
  return out;
}

/**
 * snapshotHead returns what wrapSnapshot puts before the application's data: the
 * application's data may follow it in separate chunks.
 */
export function snapshotHead(book: AddressBook): Uint8Array {
  const meta = utf8.encode(JSON.stringify({ v: 1, addresses: bookToJson(book) }));
  const out = new Uint8Array(4 + meta.length);
  new DataView(out.buffer).setUint32(0, meta.length, BIG_ENDIAN);
  out.set(meta, 4);
  return out;
}

/**
 * unwrapSnapshot splits snapshot data in format 3. It throws a RangeError naming the problem
 * when data is not in that format: a snapshot that cannot be read must stop the node.
 */
export function unwrapSnapshot(data: Uint8Array | undefined): {
  addresses: Map<number, string>;
  app: Uint8Array;
} {
  if (data === undefined || data.length === 0)
    return { addresses: new Map(), app: new Uint8Array() };
  if (data.length < 4) {
    throw new RangeError(`Cannot read snapshot: ${data.length} bytes is shorter than its header`);
  }
  const n = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, BIG_ENDIAN);
  if (4 + n > data.length) {
    throw new RangeError(`Cannot read snapshot: meta length ${n} exceeds ${data.length - 4} bytes`);
  }
  const meta = parseJson(data.subarray(4, 4 + n));
  if (typeof meta !== 'object' || meta === null || (meta as { v?: unknown }).v !== 1) {
    throw new RangeError('Cannot read snapshot: meta is not version 1 JSON');
  }
  return {
    addresses: bookFromJson((meta as { addresses?: unknown }).addresses),
    app: data.subarray(4 + n),
  };
}
