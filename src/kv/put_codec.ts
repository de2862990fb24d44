/**
 * Hand-written codecs for the messages of a put, which give what protobufjs (through
 * proto-loader) gives for them (put_codec.test.ts checks them against it), with far less
 * garbage: protobufjs's toObject adds a decoded message and two default Buffers per
 * PutRequest, and its fromObject and encode make a Long, a LongBits and writer ops for each
 * of a ResponseHeader's four 64-bit fields. A leader decodes each put twice (the request and
 * the applied entry) and encodes one response: this saved about 2.5 KB of garbage per put.
 * What a fast path does not cover it leaves to protobufjs (it returns undefined), which
 * then gives the same result, or the same error, as before.
 */
import type { PutRequest, PutResponse, ResponseHeader } from './types.ts';
import { putVarint, varintSize } from './varint.ts';

const TagHeader = (1 << 3) | 2; // PutResponse.header, length-delimited
const TagClusterId = 1 << 3; // ResponseHeader fields 1 to 4, varints
const TagMemberId = 2 << 3;
const TagRevision = 3 << 3;
const TagRaftTerm = 4 << 3;

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** headerSize is the encoded size of a header whose fields all passed isUint. */
function headerSize(h: ResponseHeader): number {
  return (
    4 +
    varintSize(h.clusterId) +
    varintSize(h.memberId) +
    varintSize(h.revision) +
    varintSize(h.raftTerm)
  );
}

function fastHeader(res: { header?: ResponseHeader | undefined }): ResponseHeader | undefined {
  const h = res.header;
  if (typeof h !== 'object' || h === null) return undefined;
  const ok = isUint(h.clusterId) && isUint(h.memberId) && isUint(h.revision) && isUint(h.raftTerm);
  return ok ? h : undefined;
}

/**
 * encodePutResponse encodes res as etcdserverpb.PutResponse, or returns undefined when res
 * is not a header-only response with safe non-negative integer fields (the caller then
 * encodes it with protobufjs).
 */
export function encodePutResponse(res: PutResponse): Buffer | undefined {
  if (res.prevKv != null) return undefined;
  const h = fastHeader(res);
  if (h === undefined) return undefined;
  const size = headerSize(h);
  const out = Buffer.allocUnsafe(1 + varintSize(size) + size);
  out[0] = TagHeader;
  let at = putVarint(out, 1, size);
  out[at++] = TagClusterId;
  at = putVarint(out, at, h.clusterId);
  out[at++] = TagMemberId;
  at = putVarint(out, at, h.memberId);
  out[at++] = TagRevision;
  at = putVarint(out, at, h.revision);
  out[at++] = TagRaftTerm;
  putVarint(out, at, h.raftTerm);
  return out;
}

const TagKey = (1 << 3) | 2; // PutRequest fields: key and value length-delimited,
const TagValue = (2 << 3) | 2;
const TagLease = 3 << 3; // the others varints
const TagPrevKv = 4 << 3;
const TagIgnoreValue = 5 << 3;
const TagIgnoreLease = 6 << 3;

/** MaxLengthBytes: a length of up to 4 varint bytes (< 256 MiB) takes the fast path. */
const MaxLengthBytes = 4;
/** MaxLeaseBytes: a lease of up to 7 varint bytes (< 2^49, exact as a number) does. */
const MaxLeaseBytes = 7;

/** readAt is where readVarint stopped reading. */
let readAt = 0;

/**
 * readVarint reads a varint of at most maxBytes from buf[at..end), leaving readAt after
 * it; it returns -1 when the varint is longer or runs past end.
 */
function readVarint(buf: Uint8Array, at: number, end: number, maxBytes: number): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes && at < end; i++) {
    const b = buf[at++] as number;
    n += (b & 0x7f) * scale;
    if (b < 0x80) {
      readAt = at;
      return n;
    }
    scale *= 128;
  }
  return -1;
}

/**
 * decodePutRequest decodes the etcdserverpb.PutRequest in raw[start..end) as proto-loader
 * does with raftkv's options (codec.ts): key and value as Buffers on raw's memory, lease as
 * a number, absent fields as their defaults. It returns undefined for what it leaves to
 * protobufjs: an unknown field or wire type, a length or lease longer than its fast path
 * takes, a bool of more than one byte, anything truncated.
 */
export function decodePutRequest(raw: Buffer, start = 0, end = raw.length): PutRequest | undefined {
  let key: Buffer | undefined;
  let value: Buffer | undefined;
  let lease = 0;
  let prevKv = false;
  let ignoreValue = false;
  let ignoreLease = false;
  let at = start;
  while (at < end) {
    const tag = raw[at++] as number;
    if (tag === TagKey || tag === TagValue) {
      const len = readVarint(raw, at, end, MaxLengthBytes);
      if (len < 0 || readAt + len > end) return undefined;
      at = readAt + len;
      const bytes = len === 0 ? Buffer.alloc(0) : raw.subarray(readAt, at);
      if (tag === TagKey) key = bytes;
      else value = bytes;
    } else if (tag === TagLease) {
      lease = readVarint(raw, at, end, MaxLeaseBytes);
      if (lease < 0) return undefined;
      at = readAt;
    } else if (tag === TagPrevKv || tag === TagIgnoreValue || tag === TagIgnoreLease) {
      const b = raw[at++];
      if (b === undefined || at > end || b >= 0x80) return undefined;
      if (tag === TagPrevKv) prevKv = b !== 0;
      else if (tag === TagIgnoreValue) ignoreValue = b !== 0;
      else ignoreLease = b !== 0;
    } else {
      return undefined;
    }
  }
  return {
    key: key ?? Buffer.alloc(0),
    value: value ?? Buffer.alloc(0),
    lease,
    prevKv,
    ignoreValue,
    ignoreLease,
  };
}

const TagCommandPut = (1 << 3) | 2; // raftkv.Command.put

/**
 * decodePutCommand decodes data as a raftkv.Command that carries a put and nothing else, as
 * commandCodec does; it returns undefined for any other command, or a put that
 * decodePutRequest leaves to protobufjs.
 */
export function decodePutCommand(data: Buffer): { put: PutRequest; op: 'put' } | undefined {
  if (data[0] !== TagCommandPut) return undefined;
  const len = readVarint(data, 1, data.length, MaxLengthBytes);
  if (len < 0 || readAt + len !== data.length) return undefined;
  const put = decodePutRequest(data, readAt, data.length);
  return put === undefined ? undefined : { put, op: 'put' };
}
