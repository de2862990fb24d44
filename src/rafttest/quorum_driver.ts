/**
 * The datadriven driver for etcd-raft's quorum/testdata (conformance FORMAT.md §7.2).
 *
 * Commands `committed` and `vote` take `cfg=(ids)`, optionally `cfgj=(ids)` or `cfgj=zero`
 * for a joint quorum, and `idx=(...)` (acked indexes, `_` = unknown) or `votes=(...)` (`y`,
 * `n`, `_`). Besides the main computation, each case cross-checks alternative computations
 * that must agree, and prints a line only when one disagrees.
 */
import { JointConfig } from '../quorum/joint.ts';
import { MajorityConfig } from '../quorum/majority.ts';
import type { AckedIndexer, Index } from '../quorum/quorum.ts';
import { indexToString, mapAckIndexer, voteResultName } from '../quorum/quorum.ts';
import type { TestData } from './datadriven.ts';
import { DataDrivenError, parseUint } from './datadriven.ts';

/** The values of `votes=`: 0 = no vote, 1 = against, 2 = for (as in etcd's harness). */
const voteCodes: Readonly<Record<string, number>> = { _: 0, n: 1, y: 2 };

/** QuorumCase is a parsed quorum test case. */
interface QuorumCase {
  ids: number[];
  idsj: number[];
  joint: boolean;
  /** One value per distinct voter of ids ++ idsj; 0 is a placeholder for "unknown". */
  idxs: number[];
  votes: number[];
}

/** handleQuorumCommand runs one case of a quorum test file and returns its output. */
export function handleQuorumCommand(d: TestData): string {
  const q = parseQuorumCase(d);
  const c = new MajorityConfig(q.ids);
  const cj = new MajorityConfig(q.idsj);
  const input = d.cmd === 'vote' ? q.votes : q.idxs;
  const voters = new JointConfig(c, cj).ids();
  if (voters.size !== input.length) return mismatch(voters, input);
  switch (d.cmd) {
    case 'committed': {
      const l = mapAckIndexer(lookuper(q.idxs, q.ids, q.idsj));
      return q.joint ? jointCommitted(c, cj, l) : majorityCommitted(c, l);
    }
    case 'vote': {
      const votes = new Map<number, boolean>();
      for (const [id, v] of lookuper(q.votes, q.ids, q.idsj)) votes.set(id, v !== 1);
      return q.joint ? jointVote(c, cj, votes) : `${voteResultName(c.voteResult(votes))}\n`;
    }
    default:
      throw new DataDrivenError(`${d.pos}: unknown command: ${d.cmd}`);
  }
}

function parseQuorumCase(d: TestData): QuorumCase {
  const q: QuorumCase = { ids: [], idsj: [], joint: false, idxs: [], votes: [] };
  for (const arg of d.cmdArgs) {
    for (const v of arg.vals) {
      switch (arg.key) {
        case 'cfg':
          q.ids.push(parseUint(v));
          break;
        case 'cfgj':
          q.joint = true;
          if (v !== 'zero') q.idsj.push(parseUint(v));
          else if (arg.vals.length !== 1) {
            throw new DataDrivenError(`${d.pos}: cannot mix 'zero' into configuration`);
          }
          break;
        case 'idx':
          q.idxs.push(parseIdx(d, v));
          break;
        case 'votes': {
          const code = voteCodes[v];
          if (code === undefined) throw new DataDrivenError(`${d.pos}: unknown vote: ${v}`);
          q.votes.push(code);
          break;
        }
        default:
          throw new DataDrivenError(`${d.pos}: unknown arg ${arg.key}`);
      }
    }
  }
  return q;
}

function parseIdx(d: TestData, v: string): number {
  if (v === '_') return 0;
  const n = parseUint(v);
  if (n === 0) throw new DataDrivenError(`${d.pos}: cannot use 0 as idx`);
  return n;
}

/**
 * lookuper assigns vals, in order, to the distinct ids of ids ++ idsj, and drops the
 * placeholders (0), which mean "nothing known" rather than "acked 0".
 */
function lookuper(vals: readonly number[], ids: number[], idsj: number[]): Map<number, number> {
  const m = new Map<number, number>();
  let p = 0;
  for (const id of [...ids, ...idsj]) {
    if (m.has(id) || p >= vals.length) continue;
    m.set(id, vals[p++]!);
  }
  for (const [id, v] of m) if (v === 0) m.delete(id);
  return m;
}

/** mismatch prints etcd's error with Go's %v of a map[uint64]struct{} and of a slice. */
function mismatch(voters: Set<number>, input: readonly number[]): string {
  const keys = [...voters].sort((a, b) => a - b).map((id) => `${id}:{}`);
  return `error: mismatched input (explicit or _) for voters map[${keys.join(' ')}]: [${input.join(' ')}]`;
}

function majorityCommitted(c: MajorityConfig, l: AckedIndexer): string {
  const idx = c.committedIndex(l);
  let out = c.describe(l);
  const check = (alt: Index, how: string): void => {
    if (alt !== idx) out += `${indexToString(alt)} <-- ${how}\n`;
  };
  check(alternativeMajorityCommittedIndex(c, l), 'via alternative computation');
  check(new JointConfig(c, new MajorityConfig()).committedIndex(l), 'via zero-joint quorum');
  check(new JointConfig(c, c).committedIndex(l), 'via self-joint quorum');
  out += overlayChecks(c, l, idx);
  return out + `${indexToString(idx)}\n`;
}

/**
 * overlayChecks lowers, one voter at a time, an acked index that is below the committed
 * index; the committed index must not change. Lines (without a newline, like etcd's) only
 * appear on a disagreement.
 */
function overlayChecks(c: MajorityConfig, l: AckedIndexer, idx: Index): string {
  let out = '';
  for (const id of c) {
    const iidx = l.acked(id) ?? 0;
    if (!(idx > iidx && iidx > 0)) continue;
    const lowered = (to: number): Index => {
      const m = new Map<number, number>();
      for (const other of c) {
        const v = other === id ? to : l.acked(other);
        if (v !== undefined) m.set(other, v);
      }
      return c.committedIndex(mapAckIndexer(m));
    };
    const a1 = lowered(iidx - 1);
    if (a1 !== idx) out += `${indexToString(a1)} <-- overlaying ${id}->${iidx}`;
    const a0 = lowered(0);
    if (a0 !== idx) out += `${indexToString(a0)} <-- overlaying ${id}->0`;
  }
  return out;
}

function jointCommitted(c: MajorityConfig, cj: MajorityConfig, l: AckedIndexer): string {
  const cc = new JointConfig(c, cj);
  let out = cc.describe(l);
  const idx = cc.committedIndex(l);
  const swapped = new JointConfig(cj, c).committedIndex(l);
  if (swapped !== idx) out += `${indexToString(swapped)} <-- via symmetry\n`;
  return out + `${indexToString(idx)}\n`;
}

function jointVote(c: MajorityConfig, cj: MajorityConfig, votes: Map<number, boolean>): string {
  const r = new JointConfig(c, cj).voteResult(votes);
  const swapped = new JointConfig(cj, c).voteResult(votes);
  let out = '';
  if (swapped !== r) out += `${voteResultName(swapped)} <-- via symmetry\n`;
  return out + `${voteResultName(r)}\n`;
}

/**
 * alternativeMajorityCommittedIndex computes a majority's committed index the slow way: for
 * every acked index, count the voters that acked at least that much, and keep the largest
 * index that a majority reached (0 if none; Infinity for the empty config).
 */
export function alternativeMajorityCommittedIndex(c: MajorityConfig, l: AckedIndexer): Index {
  if (c.size() === 0) return Infinity;
  const acked: number[] = [];
  for (const id of c) {
    const v = l.acked(id);
    if (v !== undefined) acked.push(v);
  }
  const q = (c.size() >> 1) + 1;
  let best = 0;
  for (const candidate of acked) {
    const support = acked.filter((v) => v >= candidate).length;
    if (support >= q && candidate > best) best = candidate;
  }
  return best;
}
