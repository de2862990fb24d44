/**
 * Logger receives raft's log lines, already formatted. Implementations decide what to print;
 * the core never reads a clock or writes to a stream itself.
 */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warning(msg: string): void;
  error(msg: string): void;
  /** fatal and panic are called right before raft throws a RaftPanic. */
  fatal(msg: string): void;
  panic(msg: string): void;
}

/**
 * RaftPanic is thrown when an invariant of the raft core is broken (where etcd-raft panics).
 * It is never meant to be caught: the node's state can no longer be trusted.
 */
export class RaftPanic extends Error {
  readonly code = 'ERR_RAFT_PANIC';
  constructor(message: string) {
    super(message);
    this.name = 'RaftPanic';
  }
}

/** raftPanic logs msg at panic level and throws a RaftPanic. */
export function raftPanic(logger: Logger, msg: string): never {
  logger.panic(msg);
  throw new RaftPanic(msg);
}

/** discardLogger drops every line. */
export const discardLogger: Logger = {
  debug() {},
  info() {},
  warning() {},
  error() {},
  fatal() {},
  panic() {},
};

/** consoleLogger prints warnings and worse to standard error, and drops the rest. */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warning: (m) => console.error(`WARN ${m}`),
  error: (m) => console.error(`ERROR ${m}`),
  fatal: (m) => console.error(`FATAL ${m}`),
  panic: (m) => console.error(`PANIC ${m}`),
};
