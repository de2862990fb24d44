/**
 * Command-line flags of the `raftkv` commands. Every flag `--some-name` can also be set by
 * the environment variable `RAFTKV_SOME_NAME`; a flag on the command line wins over the
 * environment, which wins over the default. Parsing is node:util's parseArgs (strict: an
 * unknown flag or a stray argument is an error); this file adds the environment, types,
 * defaults and the help text.
 */
import { parseArgs } from 'node:util';

/** FlagType is how a flag's text is read. */
export const FlagType = { String: 'string', Int: 'int', Bool: 'bool' } as const;
/** FlagType is one of the FlagType values. */
export type FlagType = (typeof FlagType)[keyof typeof FlagType];

/** FlagSpec describes one flag of a command. */
export interface FlagSpec {
  /** name is the flag without its dashes: "client-addr". */
  name: string;
  type: FlagType;
  /** help is one line saying what the flag does. */
  help: string;
  /** placeholder names the value in the help text ("host:port"). Default: the type. */
  placeholder?: string;
  /** fallback is the default as shown in the help text; the command applies it. */
  fallback?: string;
  /** min is the smallest value of an Int flag. Default 0. */
  min?: number;
}

/** UsageError is a mistake on the command line: the CLI prints it and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'ERR_USAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** envName is the environment variable of a flag: "client-addr" → "RAFTKV_CLIENT_ADDR". */
export function envName(flag: string): string {
  return `RAFTKV_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** Flags are the parsed flags of one command; each getter throws a UsageError for bad text. */
export class Flags {
  readonly #specs: ReadonlyMap<string, FlagSpec>;
  readonly #values: ReadonlyMap<string, { text: string; from: string }>;
  /** help is true when --help (or -h) was given. */
  readonly help: boolean;

  constructor(
    specs: ReadonlyMap<string, FlagSpec>,
    values: ReadonlyMap<string, { text: string; from: string }>,
    help: boolean,
  ) {
    this.#specs = specs;
    this.#values = values;
    this.help = help;
  }

  /** has reports whether the flag was set, on the command line or in the environment. */
  has(name: string): boolean {
    return this.#values.has(this.#spec(name).name);
  }

  /** string returns a String flag's value, or `fallback` when it is not set. */
  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    this.#spec(name);
    return this.#values.get(name)?.text ?? fallback;
  }

  /**
   * int returns an Int flag's value (decimal, or hexadecimal with 0x as etcdctl prints
   * member ids), or `fallback` when it is not set.
   */
  int(name: string, fallback: number): number;
  int(name: string): number | undefined;
  int(name: string, fallback?: number): number | undefined {
    const spec = this.#spec(name);
    const v = this.#values.get(name);
    if (v === undefined) return fallback;
    const t = v.text.trim();
    const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? +t : NaN;
    const min = spec.min ?? 0;
    if (!Number.isSafeInteger(n) || n < min) {
      throw new UsageError(
        `${v.from}: ${JSON.stringify(v.text)} is not an integer >= ${min} (at most 2^53-1)`,
      );
    }
    return n;
  }

  /** bool returns a Bool flag's value; false when it is not set. */
  bool(name: string): boolean {
    this.#spec(name);
    const v = this.#values.get(name);
    if (v === undefined) return false;
    const t = v.text.trim().toLowerCase();
    if (['', '1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
    throw new UsageError(`${v.from}: ${JSON.stringify(v.text)} is not true or false`);
  }

  /** list returns a comma-separated String flag as its non-empty items. */
  list(name: string): string[] {
    const t = this.string(name) ?? '';
    return t
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  #spec(name: string): FlagSpec {
    const s = this.#specs.get(name);
    if (s === undefined) throw new Error(`flags: no flag --${name} is declared`);
    return s;
  }
}

/**
 * parseFlags reads argv (the arguments after the command's name) and env against specs.
 * It throws a UsageError naming the problem: an unknown flag, a missing value, an argument
 * that is not a flag.
 */
export function parseFlags(
  specs: readonly FlagSpec[],
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Flags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const s of specs)
    options[s.name] = { type: s.type === FlagType.Bool ? 'boolean' : 'string' };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  const values = new Map<string, { text: string; from: string }>();
  for (const s of specs) {
    const fromArgv = parsed.values[s.name];
    const fromEnv = env[envName(s.name)];
    if (fromArgv !== undefined) {
      const text = typeof fromArgv === 'string' ? fromArgv : String(fromArgv);
      values.set(s.name, { text, from: `--${s.name}` });
    } else if (fromEnv !== undefined && fromEnv !== '') {
      values.set(s.name, { text: fromEnv, from: `${envName(s.name)} (environment)` });
    }
  }
  return new Flags(byName, values, parsed.values['help'] === true);
}

/** helpText renders a command's usage, description and flags, one flag per two lines. */
export function helpText(usage: string, description: string, specs: readonly FlagSpec[]): string {
  const lines = [
    `Usage: ${usage}`,
    '',
    description.trim(),
    '',
    'Flags (each also read from the environment variable shown):',
  ];
  for (const s of specs) {
    const value = s.type === FlagType.Bool ? '' : ` ${s.placeholder ?? s.type}`;
    const dflt = s.fallback === undefined ? '' : `  (default ${s.fallback})`;
    lines.push(`  --${s.name}${value}  [${envName(s.name)}]${dflt}`);
    lines.push(`      ${s.help}`);
  }
  lines.push('  -h, --help', '      show this help');
  return lines.join('\n') + '\n';
}
