/**
 * The safety properties the simulator checks after every step (Raft paper Figure 3, plus
 * what the Ready contract and the client API promise). Each check is incremental: it looks
 * at what changed (a Ready's entries, an applied entry, a new commit index), so checking
 * after every step stays cheap.
 */
import type { Raft } from '../../raft/raft.ts';
import { StateType } from '../../raft/ready.ts';
import type { Entry, HardState } from '../../raftpb/types.ts';
import { hashBytes } from './prng.ts';

/** Invariant names the property a violation breaks. */
export const Invariant = {
  /** At most one leader per term (Election Safety). */
  ElectionSafety: 'election-safety',
  /** Equal (index, term) means equal entries and equal logs before them (Log Matching). */
  LogMatching: 'log-matching',
  /** A leader never overwrites or deletes entries of its own log (Leader Append-Only). */
  LeaderAppendOnly: 'leader-append-only',
  /** A leader has every entry committed in earlier terms (Leader Completeness). */
  LeaderCompleteness: 'leader-completeness',
  /** Once an index is committed, its entry never changes (State Machine Safety). */
  CommittedEntry: 'committed-entry',
  /** Every node applies the same entries in the same order (the same applied prefix). */
  AppliedPrefix: 'applied-prefix',
  /** Within one incarnation of a node, the commit index never goes back. */
  CommitMonotonic: 'commit-monotonic',
  /** Within one incarnation of a node, the applied index never goes back. */
  AppliedMonotonic: 'applied-monotonic',
  /** Durable term never decreases, a durable vote never changes within its term. */
  DurableState: 'durable-state',
  /** A ReadIndex read sees every write acknowledged before the read started. */
  StaleRead: 'stale-read',
  /** Every acknowledged write is in the final state. */
  AckedWriteLost: 'acked-write-lost',
  /** The client history is linearizable (or the check did not finish: also a failure). */
  Linearizability: 'linearizability',
  /** The core threw something other than its documented errors. */
  Crash: 'crash',
  /** With every node up and the network healed, the members did not converge. */
  Convergence: 'convergence',
} as const;
/** Invariant is the name of a checked property. */
export type Invariant = (typeof Invariant)[keyof typeof Invariant];

/**
 * isLiveness tells the one liveness property (convergence after healing) from the safety
 * properties: Raft promises safety under every schedule, progress only when enough of the
 * cluster is up and connected, and some progress failures are known limits of the design.
 */
export function isLiveness(inv: Invariant): boolean {
  return inv === Invariant.Convergence;
}

/** Violation is one broken property, with where and when it was seen. */
export interface Violation {
  invariant: Invariant;
  /** time is the simulated time in ms. */
  time: number;
  node?: number;
  message: string;
}

/** NodeView is what the checker reads of a simulated node. */
export interface NodeView {
  readonly id: number;
  /** raft is the live state machine, or undefined while the node is down. */
  readonly raft: Raft | undefined;
  /** incarnation increases at every restart. */
  readonly incarnation: number;
}

interface LogRecord {
  content: number;
  prevTerm: number;
}

interface Incarnation {
  inc: number;
  commit: number;
  applied: number;
  /** The last index this incarnation handed out in a Ready while leader, per term. */
  leaderLast: number;
  leaderTerm: number;
}

const TERM_BITS = 2 ** 21;

/** SafetyChecker accumulates the global history the invariants are checked against. */
export class SafetyChecker {
  readonly violations: Violation[] = [];
  now = 0;
  private readonly leaderOfTerm = new Map<number, number>();
  private readonly logRecords = new Map<number, LogRecord>();
  /** committedTerm[i] is the term of the entry committed at index i (0: not seen yet). */
  private readonly committedTerm: number[] = [];
  /** maxCommittedIn maps a term to the highest index first committed by its leader. */
  private readonly maxCommittedIn = new Map<number, number>();
  private readonly appliedChain: number[] = [];
  private readonly durable = new Map<number, HardState>();
  private readonly incs = new Map<number, Incarnation>();
  private completenessCache = { version: -1, term: -1, index: 0 };
  private version = 0;

  /** fail records a violation. */
  fail(invariant: Invariant, message: string, node?: number): void {
    const v: Violation = { invariant, time: this.now, message };
    if (node !== undefined) v.node = node;
    this.violations.push(v);
  }

  /** ok reports whether nothing was violated so far. */
  ok(): boolean {
    return this.violations.length === 0;
  }

  /** afterStep runs the per-step checks over every live node. */
  afterStep(nodes: readonly NodeView[]): void {
    for (const n of nodes) {
      const r = n.raft;
      if (r === undefined) continue;
      if (r.state === StateType.StateLeader) this.checkLeader(n.id, r);
      this.checkCommit(n, r);
    }
  }

  private checkLeader(id: number, r: Raft): void {
    const other = this.leaderOfTerm.get(r.term);
    if (other === undefined) this.leaderOfTerm.set(r.term, id);
    else if (other !== id) {
      this.fail(
        Invariant.ElectionSafety,
        `${other} and ${id} are both leaders of term ${r.term}`,
        id,
      );
    }
    const k = this.mustHave(r.term);
    if (k === 0 || k <= r.raftLog.firstIndex() - 1) return;
    const want = this.committedTerm[k] ?? 0;
    const have = r.raftLog.zeroTermOnOutOfBounds(k);
    if (have !== want) {
      this.fail(
        Invariant.LeaderCompleteness,
        `leader ${id} of term ${r.term} has term ${have} at index ${k}, committed with term ${want} in an earlier term`,
        id,
      );
    }
  }

  /** mustHave is the highest index committed by a leader of a term below `term`. */
  private mustHave(term: number): number {
    const c = this.completenessCache;
    if (c.version === this.version && c.term === term) return c.index;
    let k = 0;
    for (const [t, i] of this.maxCommittedIn) if (t < term && i > k) k = i;
    this.completenessCache = { version: this.version, term, index: k };
    return k;
  }

  private checkCommit(n: NodeView, r: Raft): void {
    const st = this.incarnation(n);
    const c = r.raftLog.committed;
    if (c < st.commit) {
      this.fail(Invariant.CommitMonotonic, `commit went back from ${st.commit} to ${c}`, n.id);
    }
    const applied = r.raftLog.applied;
    if (applied < st.applied) {
      this.fail(
        Invariant.AppliedMonotonic,
        `applied went back from ${st.applied} to ${applied}`,
        n.id,
      );
    }
    st.applied = Math.max(st.applied, applied);
    if (c <= st.commit) return;
    // From the entry before firstIndex: its term is the snapshot's, also committed.
    const from = Math.max(st.commit + 1, r.raftLog.firstIndex() - 1, 1);
    st.commit = c;
    this.recordCommitted(n.id, r, from, c);
  }

  /** recordCommitted compares (or records) the terms of the committed entries [lo, hi]. */
  private recordCommitted(id: number, r: Raft, lo: number, hi: number): void {
    for (let i = lo; i <= hi; i++) {
      const t = r.raftLog.zeroTermOnOutOfBounds(i);
      if (t === 0) continue;
      const known = this.committedTerm[i] ?? 0;
      if (known === 0) {
        this.committedTerm[i] = t;
        if ((this.maxCommittedIn.get(r.term) ?? 0) < i) {
          this.maxCommittedIn.set(r.term, i);
          this.version++;
        }
      } else if (known !== t) {
        this.fail(
          Invariant.CommittedEntry,
          `index ${i} is committed with term ${t} on ${id} but was committed with term ${known}`,
          id,
        );
        return;
      }
    }
  }

  private incarnation(n: NodeView): Incarnation {
    let st = this.incs.get(n.id);
    if (st === undefined || st.inc !== n.incarnation) {
      st = { inc: n.incarnation, commit: 0, applied: 0, leaderLast: 0, leaderTerm: 0 };
      this.incs.set(n.id, st);
    }
    return st;
  }

  /**
   * onRestart re-checks a restarted node's committed log against what was committed before
   * (no acknowledged entry may be lost by a crash) and starts its incarnation.
   */
  onRestart(n: NodeView): void {
    const r = n.raft;
    if (r === undefined) return;
    const st = this.incarnation(n);
    st.commit = r.raftLog.committed;
    st.applied = r.raftLog.applied;
    const from = Math.max(r.raftLog.firstIndex() - 1, 1);
    this.recordCommitted(n.id, r, from, r.raftLog.committed);
  }

  /**
   * onReady checks the entries a Ready hands out for persistence: Log Matching against every
   * entry seen before at the same (index, term), and Leader Append-Only.
   */
  onReady(n: NodeView, r: Raft, entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0] as Entry;
    if (r.state === StateType.StateLeader) this.checkAppendOnly(n, r.term, first.index, entries);
    let prevTerm = first.index === 1 ? 0 : r.raftLog.zeroTermOnOutOfBounds(first.index - 1);
    if (prevTerm === 0 && first.index > 1) prevTerm = -1;
    for (const e of entries) {
      const key = e.index * TERM_BITS + e.term;
      const rec: LogRecord = { content: hashBytes(e.data) + e.type, prevTerm };
      const old = this.logRecords.get(key);
      if (old === undefined) this.logRecords.set(key, rec);
      else if (
        old.content !== rec.content ||
        (old.prevTerm !== rec.prevTerm && old.prevTerm !== -1 && rec.prevTerm !== -1)
      ) {
        this.fail(
          Invariant.LogMatching,
          `node ${n.id} has a different entry at index ${e.index} term ${e.term} (content ${rec.content} vs ${old.content}, previous term ${rec.prevTerm} vs ${old.prevTerm})`,
          n.id,
        );
        return;
      } else if (old.prevTerm === -1) old.prevTerm = rec.prevTerm;
      prevTerm = e.term;
    }
  }

  private checkAppendOnly(n: NodeView, term: number, first: number, ents: readonly Entry[]): void {
    const st = this.incarnation(n);
    if (st.leaderTerm === term && first <= st.leaderLast) {
      this.fail(
        Invariant.LeaderAppendOnly,
        `leader ${n.id} of term ${term} rewrites its log from index ${first} (last was ${st.leaderLast})`,
        n.id,
      );
    }
    st.leaderTerm = term;
    st.leaderLast = (ents[ents.length - 1] as Entry).index;
  }

  /** onApplied checks the hash of the applied prefix up to index against every other node. */
  onApplied(node: number, index: number, chain: number): void {
    const known = this.appliedChain[index];
    if (known === undefined) this.appliedChain[index] = chain;
    else if (known !== chain) {
      this.fail(
        Invariant.AppliedPrefix,
        `node ${node} applied a different prefix up to index ${index}`,
        node,
      );
    }
  }

  /** onPersist checks a node's newly durable HardState against its earlier ones. */
  onPersist(node: number, hs: HardState): void {
    const old = this.durable.get(node);
    if (old !== undefined) {
      if (hs.term < old.term) {
        this.fail(
          Invariant.DurableState,
          `durable term went back from ${old.term} to ${hs.term}`,
          node,
        );
      } else if (hs.term === old.term && old.vote !== 0 && hs.vote !== old.vote) {
        this.fail(
          Invariant.DurableState,
          `durable vote in term ${hs.term} changed from ${old.vote} to ${hs.vote}`,
          node,
        );
      } else if (hs.commit < old.commit) {
        this.fail(
          Invariant.DurableState,
          `durable commit went back from ${old.commit} to ${hs.commit}`,
          node,
        );
      }
    }
    this.durable.set(node, { ...hs });
  }

  /** leaderTerms is the number of terms that had a leader. */
  leaderTerms(): number {
    return this.leaderOfTerm.size;
  }
}
