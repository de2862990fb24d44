/**
 * The datadriven commands of the interaction environment (etcd-raft
 * `rafttest/interaction_env_handler*.go`; the conformance FORMAT.md §3 lists them all).
 *
 * A command either succeeds (its output is what it and raft printed, or `ok`), reports an
 * error as its output (InteractionError, raft's RaftError), or aborts the file by throwing
 * anything else (a malformed command line, a raft panic).
 */
import { ReadOnlyOption } from '../raft/config.ts';
import { confChangesFromString } from '../raftpb/confchange.ts';
import {
  ConfChangeTransition,
  MessageType,
  MessageTypeNames,
  emptySnapshot,
} from '../raftpb/types.ts';
import type { ConfChange, ConfChangeSingle, ConfChangeV2 } from '../raftpb/types.ts';
import {
  DataDrivenError,
  argVal,
  parseBool,
  parseSignedInt,
  parseUint,
  scanArgInt,
  scanArgUint,
} from './datadriven.ts';
import type { TestData } from './datadriven.ts';
import {
  InteractionEnv,
  InteractionError,
  bytesOf,
  configTemplate,
  isReportedError,
} from './interaction_env.ts';
import type { InteractionOptions, Recipient } from './interaction_env.ts';
import { LogLevelNames, parseLogLevel } from './interaction_env_logger.ts';

type Command = (env: InteractionEnv, d: TestData) => void;

/**
 * newInteractionHandler returns a datadriven handler backed by a fresh InteractionEnv; use
 * one per file.
 */
export function newInteractionHandler(options?: InteractionOptions): (d: TestData) => string {
  const env = new InteractionEnv(options);
  return (d) => handle(env, d);
}

/**
 * handle runs one command against env and returns its output: what was printed, or `ok`
 * when nothing was. A reported error is appended to the output (or is the whole output at
 * log level NONE).
 */
export function handle(env: InteractionEnv, d: TestData): string {
  const out = env.output;
  out.reset();
  let err: Error | undefined;
  try {
    const command = Object.hasOwn(commands, d.cmd) ? commands[d.cmd] : undefined;
    if (command === undefined) throw new InteractionError('unknown command');
    command(env, d);
  } catch (e) {
    if (!isReportedError(e)) throw e;
    err = e;
  }
  if (err !== undefined) {
    if (out.quiet()) return err.message;
    out.write(err.message);
  }
  const text = out.text();
  return text === '' ? 'ok' : text;
}

/** fatal aborts the file: the command line itself is wrong. */
function fatal(d: TestData, msg: string): never {
  throw new DataDrivenError(`${d.pos}: ${d.cmd}: ${msg}`);
}

/** firstId is the node id given as the first (bare) argument. */
function firstId(d: TestData): number {
  const a = d.cmdArgs[0];
  if (a === undefined) fatal(d, 'missing node id');
  return parseSignedInt(a.key);
}

/** bareIds are the node ids given as arguments without a value, in order. */
function bareIds(d: TestData): number[] {
  return d.cmdArgs.filter((a) => a.vals.length === 0).map((a) => parseSignedInt(a.key));
}

/** addNodes: `add-nodes <n> [voters=(…)] [learners=(…)] [index=i] [option=value …]`. */
function addNodes(env: InteractionEnv, d: TestData): void {
  const n = firstId(d);
  const snap = emptySnapshot();
  const cfg = configTemplate();
  for (const arg of d.cmdArgs.slice(1)) {
    arg.vals.forEach((_, i) => {
      const v = argVal(d, arg, i);
      switch (arg.key) {
        case 'voters':
          snap.metadata.confState.voters.push(parseUint(v));
          break;
        case 'learners':
          snap.metadata.confState.learners.push(parseUint(v));
          break;
        case 'inflight':
          cfg.maxInflightMsgs = parseSignedInt(v);
          break;
        case 'index':
          snap.metadata.index = parseUint(v);
          cfg.applied = snap.metadata.index;
          break;
        case 'content':
          // An extension: datadriven v1.0.2 cannot scan into bytes, so Go rejects it.
          snap.data = bytesOf(v);
          break;
        case 'async-storage-writes':
          cfg.asyncStorageWrites = parseBool(v);
          break;
        case 'prevote':
          cfg.preVote = parseBool(v);
          break;
        case 'checkquorum':
          cfg.checkQuorum = parseBool(v);
          break;
        case 'max-committed-size-per-ready':
          cfg.maxCommittedSizePerReady = parseUint(v);
          break;
        case 'disable-conf-change-validation':
          cfg.disableConfChangeValidation = parseBool(v);
          break;
        case 'read-only':
          if (v === 'safe') cfg.readOnlyOption = ReadOnlyOption.ReadOnlySafe;
          else if (v === 'lease-based') cfg.readOnlyOption = ReadOnlyOption.ReadOnlyLeaseBased;
          else throw new InteractionError(`invalid read-only option ${JSON.stringify(v)}`);
          break;
        case 'step-down-on-removal':
          cfg.stepDownOnRemoval = parseBool(v);
          break;
      }
    });
  }
  env.addNodes(n, cfg, snap);
}

/** processNodes runs f per id, with a header and indentation when there are several ids. */
function processNodes(env: InteractionEnv, ids: number[], header: string, f: (id: number) => void) {
  for (const id of ids) {
    if (ids.length > 1) {
      env.output.write(`> ${id} ${header}\n`);
      env.output.withIndent(() => f(id));
    } else {
      f(id);
    }
  }
}

/** deliverMsgs: `deliver-msgs [<id>…] [drop=(ids)] [type=<MsgType>]`. */
function deliverMsgs(env: InteractionEnv, d: TestData): void {
  let typ: MessageType | undefined;
  const rs: Recipient[] = [];
  for (const arg of d.cmdArgs) {
    if (arg.vals.length === 0) rs.push({ id: parseUint(arg.key), drop: false });
    arg.vals.forEach((_, i) => {
      const v = argVal(d, arg, i);
      if (arg.key === 'drop') {
        const id = parseUint(v);
        if (rs.some((r) => r.id === id)) fatal(d, `can't both deliver and drop msgs to ${id}`);
        rs.push({ id, drop: true });
      } else if (arg.key === 'type') {
        const t = MessageTypeNames.indexOf(v);
        if (t < 0) fatal(d, `unknown message type ${v}`);
        typ = t as MessageType;
      }
    });
  }
  if (env.deliverMsgs(typ, rs) === 0) env.output.write('no messages\n');
}

/** stabilize: `stabilize [<id>…] [log-level=<level>]`. */
function stabilize(env: InteractionEnv, d: TestData): void {
  const ids = bareIds(d);
  const saved = env.output.level;
  try {
    for (const arg of d.cmdArgs) {
      if (arg.key !== 'log-level') continue;
      arg.vals.forEach((_, i) => setLogLevel(env, argVal(d, arg, i)));
    }
    env.stabilize(ids);
  } finally {
    env.output.level = saved;
  }
}

function setLogLevel(env: InteractionEnv, name: string): void {
  const level = parseLogLevel(name);
  if (level === undefined) {
    throw new InteractionError(`log levels must be either of [${LogLevelNames.join(' ')}]`);
  }
  env.output.level = level;
}

/** proposeConfChange: `propose-conf-change <id> [v1=<bool>] [transition=…]` + change list. */
function proposeConfChange(env: InteractionEnv, d: TestData): void {
  const id = firstId(d);
  let v1 = false;
  let transition: ConfChangeTransition = ConfChangeTransition.ConfChangeTransitionAuto;
  for (const arg of d.cmdArgs.slice(1)) {
    for (const val of arg.vals) {
      if (arg.key === 'v1') {
        v1 = reportBadInput(() => parseBool(val));
      } else if (arg.key === 'transition') {
        transition = parseTransition(val);
      } else {
        throw new InteractionError(`unknown command ${arg.key}`);
      }
    }
  }
  const ccs: ConfChangeSingle[] = reportBadInput(() => confChangesFromString(d.input));
  let cc: ConfChange | ConfChangeV2;
  if (v1) {
    if (ccs.length > 1 || transition !== ConfChangeTransition.ConfChangeTransitionAuto) {
      throw new InteractionError('v1 conf change can only have one operation and no transition');
    }
    const c = ccs[0];
    if (c === undefined) fatal(d, 'v1 conf change needs one operation');
    cc = { type: c.type, nodeId: c.nodeId, id: 0 };
  } else {
    cc = { transition, changes: ccs };
  }
  env.node(id).rawNode.proposeConfChange(cc);
}

function parseTransition(val: string): ConfChangeTransition {
  switch (val) {
    case 'auto':
      return ConfChangeTransition.ConfChangeTransitionAuto;
    case 'implicit':
      return ConfChangeTransition.ConfChangeTransitionJointImplicit;
    case 'explicit':
      return ConfChangeTransition.ConfChangeTransitionJointExplicit;
    default:
      throw new InteractionError(`unknown transition ${val}`);
  }
}

/** reportBadInput turns a parse failure into an error reported as the command's output. */
function reportBadInput<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (isReportedError(err) || !(err instanceof Error)) throw err;
    throw new InteractionError(err.message, { cause: err });
  }
}

/** propose: `propose <id> <data>`; the data word is proposed verbatim. */
function propose(env: InteractionEnv, d: TestData): void {
  const id = firstId(d);
  const data = d.cmdArgs[1];
  if (d.cmdArgs.length !== 2 || data === undefined || data.vals.length > 0) {
    fatal(d, 'expected exactly one key with no vals');
  }
  env.node(id).rawNode.propose(bytesOf(data.key));
}

/** compact: `compact <id> <newFirstIndex>`. */
function compact(env: InteractionEnv, d: TestData): void {
  const id = firstId(d);
  const a = d.cmdArgs[1];
  if (a === undefined) fatal(d, 'missing new first index');
  const index = reportBadInput(() => parseUint(a.key));
  env.compact(id, index);
}

/** transferLeadership: `transfer-leadership from=<id> to=<id>`. */
function transferLeadership(env: InteractionEnv, d: TestData): void {
  const from = scanArgUint(d, 'from');
  const to = scanArgUint(d, 'to');
  if (from === 0 || from > env.nodes.length) fatal(d, 'expected valid "from" argument');
  if (to === 0 || to > env.nodes.length) fatal(d, 'expected valid "to" argument');
  env.node(from).rawNode.transferLeader(to);
}

/** sendSnapshot: `send-snapshot <from> <to>`. */
function sendSnapshot(env: InteractionEnv, d: TestData): void {
  const ids = bareIds(d);
  const [from, to] = ids;
  if (ids.length !== 2 || from === undefined || to === undefined) {
    fatal(d, 'expected exactly two node ids');
  }
  try {
    env.sendSnapshot(from, to);
  } catch (err) {
    // The Go handler discards this command's errors.
    if (!isReportedError(err)) throw err;
  }
}

/** setRandomizedElectionTimeout: `set-randomized-election-timeout <id> timeout=<n>`. */
function setRandomizedElectionTimeout(env: InteractionEnv, d: TestData): void {
  const id = firstId(d);
  const timeout = scanArgInt(d, 'timeout');
  if (timeout === 0) fatal(d, 'timeout must not be zero');
  env.node(id).rawNode.raft.randomizedElectionTimeout = timeout;
}

/** reportUnreachable: `report-unreachable <a> <b>`. */
function reportUnreachable(env: InteractionEnv, d: TestData): void {
  const ids = bareIds(d);
  const [a, b] = ids;
  if (ids.length !== 2 || a === undefined || b === undefined) {
    throw new InteractionError(
      'must specify exactly two node indexes: node on which to report, and reported node',
    );
  }
  env.node(a).rawNode.reportUnreachable(env.node(b).id);
}

const commands: Record<string, Command> = {
  _breakpoint: () => {},
  'add-nodes': addNodes,
  campaign: (env, d) => env.node(firstId(d)).rawNode.campaign(),
  compact,
  'deliver-msgs': deliverMsgs,
  'process-ready': (env, d) =>
    processNodes(env, bareIds(d), 'handling Ready', (id) => env.processReady(id)),
  'process-append-thread': (env, d) =>
    processNodes(env, bareIds(d), 'processing append thread', (id) => env.processAppendThread(id)),
  'process-apply-thread': (env, d) =>
    processNodes(env, bareIds(d), 'processing apply thread', (id) => env.processApplyThread(id)),
  'log-level': (env, d) => {
    const a = d.cmdArgs[0];
    if (a === undefined) fatal(d, 'missing level');
    setLogLevel(env, a.key);
  },
  'raft-log': (env, d) => env.raftLog(firstId(d)),
  'raft-state': (env) => env.raftState(),
  'set-randomized-election-timeout': setRandomizedElectionTimeout,
  stabilize,
  status: (env, d) => env.status(firstId(d)),
  'tick-election': (env, d) => {
    const id = firstId(d);
    env.tick(id, env.node(id).config.electionTick);
  },
  'tick-heartbeat': (env, d) => {
    const id = firstId(d);
    env.tick(id, env.node(id).config.heartbeatTick);
  },
  'transfer-leadership': transferLeadership,
  'forget-leader': (env, d) => {
    try {
      env.node(firstId(d)).rawNode.forgetLeader();
    } catch (err) {
      // Errors of ForgetLeader are ignored, as in the Go harness.
      if (!isReportedError(err)) throw err;
    }
  },
  'send-snapshot': sendSnapshot,
  propose,
  'propose-conf-change': proposeConfChange,
  'report-unreachable': reportUnreachable,
};
