/**
 * The log of a raftkv process: raft's, the Node's, the transport's and the WAL's lines, with
 * a time and a level, on standard error; lines below the chosen level are dropped.
 */
import type { Logger } from '../../raft/logger.ts';

/** LogLevel is the least severe level printed. */
export const LogLevel = { Debug: 'debug', Info: 'info', Warn: 'warn', Error: 'error' } as const;
/** LogLevel is one of the LogLevel values. */
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** isLogLevel reports whether s names a LogLevel. */
export function isLogLevel(s: string): s is LogLevel {
  return Object.hasOwn(rank, s);
}

/** stamp is the time of day with milliseconds, as log lines show it. */
function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/**
 * levelLogger returns a Logger printing lines at `level` or above through `write` (default:
 * standard error), each as "<time> <LEVEL> <prefix><message>".
 */
export function levelLogger(
  level: LogLevel,
  prefix = '',
  write: (line: string) => void = (l) => void process.stderr.write(l),
): Logger {
  const at =
    (lvl: LogLevel, tag: string) =>
    (m: string): void => {
      if (rank[lvl] >= rank[level]) write(`${stamp()} ${tag} ${prefix}${m}\n`);
    };
  return {
    debug: at('debug', 'DEBUG'),
    info: at('info', 'INFO'),
    warning: at('warn', 'WARN'),
    error: at('error', 'ERROR'),
    fatal: at('error', 'FATAL'),
    panic: at('error', 'PANIC'),
  };
}
