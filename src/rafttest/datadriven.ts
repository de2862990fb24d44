/**
 * A reader and runner for datadriven test files, following the rules of
 * github.com/cockroachdb/datadriven v1.0.2 (see the conformance FORMAT.md §1).
 *
 * A file is a list of cases:
 *
 * ```
 * # comment
 * command key=value list=(a, b) bare
 * input lines
 * ----
 * expected output
 * ```
 *
 * The expected output ends at the first blank line, or, when the separator is doubled
 * (`----` twice), at the next doubled `----`.
 */

/** CmdArg is one argument of a directive: `key`, `key=value` or `key=(v1, v2, ...)`. */
export interface CmdArg {
  key: string;
  /** Empty for a bare `key`; one element for `key=value`; one per list item otherwise. */
  vals: string[];
}

/** TestData is one case of a datadriven file. */
export interface TestData {
  /** `file:line` of the directive (the last line when it was continued with `\`). */
  pos: string;
  cmd: string;
  cmdArgs: CmdArg[];
  /** The input block, trimmed of surrounding whitespace. */
  input: string;
  /** The expected output; every line ends in `\n` (or it is empty). */
  expected: string;
}

/**
 * DataDrivenError reports a malformed file or a bad argument. It aborts the file being run:
 * datadriven treats these as fatal test errors, not as output.
 */
export class DataDrivenError extends Error {
  readonly code = 'ERR_DATADRIVEN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataDrivenError';
  }
}

const SEPARATOR = '----';

/** splitLines splits text into lines the way Go's bufio line scanner does. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/** A cursor over the lines of a file; `line` is the 1-based number of the last line read. */
class LineScanner {
  line = 0;
  constructor(private readonly lines: string[]) {}
  next(): string | undefined {
    const l = this.lines[this.line];
    if (l === undefined) return undefined;
    this.line++;
    return l;
  }
}

/**
 * parseDirective parses a directive line into its command and arguments. It returns
 * undefined for a blank line and throws DataDrivenError for an unparsable one
 * ("cannot parse directive at column N: LINE").
 */
export function parseDirective(rawLine: string): { cmd: string; cmdArgs: CmdArg[] } | undefined {
  const orig = rawLine.trim();
  if (orig === '') return undefined;
  let rest = orig;
  const fail = (): never => {
    const column = orig.length - rest.length + 1;
    throw new DataDrivenError(`cannot parse directive at column ${column}: ${orig}`);
  };
  // until removes from rest the prefix before the first of chars and returns it.
  const until = (chars: string): string => {
    let i = 0;
    while (i < rest.length && !chars.includes(rest.charAt(i))) i++;
    const res = rest.slice(0, i);
    rest = rest.slice(i);
    return res;
  };

  const cmd = until(' ');
  if (cmd === '') fail();
  rest = rest.trim();
  const cmdArgs: CmdArg[] = [];
  while (rest !== '') {
    const key = until(' =');
    if (key === '') fail();
    const arg: CmdArg = { key, vals: [] };
    if (rest.startsWith('=')) {
      rest = rest.slice(1);
      if (rest === '' || rest.startsWith(' ')) {
        arg.vals.push('');
      } else if (!rest.startsWith('(')) {
        arg.vals.push(until(' '));
      } else {
        rest = rest.slice(1);
        arg.vals = parseList();
      }
    }
    cmdArgs.push(arg);
    rest = rest.trim();
  }
  return { cmd, cmdArgs };

  // parseList reads `v1, v2, ...)` (the `(` already consumed) honouring nested parentheses.
  function parseList(): string[] {
    const vals: string[] = [];
    for (;;) {
      let pos = 0;
      let depth = 0;
      for (;;) {
        const c = rest.charAt(pos);
        if (pos >= rest.length) fail();
        if (depth === 0 && (c === ')' || c === ',')) break;
        if (c === '(') depth++;
        else if (c === ')') depth--;
        pos++;
      }
      const done = rest.charAt(pos) === ')';
      vals.push(rest.slice(0, pos));
      rest = rest.slice(pos + 1).trim();
      if (done) return vals;
    }
  }
}

/** readExpected reads the expected-output block that follows a `----` line. */
function readExpected(sc: LineScanner, pos: string): string {
  let out = '';
  const first = sc.next();
  if (first === undefined) return '';
  if (first === SEPARATOR) {
    // Double-separator mode: runs until `----` immediately followed by `----`.
    for (let line = sc.next(); line !== undefined; line = sc.next()) {
      if (line === SEPARATOR) {
        const line2 = sc.next();
        if (line2 === SEPARATOR) {
          const after = sc.next();
          if (after !== undefined && after !== '') {
            throw new DataDrivenError(
              `${pos}: non-blank line after end of double ---- separator section`,
            );
          }
          return out;
        }
        if (line2 === undefined) return out + line + '\n';
        out += line + '\n';
        line = line2;
      }
      out += line + '\n';
    }
    return out;
  }
  // Single-separator mode: runs until the first blank line (consumed) or the end.
  for (let line: string | undefined = first; line !== undefined; line = sc.next()) {
    if (line.trim() === '') break;
    out += line + '\n';
  }
  return out;
}

/** A parsed case plus where it sits in the file's lines (for rewriting). */
interface CaseLayout {
  data: TestData;
  /** Index of the line that ends the input block: the `----` line, or the line count. */
  inputEnd: number;
  /** Index of the first line after the expected block (and its terminating blank line). */
  end: number;
}

/** parseLayout parses a file into cases and remembers the line range of each. */
function parseLayout(text: string, filename: string): { lines: string[]; cases: CaseLayout[] } {
  const lines = splitLines(text);
  const sc = new LineScanner(lines);
  const cases: CaseLayout[] = [];
  for (let raw = sc.next(); raw !== undefined; raw = sc.next()) {
    let line = raw.trim();
    if (line.startsWith('#')) continue;
    while (line.endsWith('\\')) {
      const nextLine = sc.next();
      if (nextLine === undefined) break;
      line = line.slice(0, -1) + ' ' + nextLine.trim();
    }
    let parsed;
    try {
      parsed = parseDirective(line);
    } catch (err) {
      if (err instanceof DataDrivenError) {
        throw new DataDrivenError(`${filename}:${sc.line}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    if (parsed === undefined) continue;
    const pos = `${filename}:${sc.line}`;
    const inputLines: string[] = [];
    let separator = false;
    for (let l = sc.next(); l !== undefined; l = sc.next()) {
      if (l === SEPARATOR) {
        separator = true;
        break;
      }
      inputLines.push(l);
    }
    const inputEnd = separator ? sc.line - 1 : sc.line;
    const input = inputLines
      .map((l) => l + '\n')
      .join('')
      .trim();
    const expected = separator ? readExpected(sc, pos) : '';
    const data = { pos, cmd: parsed.cmd, cmdArgs: parsed.cmdArgs, input, expected };
    cases.push({ data, inputEnd, end: sc.line });
  }
  return { lines, cases };
}

/**
 * parseDataDriven splits a datadriven file into its cases. filename is only used for
 * positions. Throws DataDrivenError on a malformed directive line.
 */
export function parseDataDriven(text: string, filename: string): TestData[] {
  return parseLayout(text, filename).cases.map((c) => c.data);
}

/**
 * rewriteDataDriven runs every case through handler and returns the file with each expected
 * block replaced by the actual output (datadriven's -rewrite). Directives, inputs and
 * comments are kept; an output with blank lines gets a double-separator block.
 */
export function rewriteDataDriven(
  text: string,
  filename: string,
  handler: (d: TestData) => string,
): string {
  const { lines, cases } = parseLayout(text, filename);
  const out: string[] = [];
  let cursor = 0;
  for (const c of cases) {
    let actual = handler(c.data);
    if (actual !== '' && !actual.endsWith('\n')) actual += '\n';
    const actualLines = splitLines(actual);
    out.push(...lines.slice(cursor, c.inputEnd), SEPARATOR);
    if (actualLines.some((l) => l.trim() === '')) {
      out.push(SEPARATOR, ...actualLines, SEPARATOR, SEPARATOR);
    } else {
      out.push(...actualLines);
    }
    out.push('');
    cursor = c.end;
  }
  out.push(...lines.slice(cursor));
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

/** cmdArgString renders an argument back in directive syntax (`k`, `k=v`, `k=(a, b)`). */
export function cmdArgString(arg: CmdArg): string {
  if (arg.vals.length === 0) return arg.key;
  if (arg.vals.length === 1) return `${arg.key}=${arg.vals[0]}`;
  return `${arg.key}=(${arg.vals.join(', ')})`;
}

/** hasArg reports whether the case has an argument named key. */
export function hasArg(d: TestData, key: string): boolean {
  return d.cmdArgs.some((a) => a.key === key);
}

/** getArg returns the first argument named key, or undefined. */
export function getArg(d: TestData, key: string): CmdArg | undefined {
  return d.cmdArgs.find((a) => a.key === key);
}

const UINT_RE = /^[0-9]+$/;
const INT_RE = /^[+-]?[0-9]+$/;
const TRUE_WORDS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/**
 * parseUint parses a base-10 unsigned integer (Go strconv.ParseUint(s, 10, 64) for values
 * that fit a safe integer). Throws DataDrivenError with Go's error text otherwise.
 */
export function parseUint(s: string): number {
  if (!UINT_RE.test(s)) {
    throw new DataDrivenError(`strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax`);
  }
  const n = Number(s);
  if (!Number.isSafeInteger(n)) {
    throw new DataDrivenError(`strconv.ParseUint: parsing ${goQuote(s)}: value out of range`);
  }
  return n;
}

/** parseSignedInt parses a base-10 signed integer (Go strconv.ParseInt). Throws DataDrivenError. */
export function parseSignedInt(s: string): number {
  if (!INT_RE.test(s)) {
    throw new DataDrivenError(`strconv.ParseInt: parsing ${goQuote(s)}: invalid syntax`);
  }
  const n = Number(s);
  if (!Number.isSafeInteger(n)) {
    throw new DataDrivenError(`strconv.ParseInt: parsing ${goQuote(s)}: value out of range`);
  }
  return n;
}

/** parseBool parses a boolean like Go's strconv.ParseBool. Throws DataDrivenError. */
export function parseBool(s: string): boolean {
  if (TRUE_WORDS.has(s)) return true;
  if (FALSE_WORDS.has(s)) return false;
  throw new DataDrivenError(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
}

/** goQuote quotes s roughly like Go's %q (enough for error messages about arguments). */
function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** argVal returns value i of arg, throwing DataDrivenError (naming the case) when absent. */
export function argVal(d: TestData, arg: CmdArg, i = 0): string {
  const v = arg.vals[i];
  if (v === undefined) {
    throw new DataDrivenError(
      `${d.pos}: ${d.cmd}: argument ${cmdArgString(arg)} has no value at position ${i}`,
    );
  }
  return v;
}

function requireArg(d: TestData, key: string): CmdArg {
  const arg = getArg(d, key);
  if (arg === undefined) {
    throw new DataDrivenError(`${d.pos}: ${d.cmd}: missing argument: ${key}`);
  }
  return arg;
}

function wrap<T>(d: TestData, key: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof DataDrivenError && !err.message.startsWith(d.pos)) {
      throw new DataDrivenError(`${d.pos}: ${d.cmd}: argument ${key}: ${err.message}`, {
        cause: err,
      });
    }
    throw err;
  }
}

/** scanArgString returns value i of the required argument key. Throws DataDrivenError. */
export function scanArgString(d: TestData, key: string, i = 0): string {
  return argVal(d, requireArg(d, key), i);
}

/** scanArgUint returns value i of the required argument key as an unsigned integer. */
export function scanArgUint(d: TestData, key: string, i = 0): number {
  return wrap(d, key, () => parseUint(scanArgString(d, key, i)));
}

/** scanArgInt returns value i of the required argument key as a signed integer. */
export function scanArgInt(d: TestData, key: string, i = 0): number {
  return wrap(d, key, () => parseSignedInt(scanArgString(d, key, i)));
}

/** scanArgBool returns value i of the required argument key as a boolean. */
export function scanArgBool(d: TestData, key: string, i = 0): boolean {
  return wrap(d, key, () => parseBool(scanArgString(d, key, i)));
}

/** scanArgUints returns every value of the required argument key as unsigned integers. */
export function scanArgUints(d: TestData, key: string): number[] {
  return wrap(d, key, () => requireArg(d, key).vals.map(parseUint));
}

/** maybeScanArgUint is scanArgUint for an optional argument: undefined when absent. */
export function maybeScanArgUint(d: TestData, key: string): number | undefined {
  return hasArg(d, key) ? scanArgUint(d, key) : undefined;
}

/** maybeScanArgBool is scanArgBool for an optional argument: undefined when absent. */
export function maybeScanArgBool(d: TestData, key: string): boolean | undefined {
  return hasArg(d, key) ? scanArgBool(d, key) : undefined;
}

/** maybeScanArgString is scanArgString for an optional argument: undefined when absent. */
export function maybeScanArgString(d: TestData, key: string): string | undefined {
  return hasArg(d, key) ? scanArgString(d, key) : undefined;
}

/** RunResult is the outcome of running one datadriven file. */
export interface RunResult {
  passed: boolean;
  /** Empty when passed; otherwise a unified diff of the first failing case. */
  diff: string;
  /** The number of cases that were run (including a failing one). */
  cases: number;
}

/**
 * runDataDriven runs the cases of a file in order through handler and compares each result
 * with the expected output byte for byte, stopping at the first mismatch. A non-empty result
 * that does not end in a newline gets one. Errors thrown by handler (or by the parser)
 * propagate: they are fatal, as in datadriven.
 */
export function runDataDriven(
  text: string,
  filename: string,
  handler: (d: TestData) => string,
): RunResult {
  const cases = parseDataDriven(text, filename);
  let n = 0;
  for (const d of cases) {
    n++;
    let actual = handler(d);
    if (actual !== '' && !actual.endsWith('\n')) actual += '\n';
    if (actual !== d.expected) {
      const header = `${d.pos}: ${d.cmd}${d.cmdArgs.map((a) => ' ' + cmdArgString(a)).join('')}`;
      const diff = unifiedDiff(d.expected, actual, 'expected', 'actual');
      return { passed: false, diff: `${header}\n${diff}`, cases: n };
    }
  }
  return { passed: true, diff: '', cases: n };
}

type Op = { kind: ' ' | '-' | '+'; line: string };

/** diffLines computes a line edit script from a to b (LCS on the part between common ends). */
function diffLines(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre &&
    suf < b.length - pre &&
    a[a.length - 1 - suf] === b[b.length - 1 - suf]
  ) {
    suf++;
  }
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const ops: Op[] = a.slice(0, pre).map((line) => ({ kind: ' ', line }));
  const n = am.length;
  const m = bm.length;
  if (n * m > 25_000_000) {
    // Too large for the quadratic table: report the middle as replaced wholesale.
    for (const line of am) ops.push({ kind: '-', line });
    for (const line of bm) ops.push({ kind: '+', line });
  } else {
    // lcs[i * (m + 1) + j] = LCS length of am[i:] and bm[j:].
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          am[i] === bm[j]
            ? (lcs[(i + 1) * (m + 1) + j + 1] ?? 0) + 1
            : Math.max(lcs[(i + 1) * (m + 1) + j] ?? 0, lcs[i * (m + 1) + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        ops.push({ kind: ' ', line: am[i++] ?? '' });
        j++;
      } else if (
        j < m &&
        (i === n || (lcs[i * (m + 1) + j + 1] ?? 0) > (lcs[(i + 1) * (m + 1) + j] ?? 0))
      ) {
        ops.push({ kind: '+', line: bm[j++] ?? '' });
      } else {
        ops.push({ kind: '-', line: am[i++] ?? '' });
      }
    }
  }
  for (const line of a.slice(a.length - suf)) ops.push({ kind: ' ', line });
  return ops;
}

/**
 * unifiedDiff renders a unified diff (3 lines of context) turning a into b. Returns the
 * empty string when they are equal. A missing final newline is flagged like diff(1) does.
 */
export function unifiedDiff(a: string, b: string, aName: string, bName: string): string {
  if (a === b) return '';
  const al = splitLinesExact(a);
  const bl = splitLinesExact(b);
  const ops = diffLines(al, bl);
  const context = 3;
  let out = `--- ${aName}\n+++ ${bName}\n`;
  let k = 0;
  while (k < ops.length) {
    // Find the next change.
    while (k < ops.length && ops[k]?.kind === ' ') k++;
    if (k >= ops.length) break;
    let start = Math.max(0, k - context);
    let end = k;
    // Extend the hunk while changes are within 2*context lines of each other.
    for (;;) {
      while (end < ops.length && ops[end]?.kind !== ' ') end++;
      let next = end;
      while (next < ops.length && ops[next]?.kind === ' ') next++;
      if (next < ops.length && next - end <= 2 * context) {
        end = next;
        continue;
      }
      end = Math.min(ops.length, end + context);
      break;
    }
    let aStart = 0;
    let bStart = 0;
    for (let i = 0; i < start; i++) {
      if (ops[i]?.kind !== '+') aStart++;
      if (ops[i]?.kind !== '-') bStart++;
    }
    const hunk = ops.slice(start, end);
    const aLen = hunk.filter((o) => o.kind !== '+').length;
    const bLen = hunk.filter((o) => o.kind !== '-').length;
    out += `@@ -${aStart + (aLen > 0 ? 1 : 0)},${aLen} +${bStart + (bLen > 0 ? 1 : 0)},${bLen} @@\n`;
    for (const o of hunk) out += `${o.kind}${o.line}\n`;
    start = end;
    k = end;
  }
  return out;
}

/** splitLinesExact splits on '\n', marking a missing final newline on the last line. */
function splitLinesExact(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (s.endsWith('\n')) lines.pop();
  else lines[lines.length - 1] += '\n\\ No newline at end of file';
  return lines;
}
