/**
 * Runs datadriven scenario files: `npm run conformance -- [DIR ...]`.
 *
 * Without arguments it runs etcd-raft's conformance files from ../shared/conformance (next to
 * the repository), skipping quietly when they are absent. Files under a `quorum/` or
 * `confchange/` folder go to the matching small driver; every other file runs against a fresh
 * interaction environment. Prints PASS/FAIL per file, a diff for each failure, a summary line,
 * and exits non-zero when anything failed. `--rewrite` regenerates the expected outputs of the
 * named files instead (like datadriven's -rewrite flag).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { rewriteDataDriven, runDataDriven } from './datadriven.ts';
import type { TestData } from './datadriven.ts';

type Handler = (d: TestData) => string;

/** The default conformance folder: ../shared/conformance relative to the repository root. */
const DEFAULT_DIR = fileURLToPath(new URL('../../../shared/conformance', import.meta.url));

/** isSkippedName mirrors datadriven's walk: hidden files, editor backups and `#autosave#`. */
function isSkippedName(name: string): boolean {
  return (
    name.startsWith('.') ||
    name.endsWith('~') ||
    (name.length >= 2 && name.startsWith('#') && name.endsWith('#'))
  );
}

/** byteOrder compares two names byte-wise in UTF-8, as Go's sort.Strings does. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** listFiles returns the *.txt files below dir, depth first, names in byte-wise order. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    const names = readdirSync(d).sort(byteOrder);
    for (const name of names) {
      if (isSkippedName(name)) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.txt')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/** The per-file handler factories, loaded lazily so a missing driver fails only its files. */
interface Drivers {
  quorum(): Promise<Handler>;
  confchange(): Promise<Handler>;
  interaction(): Promise<Handler>;
}

function isFunction(v: unknown): v is (...args: unknown[]) => unknown {
  return typeof v === 'function';
}

async function loadExport(file: string, name: string): Promise<(...args: unknown[]) => unknown> {
  const mod = (await import(new URL(file, import.meta.url).href)) as Record<string, unknown>;
  const f = mod[name];
  if (!isFunction(f)) throw new Error(`${file} does not export a function ${name}`);
  return f;
}

const drivers: Drivers = {
  async quorum() {
    const f = await loadExport('./quorum_driver.ts', 'handleQuorumCommand');
    return (d) => f(d) as string;
  },
  async confchange() {
    const f = await loadExport('./confchange_driver.ts', 'newConfChangeDriver');
    return f() as Handler;
  },
  async interaction() {
    const f = await loadExport('./interaction_env_handler.ts', 'newInteractionHandler');
    return f() as Handler;
  },
};

/** driverFor picks the driver by the folder a file lives in. */
function driverFor(file: string): keyof Drivers {
  const p = resolve(file).split(sep).join('/');
  if (p.includes('/quorum/')) return 'quorum';
  if (p.includes('/confchange/')) return 'confchange';
  return 'interaction';
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    let s = err.stack ?? `${err.name}: ${err.message}`;
    if (!s.includes(err.message)) s = `${err.name}: ${err.message}\n${s}`;
    if (err.cause !== undefined) s += `\ncaused by: ${describeError(err.cause)}`;
    return s;
  }
  return String(err);
}

/** runFile runs one file and returns the text to print after PASS/FAIL, and the verdict. */
async function runFile(
  file: string,
  shown: string,
  rewrite: boolean,
): Promise<{ passed: boolean; report: string }> {
  let current: TestData | undefined;
  try {
    const handler = await drivers[driverFor(file)]();
    const text = readFileSync(file, 'utf8');
    const traced = (d: TestData): string => {
      current = d;
      return handler(d);
    };
    if (rewrite) {
      const updated = rewriteDataDriven(text, shown, traced);
      if (updated !== text) writeFileSync(file, updated);
      return { passed: true, report: updated === text ? '' : 'rewritten' };
    }
    const r = runDataDriven(text, shown, traced);
    return { passed: r.passed, report: r.diff };
  } catch (err) {
    const where = current === undefined ? '' : `${current.pos}: ${current.cmd}: `;
    return { passed: false, report: `${where}error: ${describeError(err)}\n` };
  }
}

const USAGE = `usage: npm run conformance -- [--rewrite] [DIR|FILE ...]

Runs datadriven scenario files (default: ../shared/conformance). With --rewrite, the expected
outputs of the named files are replaced by the actual ones (review the diff before keeping it).`;

async function main(args: string[]): Promise<number> {
  const rewrite = args.includes('--rewrite');
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const argv = args.filter((a) => a !== '--rewrite');
  let dirs = argv;
  if (dirs.length === 0) {
    if (rewrite) {
      console.log('conformance: --rewrite needs the folders or files to rewrite');
      return 2;
    }
    if (!existsSync(DEFAULT_DIR)) {
      const shownDefault = relative(process.cwd(), DEFAULT_DIR) || DEFAULT_DIR;
      console.log(
        `conformance: ${shownDefault} not found; skipping the etcd-raft conformance files`,
      );
      return 0;
    }
    dirs = [DEFAULT_DIR];
  }
  let passed = 0;
  let failed = 0;
  for (const dir of dirs) {
    let files: string[];
    try {
      files = statSync(dir).isDirectory() ? listFiles(dir) : [dir];
    } catch (err) {
      console.log(`FAIL ${dir}\n${describeError(err)}`);
      failed++;
      continue;
    }
    for (const file of files) {
      // Paths under a folder named on the command line print as given; the default folder's
      // print relative to the working directory.
      const shown = argv.length > 0 ? file : relative(process.cwd(), file) || file;
      const { passed: ok, report } = await runFile(file, shown, rewrite);
      if (ok) {
        passed++;
        console.log(`${rewrite && report !== '' ? 'REWROTE' : 'PASS'} ${shown}`);
      } else {
        failed++;
        console.log(`FAIL ${shown}`);
        process.stdout.write(report.endsWith('\n') ? report : report + '\n');
      }
    }
  }
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
