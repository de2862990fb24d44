import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  encodeHeaders,
  EntryOverhead,
  HpackDecoder,
  HpackError,
  HpackErrorCode,
  StaticEntries,
} from './hpack.ts';
import { HuffmanCodeLengths, HuffmanCodes, huffmanDecode, HuffmanEos } from './huffman.ts';
import { concatBytes } from '../../raft/util.ts';

type Field = [string, string];

function hex(s: string): Uint8Array {
  const digits = s.replace(/\s+/g, '');
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function pairs(flat: readonly string[]): Field[] {
  const out: Field[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

function hpackError(code: HpackErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HpackError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  };
}

const compression = (message: RegExp) => hpackError(HpackErrorCode.COMPRESSION_ERROR, message);

/** Step is one block of an RFC 7541 Appendix C sequence, split at its field boundaries. */
interface Step {
  id: string;
  parts: string[];
  fields: Field[];
  /** table is the dynamic table after the step, newest first; size its size. */
  table: Field[];
  size: number;
}

const request1: Field[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const request2: Field[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
  ['cache-control', 'no-cache'],
];
const request3: Field[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const requestTables: Field[][] = [
  [[':authority', 'www.example.com']],
  [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
  [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
];

const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const location = 'https://www.example.com';
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const response1: Field[] = [
  [':status', '302'],
  ['cache-control', 'private'],
  ['date', date1],
  ['location', location],
];
const response2: Field[] = [
  [':status', '307'],
  ['cache-control', 'private'],
  ['date', date1],
  ['location', location],
];
const response3: Field[] = [
  [':status', '200'],
  ['cache-control', 'private'],
  ['date', date2],
  ['location', location],
  ['content-encoding', 'gzip'],
  ['set-cookie', cookie],
];
const responseTables: Field[][] = [
  [
    ['location', location],
    ['date', date1],
    ['cache-control', 'private'],
    [':status', '302'],
  ],
  [
    [':status', '307'],
    ['location', location],
    ['date', date1],
    ['cache-control', 'private'],
  ],
  [
    ['set-cookie', cookie],
    ['content-encoding', 'gzip'],
    ['date', date2],
  ],
];

/** Sequence is an RFC 7541 Appendix C example: steps decoded by one decoder, in order. */
interface Sequence {
  name: string;
  maxTableSize: number;
  steps: Step[];
}

const sequences: Sequence[] = [
  ...[
    { id: 'C.2.1', parts: ['400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'] },
    { id: 'C.2.2', parts: ['040c 2f73 616d 706c 652f 7061 7468'] },
    { id: 'C.2.3', parts: ['1008 7061 7373 776f 7264 0673 6563 7265 74'] },
    { id: 'C.2.4', parts: ['82'] },
  ].map(({ id, parts }, i) => {
    const fields: Field[] = [
      ['custom-key', 'custom-header'],
      [':path', '/sample/path'],
      ['password', 'secret'],
      [':method', 'GET'],
    ];
    const field = fields[i]!;
    const step: Step = {
      id,
      parts,
      fields: [field],
      table: i === 0 ? [field] : [],
      size: i === 0 ? 55 : 0,
    };
    return { name: id, maxTableSize: 4096, steps: [step] };
  }),
  {
    name: 'C.3 requests without Huffman',
    maxTableSize: 4096,
    steps: [
      {
        id: 'C.3.1',
        parts: ['82', '86', '84', '410f 7777 772e 6578 616d 706c 652e 636f 6d'],
        fields: request1,
        table: requestTables[0]!,
        size: 57,
      },
      {
        id: 'C.3.2',
        parts: ['82', '86', '84', 'be', '5808 6e6f 2d63 6163 6865'],
        fields: request2,
        table: requestTables[1]!,
        size: 110,
      },
      {
        id: 'C.3.3',
        parts: [
          '82',
          '87',
          '85',
          'bf',
          '400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
        ],
        fields: request3,
        table: requestTables[2]!,
        size: 164,
      },
    ],
  },
  {
    name: 'C.4 requests with Huffman',
    maxTableSize: 4096,
    steps: [
      {
        id: 'C.4.1',
        parts: ['82', '86', '84', '418c f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
        fields: request1,
        table: requestTables[0]!,
        size: 57,
      },
      {
        id: 'C.4.2',
        parts: ['82', '86', '84', 'be', '5886 a8eb 1064 9cbf'],
        fields: request2,
        table: requestTables[1]!,
        size: 110,
      },
      {
        id: 'C.4.3',
        parts: ['82', '87', '85', 'bf', '4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'],
        fields: request3,
        table: requestTables[2]!,
        size: 164,
      },
    ],
  },
  {
    name: 'C.5 responses without Huffman, 256-byte table',
    maxTableSize: 256,
    steps: [
      {
        id: 'C.5.1',
        parts: [
          '4803 3330 32',
          '5807 7072 6976 6174 65',
          '611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 54',
          '6e17 6874 7470 733a 2f2f 7777 772e 6578 616d 706c 652e 636f 6d',
        ],
        fields: response1,
        table: responseTables[0]!,
        size: 222,
      },
      {
        id: 'C.5.2',
        parts: ['4803 3330 37', 'c1', 'c0', 'bf'],
        fields: response2,
        table: responseTables[1]!,
        size: 222,
      },
      {
        id: 'C.5.3',
        parts: [
          '88',
          'c1',
          '611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54',
          'c0',
          '5a04 677a 6970',
          '7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49' +
            '553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31',
        ],
        fields: response3,
        table: responseTables[2]!,
        size: 215,
      },
    ],
  },
  {
    name: 'C.6 responses with Huffman, 256-byte table',
    maxTableSize: 256,
    steps: [
      {
        id: 'C.6.1',
        parts: [
          '4882 6402',
          '5885 aec3 771a 4b',
          '6196 d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff',
          '6e91 9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3',
        ],
        fields: response1,
        table: responseTables[0]!,
        size: 222,
      },
      {
        id: 'C.6.2',
        parts: ['4883 640e ff', 'c1', 'c0', 'bf'],
        fields: response2,
        table: responseTables[1]!,
        size: 222,
      },
      {
        id: 'C.6.3',
        parts: [
          '88',
          'c1',
          '6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff',
          'c0',
          '5a83 9bd9 ab',
          '77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f' +
            '9587 3160 65c0 03ed 4ee5 b106 3d50 07',
        ],
        fields: response3,
        table: responseTables[2]!,
        size: 215,
      },
    ],
  },
];

const blockOf = (step: Step) => hex(step.parts.join(''));

describe('RFC 7541 Appendix C', () => {
  for (const seq of sequences) {
    test(seq.name, () => {
      const d = new HpackDecoder({ maxTableSize: seq.maxTableSize });
      for (const step of seq.steps) {
        assert.deepEqual(pairs(d.decode(blockOf(step))), step.fields, step.id);
        assert.deepEqual(d.tableEntries(), step.table, `${step.id} table`);
        assert.equal(d.tableSize, step.size, `${step.id} table size`);
        const sum = step.table.reduce((n, [k, v]) => n + k.length + v.length + EntryOverhead, 0);
        assert.equal(sum, step.size, `${step.id}: the RFC's size is the entries' sum`);
      }
    });
  }

  test('a block cut at any byte inside a field is an error; at a boundary, a shorter list', () => {
    for (const seq of sequences) {
      for (let s = 0; s < seq.steps.length; s++) {
        const step = seq.steps[s]!;
        const block = blockOf(step);
        const boundaries = new Map<number, number>();
        let at = 0;
        step.parts.forEach((p, i) => boundaries.set((at += hex(p).length), i + 1));
        for (let cut = 1; cut < block.length; cut++) {
          const d = new HpackDecoder({ maxTableSize: seq.maxTableSize });
          for (const prev of seq.steps.slice(0, s)) d.decode(blockOf(prev));
          const fields = boundaries.get(cut);
          const prefix = block.subarray(0, cut);
          if (fields === undefined) {
            assert.throws(() => d.decode(prefix), compression(/./), `${step.id} cut at ${cut}`);
          } else {
            assert.deepEqual(pairs(d.decode(prefix)), step.fields.slice(0, fields), step.id);
          }
        }
      }
    }
  });
});

/** naiveHuffmanEncode encodes s bit by bit from the code table, padding with 1s. */
function naiveHuffmanEncode(s: string): Uint8Array {
  const bits: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    for (let b = HuffmanCodeLengths[c]! - 1; b >= 0; b--) bits.push((HuffmanCodes[c]! >>> b) & 1);
  }
  while (bits.length % 8 !== 0) bits.push(1);
  const out = new Uint8Array(bits.length / 8);
  for (let i = 0; i < bits.length; i++) out[i >> 3]! |= bits[i]! << (7 - (i & 7));
  return out;
}

const codeKey = (length: number, code: number) => length * 2 ** 32 + code;
const symbolOfCode = new Map<number, number>();
for (let sym = 0; sym <= HuffmanEos; sym++) {
  symbolOfCode.set(codeKey(HuffmanCodeLengths[sym]!, HuffmanCodes[sym]!), sym);
}

/** naiveHuffmanDecode decodes bit by bit against the code table, with RFC 7541's rules. */
function naiveHuffmanDecode(src: Uint8Array): string {
  let out = '';
  let code = 0;
  let length = 0;
  for (let i = 0; i < src.length * 8; i++) {
    code = code * 2 + ((src[i >> 3]! >> (7 - (i & 7))) & 1);
    length++;
    const sym = symbolOfCode.get(codeKey(length, code));
    if (sym === undefined) continue;
    if (sym === HuffmanEos) throw new Error('EOS in data');
    out += String.fromCharCode(sym);
    code = 0;
    length = 0;
  }
  if (length > 7) throw new Error('padding longer than 7 bits');
  if (code !== 2 ** length - 1) throw new Error('padding not all 1s');
  return out;
}

function outcome(f: () => string): { ok: true; value: string } | { ok: false } {
  try {
    return { ok: true, value: f() };
  } catch {
    return { ok: false };
  }
}

const latin1Char = fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c));
const latin1 = fc.string({ unit: latin1Char, maxLength: 80 });

describe('huffmanDecode', () => {
  test('RFC 7541 Appendix C strings', () => {
    const cases: [string, string][] = [
      ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
      ['a8eb 1064 9cbf', 'no-cache'],
      ['25a8 49e9 5ba9 7d7f', 'custom-key'],
      ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
      ['6402', '302'],
      ['aec3 771a 4b', 'private'],
      ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', date1],
      ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', location],
      ['9bd9 ab', 'gzip'],
      ['', ''],
    ];
    for (const [h, want] of cases) {
      const b = hex(h);
      assert.equal(huffmanDecode(b, 0, b.length), want);
      assert.deepEqual(naiveHuffmanEncode(want), b, want);
    }
  });

  test('decodes only [start, end)', () => {
    const b = hex('00 9bd9 ab 00');
    assert.equal(huffmanDecode(b, 1, 4), 'gzip');
  });

  test('every octet, including the 30-bit codes, round-trips', () => {
    let all = '';
    for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
    const b = naiveHuffmanEncode(all);
    assert.equal(huffmanDecode(b, 0, b.length), all);
  });

  test('bad padding and EOS are COMPRESSION_ERRORs', () => {
    // 'a' is 00011: 0x1f is 'a' plus 3 bits of 1s padding.
    assert.equal(huffmanDecode(hex('1f'), 0, 1), 'a');
    const bad: [string, RegExp][] = [
      ['ff', /8 bits of padding/], // 8 bits of 1s: padding longer than 7 bits
      ['1f ff', /11 bits of padding/], // 'a', then 11 bits of 1s
      ['18', /not the most significant bits of EOS/], // 'a', then 000
      ['1e', /not the most significant bits of EOS/], // 'a', then 110
      ['ffff ffff', /contains EOS/], // EOS (thirty 1s), then 11
      ['1fff ffff ff', /contains EOS/], // 'a', EOS, 11111
      ['fe', /ends inside a code/], // 7 bits of a code that is not all 1s
    ];
    for (const [h, message] of bad) {
      const b = hex(h);
      assert.throws(() => huffmanDecode(b, 0, b.length), compression(message), h);
    }
  });

  test('property: decodes what a naive bit-by-bit encoder encodes', () => {
    fc.assert(
      fc.property(latin1, (s) => {
        const b = naiveHuffmanEncode(s);
        assert.equal(huffmanDecode(b, 0, b.length), s);
      }),
    );
  });

  test('property: agrees with a naive bit-by-bit decoder on any bytes', () => {
    const nearlyValid = fc
      .tuple(latin1, fc.nat(), fc.integer({ min: 0, max: 0xff }), fc.nat(3))
      .map(([s, at, byte, how]) => {
        const b = naiveHuffmanEncode(s);
        if (how === 0 || b.length === 0) return concatBytes([b, Uint8Array.of(byte)]);
        const i = at % b.length;
        if (how === 1) return b.subarray(0, i);
        b[i] = byte;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), nearlyValid), (b) => {
        const fast = outcome(() => huffmanDecode(b, 0, b.length));
        const naive = outcome(() => naiveHuffmanDecode(b));
        assert.deepEqual(fast, naive);
      }),
      { numRuns: 2000 },
    );
  });
});

/** withTable returns a decoder whose dynamic table holds n entries: x0: 0 ... (newest last). */
function withTable(n: number, opts: ConstructorParameters<typeof HpackDecoder>[0] = {}) {
  const d = new HpackDecoder(opts);
  const fields = Array.from({ length: n }, (_, i) => {
    const name = `x${i}`;
    const value = String(i);
    return concatBytes([
      Uint8Array.of(0x40, name.length),
      ascii(name),
      Uint8Array.of(1),
      ascii(value),
    ]);
  });
  d.decode(concatBytes(fields));
  return d;
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

describe('HpackDecoder errors', () => {
  const cases: { name: string; block: string; message: RegExp; entries?: number }[] = [
    { name: 'index 0', block: '80', message: /index 0/ },
    {
      name: 'index past an empty table',
      block: 'be',
      message: /index 62 beyond the table \(61 static \+ 0 dynamic\)/,
    },
    {
      name: 'index past the table',
      block: 'c6',
      entries: 3,
      message: /^Cannot decode header block: index 70 beyond the table \(61 static \+ 3 dynamic\)$/,
    },
    {
      name: 'name index past the table',
      block: '7f00 0161',
      entries: 1,
      message: /index 63 beyond the table/,
    },
    { name: 'size update above the maximum', block: '3fe2 1f', message: /4097 above .* 4096/ },
    { name: 'size update after a field', block: '82 20', message: /after 1 fields/ },
    { name: 'truncated index', block: 'ff', message: /ends inside an integer/ },
    { name: 'truncated index continuation', block: 'ff 80', message: /ends inside an integer/ },
    { name: 'no name string', block: '00', message: /ends before a string/ },
    { name: 'no value string', block: '01', message: /ends before a string/ },
    {
      name: 'string length past the end',
      block: '00 0161 0561 62',
      message: /string length 5 past the end of the block \(2 bytes left\)/,
    },
    {
      name: 'huge string length',
      block: '00 7fff ffff ff07',
      message: /integer past the limit 2147483647/,
    },
    { name: 'integer over 2^31-1', block: 'ff ffff ffff 0f', message: /past the limit/ },
    {
      name: 'integer with 6 continuation bytes',
      block: 'ff 8080 8080 8000',
      message: /longer than 5 continuation bytes/,
    },
    { name: 'Huffman value with 8 bits of padding', block: '00 0161 81ff', message: /padding/ },
    { name: 'Huffman value with 0s padding', block: '00 0161 8118', message: /EOS/ },
    { name: 'Huffman name with EOS', block: '00 84ff ffff ff 00', message: /contains EOS/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = withTable(c.entries ?? 0);
      assert.throws(() => d.decode(hex(c.block)), compression(c.message));
    });
  }

  test('a COMPRESSION_ERROR breaks the decoder for good', () => {
    const d = new HpackDecoder();
    assert.throws(() => d.decode(hex('80')), compression(/index 0/));
    assert.throws(() => d.decode(hex('82')), compression(/unusable after an earlier error/));
  });

  test('options out of range are RangeErrors', () => {
    assert.throws(() => new HpackDecoder({ maxTableSize: -1 }), RangeError);
    assert.throws(() => new HpackDecoder({ maxHeaderListSize: 2 ** 31 }), RangeError);
    assert.throws(() => new HpackDecoder({ maxTableSize: 1.5 }), RangeError);
  });
});

describe('HpackDecoder', () => {
  test('size updates at the start of a block evict, and may come twice', () => {
    const d = withTable(3); // 3 entries of 2 + 1 + 32
    assert.equal(d.tableSize, 105);
    assert.deepEqual(pairs(d.decode(hex('3f2f 82'))), [[':method', 'GET']]); // to 78
    assert.deepEqual(d.tableEntries(), [
      ['x2', '2'],
      ['x1', '1'],
    ]);
    assert.equal(d.tableCapacity, 78);
    d.decode(hex('20 3fe1 1f')); // to 0, then to 4096
    assert.equal(d.tableSize, 0);
    assert.equal(d.tableCapacity, 4096);
  });

  test('an entry larger than the table empties it and is not added', () => {
    const d = withTable(2, { maxTableSize: 100 });
    const big = 'v'.repeat(70); // 1 + 70 + 32 > 100
    const block = concatBytes([hex('40 0161 46'), ascii(big)]);
    assert.deepEqual(pairs(d.decode(block)), [['a', big]]);
    assert.deepEqual(d.tableEntries(), []);
    assert.equal(d.tableSize, 0);
  });

  test('the ring wraps and grows past its first 16 slots', () => {
    const entrySize = 2 + 1 + EntryOverhead;
    const d = new HpackDecoder({ maxTableSize: entrySize * 20 });
    for (let i = 0; i < 100; i++) {
      const name = `y${i % 10}`;
      const value = String(i % 10);
      d.decode(concatBytes([Uint8Array.of(0x40, 2), ascii(name), Uint8Array.of(1), ascii(value)]));
      const want: Field[] = [];
      for (let j = i; j >= Math.max(0, i - 19); j--) want.push([`y${j % 10}`, String(j % 10)]);
      assert.deepEqual(d.tableEntries(), want, `after ${i + 1}`);
      assert.equal(d.tableSize, entrySize * want.length);
      // The oldest entry is the last index.
      const last = StaticEntries + want.length;
      assert.deepEqual(pairs(d.decode(Uint8Array.of(0x80 | last))), [want[want.length - 1]!]);
    }
  });

  test('never-indexed and without-indexing literals leave the table alone', () => {
    const d = new HpackDecoder();
    assert.deepEqual(pairs(d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74 0f10 0161'))), [
      ['password', 'secret'],
      ['content-type', 'a'],
    ]);
    assert.equal(d.tableSize, 0);
  });

  test('a header list past the limit is HEADER_LIST_TOO_LARGE and the table stays in sync', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 100 });
    const value = 'v'.repeat(40);
    const field = (name: string) =>
      concatBytes([
        Uint8Array.of(0x40, name.length),
        ascii(name),
        Uint8Array.of(value.length),
        ascii(value),
      ]);
    // Each field is 1 + 40 + 32 = 73: the second passes the limit, the third is indexed too.
    const block = concatBytes([field('a'), field('b'), field('c')]);
    assert.throws(
      () => d.decode(block),
      hpackError(HpackErrorCode.HEADER_LIST_TOO_LARGE, /header list size 219 exceeds limit 100/),
    );
    assert.deepEqual(
      d.tableEntries().map(([n]) => n),
      ['c', 'b', 'a'],
    );
    // Still usable: the next block refers to the entries added past the limit.
    assert.deepEqual(pairs(d.decode(hex('be'))), [['c', value]]);
    // Exactly at the limit is allowed.
    const exact = new HpackDecoder({ maxHeaderListSize: 73 });
    assert.deepEqual(pairs(exact.decode(field('a'))), [['a', value]]);
  });

  test('raw strings are latin1, long ones too', () => {
    const d = new HpackDecoder();
    const long = 'x'.repeat(300) + '\u00e9\u00ff\u0080';
    const bytes = Uint8Array.from(long, (c) => c.charCodeAt(0));
    assert.equal(long.length, 303); // 127 + 0x30 + 1 * 128
    const block = concatBytes([hex('00 0161 7fb0 01'), bytes]);
    assert.deepEqual(pairs(d.decode(block)), [['a', long]]);
  });
});

describe('encodeHeaders', () => {
  test('static entries, static names, new names', () => {
    assert.deepEqual(encodeHeaders([[':status', '200']]), Uint8Array.of(0x88));
    assert.deepEqual(encodeHeaders([[':authority', '']]), Uint8Array.of(0x81));
    assert.deepEqual(encodeHeaders([[':status', '431']]), hex('08 03 343331'));
    // content-type is static 31: 4-bit prefix 15, then 16.
    assert.deepEqual(
      encodeHeaders([['content-type', 'application/grpc']]),
      concatBytes([hex('0f10 10'), ascii('application/grpc')]),
    );
    assert.deepEqual(
      encodeHeaders([['grpc-status', '0']]),
      concatBytes([hex('00 0b'), ascii('grpc-status'), hex('01 30')]),
    );
    assert.deepEqual(encodeHeaders([]), new Uint8Array(0));
  });

  test('uses no dynamic table: decoding leaves the table empty', () => {
    const d = new HpackDecoder();
    const fields: Field[] = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '0'],
      ['grpc-message', 'x'.repeat(200)],
    ];
    assert.deepEqual(pairs(d.decode(encodeHeaders(fields))), fields);
    assert.equal(d.tableSize, 0);
  });

  test('bad names and values are TypeErrors', () => {
    for (const field of [
      ['Content-Type', 'a'],
      ['', 'a'],
      ['a b', 'a'],
      ['caf\u00e9', 'a'],
      ['a', '\u0100'],
      ['a', 'x\r\ny: z'],
      ['a', '\0'],
      [':status', '\u20ac'],
    ] as const) {
      assert.throws(() => encodeHeaders([field]), TypeError, JSON.stringify(field));
    }
  });

  test('property: decode(encodeHeaders(fields)) is fields', () => {
    const staticNames = [':status', ':path', 'content-type', 'user-agent', 'www-authenticate'];
    const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.:!~'.split(''));
    const name = fc.oneof(
      fc.string({ unit: nameChar, minLength: 1, maxLength: 40 }),
      fc.constantFrom(...staticNames),
    );
    const valueChar = latin1Char.filter((c) => c !== '\0' && c !== '\r' && c !== '\n');
    const value = fc.oneof(
      fc.string({ unit: valueChar, maxLength: 300 }),
      fc.constantFrom('200', '/', '', 'POST', 'gzip, deflate'),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 20 }), (fields) => {
        const d = new HpackDecoder();
        assert.deepEqual(pairs(d.decode(encodeHeaders(fields))), fields);
      }),
    );
  });
});

/** HTTP/2 framing, enough to pick HEADERS out of what a client sends (RFC 7540 section 4). */
const ClientPreface = 24;
const FrameHeaderBytes = 9;
const FrameType = { HEADERS: 1, SETTINGS: 4, CONTINUATION: 9 } as const;
const Flag = { ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const PriorityBytes = 5;

/** headerBlocks returns the complete header blocks in a client's bytes, in order. */
function headerBlocks(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  for (let p = ClientPreface; p + FrameHeaderBytes <= bytes.length;) {
    const length = (view.getUint8(p) << 16) | view.getUint16(p + 1);
    const type = view.getUint8(p + 3);
    const flags = view.getUint8(p + 4);
    let start = p + FrameHeaderBytes;
    let end = start + length;
    if (end > bytes.length) break;
    p = end;
    if (type !== FrameType.HEADERS && type !== FrameType.CONTINUATION) continue;
    if (type === FrameType.HEADERS) {
      if (flags & Flag.PADDED) end -= view.getUint8(start++);
      if (flags & Flag.PRIORITY) start += PriorityBytes;
    }
    pending.push(bytes.subarray(start, end));
    if (flags & Flag.END_HEADERS) {
      blocks.push(concatBytes(pending));
      pending = [];
    }
  }
  return blocks;
}

/** captureRequests sends requests with node:http2 (nghttp2) and returns the header blocks. */
async function captureRequests(
  requests: http2.OutgoingHttpHeaders[],
): Promise<{ blocks: Uint8Array[]; authority: string }> {
  const chunks: Uint8Array[] = [];
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const server = net.createServer((socket) => {
    const settings = Uint8Array.of(0, 0, 0, FrameType.SETTINGS, 0, 0, 0, 0, 0);
    const ack = Uint8Array.of(0, 0, 0, FrameType.SETTINGS, Flag.ACK, 0, 0, 0, 0);
    socket.write(concatBytes([settings, ack]));
    socket.on('data', (chunk: Uint8Array) => {
      chunks.push(chunk);
      if (headerBlocks(concatBytes(chunks)).length >= requests.length) done();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const authority = `127.0.0.1:${port}`;
  const client = http2.connect(`http://${authority}`);
  client.on('error', () => {});
  try {
    for (const headers of requests) {
      const req = client.request(headers, { endStream: false });
      req.on('error', () => {});
    }
    await all;
  } finally {
    client.destroy();
    server.close();
  }
  return { blocks: headerBlocks(concatBytes(chunks)), authority };
}

test(
  'decodes the header blocks of node:http2 (nghttp2) gRPC requests',
  { timeout: 10_000 },
  async () => {
    const requests = [0, 1, 2].map((i) => ({
      ':method': 'POST',
      ':path': i === 2 ? '/etcdserverpb.KV/Put' : '/etcdserverpb.KV/Range',
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${4990 + i}m`,
      'user-agent': 'grpc-go/1.64.0',
      'grpc-accept-encoding': 'identity,deflate,gzip',
      'x-request-id': `req-${i}`,
    }));
    const { blocks, authority } = await captureRequests(requests);
    assert.equal(blocks.length, requests.length);
    const d = new HpackDecoder();
    const byName = (a: Field, b: Field) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    requests.forEach((headers, i) => {
      const want: Field[] = [
        ...Object.entries(headers),
        [':scheme', 'http'],
        [':authority', authority],
      ];
      const got = pairs(d.decode(blocks[i]!));
      assert.deepEqual(got.sort(byName), want.sort(byName), `request ${i}`);
    });
    // nghttp2 indexed the repeated fields: the later blocks are much smaller.
    assert.ok(d.tableSize > 0);
    assert.ok(
      blocks[1]!.length < blocks[0]!.length / 2,
      `${blocks[1]!.length} vs ${blocks[0]!.length}`,
    );
  },
);
