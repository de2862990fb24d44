import type { Logger } from '../raft/logger.ts';

/** LogLevel orders the levels of the interaction output; NONE silences everything. */
export const LogLevel = {
  DEBUG: 0,
  INFO: 1,
  WARN: 2,
  ERROR: 3,
  FATAL: 4,
  NONE: 5,
} as const;
/** LogLevel is the numeric value of a level. */
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** LogLevelNames maps a LogLevel to its name, in order. */
export const LogLevelNames: readonly string[] = Object.keys(LogLevel);

/**
 * parseLogLevel returns the level named name (case-insensitive), or undefined when the name
 * is not one of LogLevelNames.
 */
export function parseLogLevel(name: string): LogLevel | undefined {
  const i = LogLevelNames.findIndex((n) => n.toLowerCase() === name.toLowerCase());
  return i < 0 ? undefined : (i as LogLevel);
}

/**
 * RedirectLogger is both the text buffer the interaction commands write into and the raft
 * Logger of every node, so that raft's log lines interleave with the harness output in the
 * order they happen.
 *
 * Log lines below `level` are dropped; at NONE every write, harness output included, is
 * swallowed. withIndent() collects a sub-step's output and re-emits it indented.
 */
export class RedirectLogger implements Logger {
  /** The current level; it persists across commands. */
  level: LogLevel = LogLevel.DEBUG;
  private buf = '';

  /** quiet reports whether the level is NONE, which swallows all output. */
  quiet(): boolean {
    return this.level === LogLevel.NONE;
  }

  /** write appends s to the buffer unless the level is NONE. */
  write(s: string): void {
    if (!this.quiet()) this.buf += s;
  }

  /** text returns what was written since the last reset. */
  text(): string {
    return this.buf;
  }

  /** reset empties the buffer (the level is kept). */
  reset(): void {
    this.buf = '';
  }

  /**
   * withIndent runs f with an empty buffer, then appends each line f produced (a final line
   * without a newline included) to the previous buffer, prefixed by two spaces.
   */
  withIndent<T>(f: () => T): T {
    const orig = this.buf;
    this.buf = '';
    let inner = '';
    try {
      return f();
    } finally {
      inner = this.buf;
      this.buf = orig;
      for (const line of splitScannerLines(inner)) this.buf += `  ${line}\n`;
    }
  }

  private log(level: LogLevel, msg: string): void {
    if (this.level > level) return;
    this.write(`${LogLevelNames[level]} ${msg}${msg.endsWith('\n') ? '' : '\n'}`);
  }

  debug(msg: string): void {
    this.log(LogLevel.DEBUG, msg);
  }
  info(msg: string): void {
    this.log(LogLevel.INFO, msg);
  }
  warning(msg: string): void {
    this.log(LogLevel.WARN, msg);
  }
  error(msg: string): void {
    this.log(LogLevel.ERROR, msg);
  }
  /** fatal prints at FATAL; raft throws right after (see raftPanic). */
  fatal(msg: string): void {
    this.log(LogLevel.FATAL, msg);
  }
  /** panic prints at FATAL, like Go's Panicf on this logger; raft throws right after. */
  panic(msg: string): void {
    this.log(LogLevel.FATAL, msg);
  }
}

/** splitScannerLines splits s like Go's bufio line scanner (no trailing empty line, \r dropped). */
function splitScannerLines(s: string): string[] {
  if (s === '') return [];
  const lines = s.split('\n');
  if (s.endsWith('\n')) lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}
