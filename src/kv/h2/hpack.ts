/**
 * HPACK (RFC 7541), the header compression of HTTP/2, for raftkv's own HTTP/2 server: a strict
 * decoder with its dynamic table, and a stateless encoder. Pure: no I/O, Uint8Array in and out,
 * names and values as latin1 strings (one char per octet).
 */
import {
  compressionError,
  HpackError,
  HpackErrorCode,
  huffmanDecode,
  latin1String,
} from './huffman.ts';

export { HpackError, HpackErrorCode } from './huffman.ts';
export type { HpackErrorOptions } from './huffman.ts';

/** DefaultMaxTableSize is SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 7540 section 6.5.2). */
export const DefaultMaxTableSize = 4096;
/** DefaultMaxHeaderListSize is the decoder's default limit on a header list's size. */
export const DefaultMaxHeaderListSize = 65536;
/** EntryOverhead is what each entry adds to a table's or list's size (RFC 7541 section 4.1). */
export const EntryOverhead = 32;
/** HpackMaxInteger is the largest integer the decoder accepts (an index, length or size). */
export const HpackMaxInteger = 2 ** 31 - 1;
/** MaxIntegerContinuations bounds the continuation bytes of an integer (5 carry 35 bits). */
const MaxIntegerContinuations = 5;

/** First-byte patterns of the field representations (RFC 7541 section 6). */
const IndexedFlag = 0x80; // 1xxxxxxx: indexed header field, 7-bit index
const IncrementalFlag = 0x40; // 01xxxxxx: literal with incremental indexing, 6-bit index
const SizeUpdateFlag = 0x20; // 001xxxxx: dynamic table size update, 5-bit size
// 0000xxxx: literal without indexing; 0001xxxx: literal never indexed; both a 4-bit index.
const IndexedPrefix = 0x7f;
const IncrementalPrefix = 0x3f;
const SizeUpdatePrefix = 0x1f;
const LiteralPrefix = 0x0f;
/** A string literal: a Huffman flag bit, then the length with a 7-bit prefix. */
const HuffmanFlag = 0x80;
const StringLengthPrefix = 0x7f;
/** An integer's continuation bytes carry 7 bits each, low bits first; the top bit says more. */
const ContinuationFlag = 0x80;
const ContinuationBits = 0x7f;
const ContinuationScale = 0x80;

/** StaticTable is RFC 7541 Appendix A: the 61 entries that index 1..61 refers to. */
const StaticTable: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];
/** StaticEntries is the static table's length: dynamic indexes start after it. */
export const StaticEntries = StaticTable.length;
/** StaticNames[i] and StaticValues[i] are static entry i (1-based; slot 0 is unused). */
const StaticNames: readonly string[] = ['', ...StaticTable.map(([n]) => n)];
const StaticValues: readonly string[] = ['', ...StaticTable.map(([, v]) => v)];
/** staticNameIndex maps a name to its first static index; same-name entries are adjacent. */
const staticNameIndex = new Map<string, number>();
for (let i = StaticEntries; i >= 1; i--) staticNameIndex.set(StaticNames[i]!, i);

/** InitialRingSlots is the dynamic table ring's first length (a power of two); it doubles. */
const InitialRingSlots = 16;
const NoBytes = new Uint8Array(0);

/** HpackDecoderOptions configure an HpackDecoder. */
export interface HpackDecoderOptions {
  /**
   * maxTableSize is the SETTINGS_HEADER_TABLE_SIZE we advertise: the dynamic table starts at
   * this size and a size update above it is an error. Default 4096. Keep it at 4096 or more:
   * a peer may encode with the initial 4096 until it has seen our SETTINGS.
   */
  maxTableSize?: number;
  /**
   * maxHeaderListSize limits a block's header list: the sum over its fields of name length +
   * value length + 32 (RFC 7540 section 6.5.2). Default 65536.
   */
  maxHeaderListSize?: number;
}

function checkLimit(what: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > HpackMaxInteger) {
    throw new RangeError(
      `HpackDecoder: ${what} ${value} is not an integer in [0, ${HpackMaxInteger}]`,
    );
  }
  return value;
}

/**
 * HpackDecoder decodes the header blocks of one HTTP/2 connection, in order, keeping the
 * dynamic table that the peer's encoder drives (RFC 7541 sections 2.3 and 4).
 *
 * decode() throws HpackError:
 * - COMPRESSION_ERROR for a malformed block (truncated anywhere, index 0 or past the table, an
 *   integer over 2^31-1 or 5 continuation bytes, bad Huffman data, a size update above
 *   maxTableSize or after the first field). The table may then be out of sync with the peer's,
 *   so the connection must end; the decoder refuses any further block.
 * - HEADER_LIST_TOO_LARGE when the list exceeds maxHeaderListSize. The whole block has been
 *   decoded and the table updated (fields past the limit are dropped, not kept), so the decoder
 *   stays usable: the stream can be refused and the connection go on.
 *
 * It does not check names or values (uppercase names, pseudo-header order): that is HTTP/2's
 * job (RFC 7540 section 8.1.2), not HPACK's.
 */
export class HpackDecoder {
  /** maxTableSize is the largest table size the peer may set (see HpackDecoderOptions). */
  readonly maxTableSize: number;
  /** maxHeaderListSize is the limit on a block's header list (see HpackDecoderOptions). */
  readonly maxHeaderListSize: number;
  /** capacity is the table's maximum size as the peer last set it: 0 <= capacity <= maxTableSize. */
  private capacity: number;
  /** size is the sum of the entries' sizes (name + value + 32): 0 <= size <= capacity. */
  private size = 0;
  /** names and values are a ring of entries; their length is a power of two, >= count. */
  private names: string[] = new Array<string>(InitialRingSlots).fill('');
  private values: string[] = new Array<string>(InitialRingSlots).fill('');
  /** oldest is the ring slot of the oldest entry: 0 <= oldest < names.length. */
  private oldest = 0;
  /** count is the number of entries, in slots oldest, oldest + 1, ... (mod the ring length). */
  private count = 0;
  /** failure is the COMPRESSION_ERROR that broke the decoder, if one did. */
  private failure: HpackError | undefined;
  /** block is the block being decoded; pos the offset of its next unread byte. */
  private block: Uint8Array = NoBytes;
  private pos = 0;

  constructor(opts: HpackDecoderOptions = {}) {
    this.maxTableSize = checkLimit('maxTableSize', opts.maxTableSize ?? DefaultMaxTableSize);
    this.maxHeaderListSize = checkLimit(
      'maxHeaderListSize',
      opts.maxHeaderListSize ?? DefaultMaxHeaderListSize,
    );
    this.capacity = this.maxTableSize;
  }

  /** tableSize is the dynamic table's size: the sum of name + value + 32 over its entries. */
  get tableSize(): number {
    return this.size;
  }

  /** tableCapacity is the dynamic table's maximum size, as last set by the peer. */
  get tableCapacity(): number {
    return this.capacity;
  }

  /** tableEntries returns the dynamic table's entries, newest (index 62) first. For tests. */
  tableEntries(): [string, string][] {
    const entries: [string, string][] = [];
    for (let i = 1; i <= this.count; i++) {
      const slot = this.slotOf(i);
      entries.push([this.names[slot]!, this.values[slot]!]);
    }
    return entries;
  }

  /**
   * decode decodes one complete header block (HEADERS plus its CONTINUATIONs) and returns its
   * fields as [name0, value0, name1, value1, ...]. Errors: see the class comment.
   */
  decode(block: Uint8Array): string[] {
    if (this.failure !== undefined) {
      throw compressionError(`decoder unusable after an earlier error (${this.failure.message})`);
    }
    this.block = block;
    this.pos = 0;
    try {
      return this.decodeFields();
    } catch (err) {
      if (err instanceof HpackError && err.code === HpackErrorCode.COMPRESSION_ERROR) {
        this.failure = err;
      }
      throw err;
    } finally {
      this.block = NoBytes;
    }
  }

  private decodeFields(): string[] {
    const block = this.block;
    const out: string[] = [];
    let listSize = 0;
    let fields = 0;
    while (this.pos < block.length) {
      const b = block[this.pos]!;
      let name: string;
      let value: string;
      if (b >= IndexedFlag) {
        const index = this.readInteger(IndexedPrefix);
        if (index === 0) throw compressionError('index 0 in an indexed header field');
        if (index <= StaticEntries) {
          name = StaticNames[index]!;
          value = StaticValues[index]!;
        } else {
          const slot = this.dynamicSlot(index);
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if (b >= IncrementalFlag) {
        name = this.readName(IncrementalPrefix);
        value = this.readString();
        this.insert(name, value);
      } else if (b >= SizeUpdateFlag) {
        // RFC 7541 section 4.2: only at the beginning of a block (one or more of them).
        if (fields > 0) throw compressionError(`dynamic table size update after ${fields} fields`);
        this.resize(this.readInteger(SizeUpdatePrefix));
        continue;
      } else {
        // Without indexing (0000) and never indexed (0001) decode alike; neither is added.
        name = this.readName(LiteralPrefix);
        value = this.readString();
      }
      fields++;
      listSize += name.length + value.length + EntryOverhead;
      if (listSize <= this.maxHeaderListSize) out.push(name, value);
    }
    if (listSize > this.maxHeaderListSize) {
      throw new HpackError(
        HpackErrorCode.HEADER_LIST_TOO_LARGE,
        `Cannot decode header block: header list size ${listSize} exceeds limit ${this.maxHeaderListSize}`,
      );
    }
    return out;
  }

  /**
   * readInteger reads an integer whose first byte, at pos (which the caller has checked is in
   * the block), keeps its value in the bits of prefixMask (RFC 7541 section 5.1).
   */
  private readInteger(prefixMask: number): number {
    const block = this.block;
    let pos = this.pos;
    let value = block[pos++]! & prefixMask;
    if (value === prefixMask) {
      let scale = 1;
      for (let n = 0; ; n++) {
        if (pos >= block.length) throw compressionError('block ends inside an integer');
        if (n === MaxIntegerContinuations) {
          throw compressionError(
            `integer longer than ${MaxIntegerContinuations} continuation bytes`,
          );
        }
        const b = block[pos++]!;
        value += (b & ContinuationBits) * scale;
        if (value > HpackMaxInteger) {
          throw compressionError(`integer past the limit ${HpackMaxInteger} at byte ${pos - 1}`);
        }
        if ((b & ContinuationFlag) === 0) break;
        scale *= ContinuationScale;
      }
    }
    this.pos = pos;
    return value;
  }

  /** readString reads a string literal, raw or Huffman-coded (RFC 7541 section 5.2). */
  private readString(): string {
    const block = this.block;
    if (this.pos >= block.length) throw compressionError('block ends before a string literal');
    const huffman = (block[this.pos]! & HuffmanFlag) !== 0;
    const length = this.readInteger(StringLengthPrefix);
    const start = this.pos;
    const left = block.length - start;
    if (length > left) {
      throw compressionError(
        `string length ${length} past the end of the block (${left} bytes left)`,
      );
    }
    this.pos = start + length;
    return huffman
      ? huffmanDecode(block, start, start + length)
      : latin1String(block, start, start + length);
  }

  /** readName reads a literal field's name: an index (> 0) or, for index 0, a string literal. */
  private readName(prefixMask: number): string {
    const index = this.readInteger(prefixMask);
    if (index === 0) return this.readString();
    if (index <= StaticEntries) return StaticNames[index]!;
    return this.names[this.dynamicSlot(index)]!;
  }

  /** dynamicSlot returns the ring slot of index (> StaticEntries), or throws if it is past the table. */
  private dynamicSlot(index: number): number {
    const i = index - StaticEntries;
    if (i > this.count) {
      throw compressionError(
        `index ${index} beyond the table (${StaticEntries} static + ${this.count} dynamic)`,
      );
    }
    return this.slotOf(i);
  }

  /** slotOf returns the ring slot of the i-th newest dynamic entry, 1 <= i <= count. */
  private slotOf(i: number): number {
    return (this.oldest + this.count - i) & (this.names.length - 1);
  }

  /** insert adds an entry, evicting the oldest ones to make room (RFC 7541 section 4.4). */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + EntryOverhead;
    if (entrySize > this.capacity) {
      this.evictTo(0); // An entry larger than the table empties it and is not added.
      return;
    }
    this.evictTo(this.capacity - entrySize);
    if (this.count === this.names.length) this.grow();
    const slot = (this.oldest + this.count) & (this.names.length - 1);
    this.names[slot] = name;
    this.values[slot] = value;
    this.count++;
    this.size += entrySize;
  }

  /** resize applies a dynamic table size update (RFC 7541 section 6.3). */
  private resize(capacity: number): void {
    if (capacity > this.maxTableSize) {
      throw compressionError(
        `dynamic table size update to ${capacity} above SETTINGS_HEADER_TABLE_SIZE ${this.maxTableSize}`,
      );
    }
    this.capacity = capacity;
    this.evictTo(capacity);
  }

  /** evictTo drops the oldest entries until the table's size is at most limit. */
  private evictTo(limit: number): void {
    const mask = this.names.length - 1;
    while (this.size > limit) {
      const slot = this.oldest;
      this.size -= this.names[slot]!.length + this.values[slot]!.length + EntryOverhead;
      this.names[slot] = '';
      this.values[slot] = '';
      this.oldest = (slot + 1) & mask;
      this.count--;
    }
  }

  /** grow doubles the ring, moving the entries to slots 0..count-1. */
  private grow(): void {
    const n = this.names.length;
    const names = new Array<string>(2 * n).fill('');
    const values = new Array<string>(2 * n).fill('');
    for (let i = 0; i < this.count; i++) {
      const slot = (this.oldest + i) & (n - 1);
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.oldest = 0;
  }
}

/** Char codes the encoder checks names and values against. */
const UpperA = 0x41;
const UpperZ = 0x5a;
const FirstVisible = 0x21;
const LastVisible = 0x7e;
const MaxLatin1 = 0xff;
const Nul = 0x00;
const Lf = 0x0a;
const Cr = 0x0d;
/** MaxIntegerBytes bounds an encoded integer: a prefix byte and up to 5 continuation bytes. */
const MaxIntegerBytes = 1 + MaxIntegerContinuations;

/** encodeBuffer holds the block being encoded; it grows, never shrinks. */
let encodeBuffer = new Uint8Array(DefaultMaxTableSize);

/**
 * encodeHeaders encodes fields as one header block, statelessly: a field that is exactly a
 * static entry (":status: 200") is indexed (0x88); one whose name is in the static table is a
 * literal without indexing with an indexed name; any other is a literal without indexing with
 * a new name. It uses neither Huffman coding nor the dynamic table, so the peer's decoder table
 * is never touched and blocks can be cached and sent on any connection, in any order.
 *
 * Throws TypeError for a name that is empty or not lowercase visible ASCII ('!'..'~' less
 * 'A'..'Z'), and for a value with a char above 0xff (not latin1) or a NUL, CR or LF (which make
 * a field malformed, RFC 9113 section 8.2.1).
 */
export function encodeHeaders(fields: readonly (readonly [string, string])[]): Uint8Array {
  let pos = 0;
  for (const [name, value] of fields) {
    const most = 1 + 2 * MaxIntegerBytes + name.length + value.length;
    if (encodeBuffer.length - pos < most) {
      const grown = new Uint8Array(Math.max(2 * encodeBuffer.length, pos + most));
      grown.set(encodeBuffer.subarray(0, pos));
      encodeBuffer = grown;
    }
    pos = encodeField(encodeBuffer, pos, name, value);
  }
  return encodeBuffer.slice(0, pos);
}

function encodeField(out: Uint8Array, start: number, name: string, value: string): number {
  const first = staticNameIndex.get(name);
  if (first === undefined) {
    out[start] = 0; // literal without indexing, new name
    const pos = writeName(out, start + 1, name);
    return writeValue(out, pos, value);
  }
  for (let i = first; i <= StaticEntries && StaticNames[i] === name; i++) {
    if (StaticValues[i] === value) return writeInteger(out, start, i, IndexedPrefix, IndexedFlag);
  }
  const pos = writeInteger(out, start, first, LiteralPrefix, 0);
  return writeValue(out, pos, value);
}

/** writeInteger writes value with a prefix of prefixMask's bits, or-ing flags into the first byte. */
function writeInteger(
  out: Uint8Array,
  start: number,
  value: number,
  prefixMask: number,
  flags: number,
): number {
  let pos = start;
  if (value < prefixMask) {
    out[pos++] = flags | value;
    return pos;
  }
  out[pos++] = flags | prefixMask;
  let rest = value - prefixMask;
  while (rest >= ContinuationScale) {
    out[pos++] = (rest & ContinuationBits) | ContinuationFlag;
    rest = Math.floor(rest / ContinuationScale);
  }
  out[pos++] = rest;
  return pos;
}

function writeName(out: Uint8Array, start: number, name: string): number {
  if (name.length === 0) throw new TypeError('Cannot encode header: empty name');
  let pos = writeInteger(out, start, name.length, StringLengthPrefix, 0);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < FirstVisible || c > LastVisible || (c >= UpperA && c <= UpperZ)) {
      throw new TypeError(
        `Cannot encode header: name ${JSON.stringify(name)} is not lowercase ASCII`,
      );
    }
    out[pos++] = c;
  }
  return pos;
}

function writeValue(out: Uint8Array, start: number, value: string): number {
  let pos = writeInteger(out, start, value.length, StringLengthPrefix, 0);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > MaxLatin1 || c === Nul || c === Lf || c === Cr) {
      throw new TypeError(
        `Cannot encode header: value has char 0x${c.toString(16)} at ${i} (latin1 without NUL, CR, LF)`,
      );
    }
    out[pos++] = c;
  }
  return pos;
}
