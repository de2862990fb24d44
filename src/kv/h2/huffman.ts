/**
 * HPACK's Huffman code (RFC 7541 section 5.2 and Appendix B) and the error type of the HPACK
 * layer. Pure: no I/O, Uint8Array in, latin1 strings out.
 *
 * The decoder is a nibble-at-a-time state machine. The code is a complete prefix code over 257
 * symbols, so its tree has exactly 256 internal nodes; a state is one internal node (the bits
 * read since the last symbol). One table lookup per 4 input bits gives the next state and the
 * symbol those bits complete, if any (no code is shorter than 5 bits, so at most one). The
 * table, 256 states by 16 nibbles (16 KiB), is built once when the module loads (well under a
 * millisecond; a byte-wide table would be 256 KiB and take milliseconds to build).
 */

/** HpackErrorCode lists the stable codes of HpackError. */
export const HpackErrorCode = {
  /** The block is malformed: an HTTP/2 connection error of type COMPRESSION_ERROR. */
  COMPRESSION_ERROR: 'COMPRESSION_ERROR',
  /**
   * The block decoded, and the decoder's table is in sync, but the header list is larger than
   * the limit: the stream can be refused while the connection goes on (RFC 7540 section 10.5.1).
   */
  HEADER_LIST_TOO_LARGE: 'HEADER_LIST_TOO_LARGE',
} as const;
/** HpackErrorCode is the `code` of an HpackError. */
export type HpackErrorCode = (typeof HpackErrorCode)[keyof typeof HpackErrorCode];

/** HpackErrorOptions are the optional constructor arguments of HpackError. */
export interface HpackErrorOptions {
  /** The lower-level error that led to this one, if any. */
  cause?: unknown;
}

/**
 * HpackError is thrown for a header block that cannot be decoded. `code` is stable:
 * COMPRESSION_ERROR (tear the connection down) or HEADER_LIST_TOO_LARGE (refuse the stream).
 * It is declared here, below hpack.ts, so that huffman.ts can throw it without an import
 * cycle; hpack.ts re-exports it.
 */
export class HpackError extends Error {
  override readonly name = 'HpackError';
  readonly code: HpackErrorCode;

  constructor(code: HpackErrorCode, message: string, options?: HpackErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** compressionError makes the COMPRESSION_ERROR HpackError for a malformed block. */
export function compressionError(why: string): HpackError {
  return new HpackError(HpackErrorCode.COMPRESSION_ERROR, `Cannot decode header block: ${why}`);
}

/** HuffmanEos is the EOS symbol, which must never appear in encoded data. */
export const HuffmanEos = 256;

/**
 * HuffmanCodes is the HPACK Huffman code of each symbol (RFC 7541 Appendix B), right-aligned:
 * the code of symbol s is the low HuffmanCodeLengths[s] bits of HuffmanCodes[s]. Symbols 0-255
 * are the octets; symbol 256 is EOS.
 */
export const HuffmanCodes: readonly number[] = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8,
  0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed,
  0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4,
  0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9,
  0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18, 0x0, 0x1,
  0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc, 0x1ffa,
  0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
  0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, 0x2b,
  0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd,
  0xffffffc, 0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6,
  0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, 0xffffec, 0xffffed,
  0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4, 0x1fffdc, 0x3fffd8,
  0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc,
  0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf,
  0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee,
  0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2,
  0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3,
  0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8,
  0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6,
  0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4,
  0xfffff5, 0x3ffffea, 0x7ffff4, 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8,
  0x7ffffe9, 0x7ffffea, 0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0,
  0x3ffffee, 0x3fffffff,
];

/** HuffmanCodeLengths is the length in bits (5 to 30) of each symbol's code in HuffmanCodes. */
export const HuffmanCodeLengths: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

/** InternalNodes is the number of internal nodes of the code tree: one less than the symbols. */
const InternalNodes = HuffmanEos;
/** MaxPaddingBits is the longest padding allowed after the last code (RFC 7541 section 5.2). */
const MaxPaddingBits = 7;
/** NibbleBits is the number of input bits one table lookup consumes. */
const NibbleBits = 4;
/** NibbleValues is the number of values a nibble has: the width of a state's row in the table. */
const NibbleValues = 1 << NibbleBits;
const NibbleMask = NibbleValues - 1;
/** MaxSymbolsPerByte bounds the symbols one input byte completes (the shortest code is 5 bits). */
const MaxSymbolsPerByte = 2;

/** Layout of a decode table entry (a Uint32): next state, symbol, flags. */
const EntryNextMask = 0xff;
const EntrySymShift = 8;
const EntrySymMask = 0xff;
/** EntryEmit marks a nibble that completes a symbol. */
const EntryEmit = 1 << 16;
/** EntryEos marks a nibble that completes the EOS symbol: an error. */
const EntryEos = 1 << 17;

/**
 * Tree is the code tree in typed arrays. Node 0 is the root. child[2n + bit] is the child of
 * internal node n for that bit: an internal node id (> 0) or a leaf, -(symbol + 1).
 * depth[n] is the number of bits from the root to n; onesPath[n] is 1 iff all those bits are 1
 * (n is then a prefix of EOS, whose code is thirty 1s).
 */
interface Tree {
  child: Int16Array;
  depth: Uint8Array;
  onesPath: Uint8Array;
}

function buildTree(): Tree {
  const child = new Int16Array(2 * InternalNodes);
  const depth = new Uint8Array(InternalNodes);
  const onesPath = new Uint8Array(InternalNodes);
  onesPath[0] = 1;
  let nodes = 1;
  for (let sym = 0; sym <= HuffmanEos; sym++) {
    const code = HuffmanCodes[sym]!;
    let node = 0;
    for (let i = HuffmanCodeLengths[sym]! - 1; i >= 0; i--) {
      const bit = (code >>> i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        child[slot] = -(sym + 1);
      } else {
        if (child[slot] === 0) {
          depth[nodes] = depth[node]! + 1;
          onesPath[nodes] = onesPath[node]! & bit;
          child[slot] = nodes++;
        }
        node = child[slot]!;
      }
    }
  }
  if (nodes !== InternalNodes) throw new Error(`Huffman tree has ${nodes} internal nodes`);
  return { child, depth, onesPath };
}

/** stepNibble walks nibble x from state s and returns the table entry for (s, x). */
function stepNibble(child: Int16Array, s: number, x: number): number {
  let node = s;
  let entry = 0;
  for (let i = NibbleBits - 1; i >= 0; i--) {
    const next = child[2 * node + ((x >>> i) & 1)]!;
    if (next > 0) {
      node = next;
      continue;
    }
    const sym = -next - 1;
    if (sym === HuffmanEos) return EntryEos;
    entry = EntryEmit | (sym << EntrySymShift);
    node = 0;
  }
  return entry | node;
}

function buildDecodeTable(child: Int16Array): Uint32Array {
  const table = new Uint32Array(InternalNodes * NibbleValues);
  for (let s = 0; s < InternalNodes; s++) {
    for (let x = 0; x < NibbleValues; x++) table[s * NibbleValues + x] = stepNibble(child, s, x);
  }
  return table;
}

const tree = buildTree();
/** decodeTable[state * 16 + nibble] is the entry of reading nibble in state (layout above). */
const decodeTable = buildDecodeTable(tree.child);
/** stateDepth[s] is the number of bits read since the last symbol when in state s. */
const stateDepth = tree.depth;
/** stateOnes[s] is 1 iff those bits are all 1s. */
const stateOnes = tree.onesPath;

/** InitialScratch is the first size of the scratch buffer. */
const InitialScratch = 256;
/** scratch holds decoded octets before they become a string; it grows, never shrinks. */
let scratch = new Uint8Array(InitialScratch);

/**
 * huffmanDecode decodes the Huffman-coded string in src[start, end) and returns it as a latin1
 * string (one char per octet). It throws a COMPRESSION_ERROR HpackError if the data contains
 * EOS, ends inside a code with more than 7 bits left over, or ends with padding that is not all
 * 1s (RFC 7541 section 5.2). The caller checks that [start, end) lies within src.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number): string {
  const need = (end - start) * MaxSymbolsPerByte;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i]!;
    const high = decodeTable[state * NibbleValues + (byte >>> NibbleBits)]!;
    if ((high & EntryEmit) !== 0) out[n++] = (high >>> EntrySymShift) & EntrySymMask;
    else if (high === EntryEos) throw eosError(i - start);
    const low = decodeTable[(high & EntryNextMask) * NibbleValues + (byte & NibbleMask)]!;
    if ((low & EntryEmit) !== 0) out[n++] = (low >>> EntrySymShift) & EntrySymMask;
    else if (low === EntryEos) throw eosError(i - start);
    state = low & EntryNextMask;
  }
  if (stateDepth[state]! > MaxPaddingBits) {
    throw compressionError(
      `Huffman string ends inside a code or with ${stateDepth[state]} bits of padding (at most ${MaxPaddingBits})`,
    );
  }
  if (stateOnes[state] === 0) {
    throw compressionError('Huffman padding is not the most significant bits of EOS (all 1s)');
  }
  return latin1String(out, 0, n);
}

function eosError(at: number): HpackError {
  return compressionError(`Huffman string contains EOS (at byte ${at})`);
}

/** ShortString is the length below which latin1String builds a char code array directly. */
const ShortString = 24;
/** ApplyChunk bounds the arguments of one String.fromCharCode call (the stack limits them). */
const ApplyChunk = 4096;
/** AsciiMax is the largest ASCII octet: ASCII-only bytes decode the same as UTF-8. */
const AsciiMax = 0x7f;

const utf8 = new TextDecoder('utf-8');

/**
 * latin1String returns bytes[start, end) as a string of one char per octet (ISO-8859-1: char
 * code = octet). TextDecoder's 'latin1' label is windows-1252, so it is used only for all-ASCII
 * runs, as UTF-8.
 */
export function latin1String(bytes: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n < ShortString) {
    const codes = new Array<number>(n);
    for (let i = 0; i < n; i++) codes[i] = bytes[start + i]!;
    return String.fromCharCode.apply(null, codes);
  }
  let or = 0;
  for (let i = start; i < end; i++) or |= bytes[i]!;
  if (or <= AsciiMax) return utf8.decode(bytes.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i += ApplyChunk) {
    const chunk = bytes.subarray(i, Math.min(end, i + ApplyChunk));
    s += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return s;
}
