import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DataDrivenError,
  parseBool,
  parseDataDriven,
  parseDirective,
  rewriteDataDriven,
  runDataDriven,
  scanArgBool,
  scanArgString,
  scanArgUint,
  scanArgUints,
  hasArg,
  unifiedDiff,
} from './datadriven.ts';
import type { TestData } from './datadriven.ts';

void describe('parseDirective', () => {
  void it('parses bare keys, single values, empty values and lists', () => {
    const p = parseDirective('  cmd 1 foo k=v e= l=(a, b,c) s=(1 2 3) z=()  ');
    assert.deepEqual(p, {
      cmd: 'cmd',
      cmdArgs: [
        { key: '1', vals: [] },
        { key: 'foo', vals: [] },
        { key: 'k', vals: ['v'] },
        { key: 'e', vals: [''] },
        { key: 'l', vals: ['a', 'b', 'c'] },
        { key: 's', vals: ['1 2 3'] },
        { key: 'z', vals: [''] },
      ],
    });
  });

  void it('keeps nested parentheses inside one value', () => {
    const p = parseDirective('cmd exprs=(a + (b + c), d + f)');
    assert.deepEqual(p?.cmdArgs, [{ key: 'exprs', vals: ['a + (b + c)', 'd + f'] }]);
  });

  void it('keeps quotes in bare keys', () => {
    assert.deepEqual(parseDirective('propose 1 "foo"')?.cmdArgs, [
      { key: '1', vals: [] },
      { key: '"foo"', vals: [] },
    ]);
  });

  void it('returns undefined for a blank line and throws on errors', () => {
    assert.equal(parseDirective('   '), undefined);
    assert.throws(() => parseDirective('cmd k=(a, b'), DataDrivenError);
    assert.throws(() => parseDirective('cmd =x'), /cannot parse directive at column 5: cmd =x/);
  });
});

void describe('parseDataDriven', () => {
  void it('reads comments, inputs and single-separator outputs', () => {
    const text = [
      '# a comment',
      'first a=1',
      '----',
      'ok',
      '',
      '  # indented comment',
      'second',
      'line one',
      '# not a comment',
      '',
      'line three',
      '----',
      'out 1',
      'out 2',
      '',
      'third',
      '----',
      'x',
    ].join('\n');
    const cases = parseDataDriven(text, 'f.txt');
    assert.equal(cases.length, 3);
    assert.deepEqual(cases[0], {
      pos: 'f.txt:2',
      cmd: 'first',
      cmdArgs: [{ key: 'a', vals: ['1'] }],
      input: '',
      expected: 'ok\n',
    });
    assert.equal(cases[1]?.pos, 'f.txt:7');
    assert.equal(cases[1]?.input, 'line one\n# not a comment\n\nline three');
    assert.equal(cases[1]?.expected, 'out 1\nout 2\n');
    assert.equal(cases[2]?.expected, 'x\n');
  });

  void it('reads double-separator blocks with blank lines and lone separators', () => {
    const text = [
      'cmd',
      '----',
      '----',
      'a',
      '',
      '----',
      'b',
      '----',
      '----',
      '',
      'next',
      '----',
      'y',
      '',
    ].join('\n');
    const cases = parseDataDriven(text, 'f');
    assert.equal(cases.length, 2);
    assert.equal(cases[0]?.expected, 'a\n\n----\nb\n');
    assert.equal(cases[1]?.cmd, 'next');
    assert.equal(cases[1]?.expected, 'y\n');
  });

  void it('rejects a non-blank line after a double separator', () => {
    const text = ['cmd', '----', '----', 'a', '----', '----', 'oops'].join('\n');
    assert.throws(() => parseDataDriven(text, 'f'), /non-blank line/);
  });

  void it('joins continued directive lines and reports the last line', () => {
    const text = ['cmd a=1 \\', '   b=2', '----', 'ok', ''].join('\n');
    const [d] = parseDataDriven(text, 'f');
    assert.equal(d?.pos, 'f:2');
    assert.deepEqual(d?.cmdArgs, [
      { key: 'a', vals: ['1'] },
      { key: 'b', vals: ['2'] },
    ]);
  });

  void it('gives an empty expected output without a separator or after a blank line', () => {
    const cases = parseDataDriven('a\n----\n\nb\ninput', 'f');
    assert.equal(cases[0]?.expected, '');
    assert.equal(cases[1]?.input, 'input');
    assert.equal(cases[1]?.expected, '');
  });

  void it('drops carriage returns before newlines', () => {
    const [d] = parseDataDriven('cmd\r\n----\r\nok\r\n', 'f');
    assert.equal(d?.expected, 'ok\n');
  });
});

void describe('argument scanning', () => {
  const d: TestData = parseDataDriven('c n=7 b=true bad=x l=(1, 2) s=abc\n----\nok\n', 'f')[0]!;

  void it('scans values', () => {
    assert.equal(scanArgUint(d, 'n'), 7);
    assert.equal(scanArgBool(d, 'b'), true);
    assert.equal(scanArgString(d, 's'), 'abc');
    assert.deepEqual(scanArgUints(d, 'l'), [1, 2]);
    assert.equal(hasArg(d, 'l'), true);
    assert.equal(hasArg(d, 'zz'), false);
  });

  void it('throws on bad or missing values', () => {
    assert.throws(() => scanArgUint(d, 'bad'), /invalid syntax/);
    assert.throws(() => scanArgUint(d, 'missing'), /missing argument: missing/);
    assert.throws(() => scanArgString(d, 'n', 1), /no value at position 1/);
    assert.throws(() => parseBool('yes'), /strconv.ParseBool: parsing "yes": invalid syntax/);
    assert.equal(parseBool('F'), false);
  });
});

void describe('runDataDriven', () => {
  const text = 'echo a\n----\na\n\necho b\n----\nb\n\necho c\n----\nc\n';

  void it('passes when every output matches, appending the final newline', () => {
    const r = runDataDriven(text, 'f', (d) => d.cmdArgs[0]?.key ?? '');
    assert.deepEqual(r, { passed: true, diff: '', cases: 3 });
  });

  void it('stops at the first mismatch with a diff naming the case', () => {
    const seen: string[] = [];
    const r = runDataDriven(text, 'f', (d) => {
      seen.push(d.cmd + (d.cmdArgs[0]?.key ?? ''));
      return d.cmdArgs[0]?.key === 'b' ? 'B\n' : (d.cmdArgs[0]?.key ?? '');
    });
    assert.equal(r.passed, false);
    assert.equal(r.cases, 2);
    assert.deepEqual(seen, ['echoa', 'echob']);
    assert.match(r.diff, /^f:5: echo b\n/);
    assert.match(r.diff, /-b\n\+B\n/);
  });

  void it('treats an empty result as matching an empty expectation', () => {
    const r = runDataDriven('cmd\n----\n\n', 'f', () => '');
    assert.equal(r.passed, true);
  });
});

void describe('unifiedDiff', () => {
  void it('returns nothing for equal texts', () => {
    assert.equal(unifiedDiff('a\n', 'a\n', 'x', 'y'), '');
  });

  void it('shows context and hunks', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n') + '\n';
    const b = ['1', '2', '3', '4', 'five', '6', '7', '8', '9', '10', '11'].join('\n') + '\n';
    assert.equal(
      unifiedDiff(a, b, 'expected', 'actual'),
      [
        '--- expected',
        '+++ actual',
        '@@ -2,9 +2,10 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        ' 9',
        ' 10',
        '+11',
        '',
      ].join('\n'),
    );
  });

  void it('flags a missing final newline', () => {
    assert.match(unifiedDiff('a\n', 'a', 'x', 'y'), /\\ No newline at end of file/);
  });
});

void describe('rewriteDataDriven', () => {
  const text = '# head\na x=1\n----\nold\n\n# between\nb\ninput\n----\nold b\nmore\n\nc\n';

  void it('keeps the file when outputs equal the expectations', () => {
    const same = 'a\n----\nok\n\n# tail\n';
    assert.equal(
      rewriteDataDriven(same, 'f', (d) => d.expected),
      same,
    );
  });

  void it('replaces expected blocks and keeps directives, inputs and comments', () => {
    const out = rewriteDataDriven(text, 'f', (d) =>
      d.cmd === 'b' ? 'x\n\ny' : d.cmd === 'c' ? '' : 'new',
    );
    assert.equal(
      out,
      '# head\na x=1\n----\nnew\n\n# between\nb\ninput\n----\n----\nx\n\ny\n----\n----\n\nc\n----\n',
    );
    // The rewritten file reads back with the new expectations.
    const cases = parseDataDriven(out, 'f');
    assert.deepEqual(
      cases.map((c) => c.expected),
      ['new\n', 'x\n\ny\n', ''],
    );
  });
});
