// raw-3node-pump, exactly as ../shared/ANCHORS.md defines it: three RawNodes in one process,
// synchronous Ready/Advance loop, 128-byte proposals on node 1 at batch 1, 10 and 100.
// One op = one entry committed on node 1. Env: PUMP_N1, PUMP_N, PUMP_COMPACT (as the Go
// anchor), or --quick for a short CI run.
import { MemoryStorage } from '../src/raft/storage.ts';
import { RawNode } from '../src/raft/rawnode.ts';
import { discardLogger } from '../src/raft/logger.ts';
import { StateType } from '../src/raft/ready.ts';
import { isEmptyHardState } from '../src/raftpb/types.ts';
import type { Message } from '../src/raftpb/types.ts';

interface PumpNode {
  s: MemoryStorage;
  rn: RawNode;
  committed: number;
  applied: number;
  compacted: number;
}

class PumpCluster {
  nodes: PumpNode[] = [];
  msgs: Message[] = [];
  rounds = 0;
  readys = 0;
  sent = 0;
  compactions = 0;
  constructor(readonly compactEvery: number) {}

  pump(): void {
    for (let busy = true; busy;) {
      busy = false;
      this.rounds++;
      const msgs: Message[] = [];
      for (const n of this.nodes) {
        while (n.rn.hasReady()) {
          busy = true;
          const rd = n.rn.ready();
          this.readys++;
          if (!isEmptyHardState(rd.hardState)) n.s.setHardState(rd.hardState);
          n.s.append(rd.entries);
          for (const m of rd.messages) msgs.push(m);
          const k = rd.committedEntries.length;
          if (k > 0) {
            n.committed += k;
            n.applied = rd.committedEntries[k - 1]!.index;
          }
          n.rn.advance();
        }
      }
      for (const m of msgs) {
        this.nodes[m.to - 1]!.rn.step(m);
        busy = true;
      }
      this.sent += msgs.length;
    }
  }

  maybeCompact(): void {
    if (this.compactEvery === 0) return;
    for (const n of this.nodes) {
      if (n.applied - n.compacted >= this.compactEvery) {
        n.s.compact(n.applied);
        n.compacted = n.applied;
        this.compactions++;
      }
    }
  }
}

function envInt(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number.parseInt(v, 10);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${name}: not an integer: ${v}`);
  return n;
}

/** newPumpCluster builds the three-node cluster of the anchor and elects node 1. */
export function newPumpCluster(compactEvery: number): PumpCluster {
  const ids = [1, 2, 3];
  const c = new PumpCluster(compactEvery);
  for (const id of ids) {
    const s = MemoryStorage.withConfState({
      voters: ids,
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    });
    const rn = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: s,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      maxUncommittedEntriesSize: 0,
      preVote: true,
      checkQuorum: true,
      logger: discardLogger,
    });
    c.nodes.push({ s, rn, committed: 0, applied: 0, compacted: 0 });
  }
  c.nodes[0]!.rn.campaign();
  c.pump();
  if (c.nodes[0]!.rn.raft.state !== StateType.StateLeader) {
    throw new Error('node 1 did not become leader');
  }
  return c;
}

export interface PumpResult {
  batch: number;
  proposals: number;
  secs: number;
  commitsPerSec: number;
  rounds: number;
  readys: number;
  msgs: number;
  compactions: number;
}

/** runPump runs the three batches on one cluster and returns one result per batch. */
export function runPump(n1: number, n: number, compactEvery: number): PumpResult[] {
  const c = newPumpCluster(compactEvery);
  const leader = c.nodes[0]!;
  const payload = new Uint8Array(128).fill(0x78);
  const out: PumpResult[] = [];
  for (const batch of [1, 10, 100]) {
    const N = batch === 1 ? n1 : n;
    const start0 = leader.committed;
    c.rounds = c.readys = c.sent = c.compactions = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i += batch) {
      const k = Math.min(batch, N - i);
      for (let j = 0; j < k; j++) leader.rn.propose(payload);
      c.pump();
      c.maybeCompact();
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const done = leader.committed - start0;
    if (done !== N) throw new Error(`batch=${batch}: committed ${done} of ${N}`);
    out.push({
      batch,
      proposals: N,
      secs,
      commitsPerSec: done / secs,
      rounds: c.rounds,
      readys: c.readys,
      msgs: c.sent,
      compactions: c.compactions,
    });
  }
  return out;
}

export default function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick') || process.env['CI'] === 'true';
  const n1 = envInt('PUMP_N1', quick ? 50_000 : 500_000);
  const n = envInt('PUMP_N', quick ? 100_000 : 1_000_000);
  const compact = envInt('PUMP_COMPACT', quick ? 10_000 : 100_000);
  for (const r of runPump(n1, n, compact)) {
    if (args.includes('--json')) {
      console.log(
        JSON.stringify({
          bench: `raw-3node-pump/batch=${r.batch}`,
          value: Math.round(r.commitsPerSec),
          unit: 'commits/s',
        }),
      );
    } else {
      const per = (x: number): string => (x / r.proposals).toFixed(3);
      console.log(
        `raw-3node-pump batch=${r.batch} proposals=${r.proposals} secs=${r.secs.toFixed(3)} commits/s=${Math.round(r.commitsPerSec)} per entry: rounds=${per(r.rounds)} readys=${per(r.readys)} msgs=${per(r.msgs)} compactions=${r.compactions}`,
      );
    }
  }
  return Promise.resolve();
}
