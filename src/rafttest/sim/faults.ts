/**
 * What each scheduled event does: client operations, crashes and restarts, partitions and
 * network conditions, membership changes, leadership transfers, compactions and forced
 * campaigns. Arguments that name nodes or keys are resolved against the cluster as it is
 * when the event fires, so any event is meaningful at any time (or a no-op).
 */
import { Changer } from '../../confchange/confchange.ts';
import type { RawNode } from '../../raft/rawnode.ts';
import { confChangeAsV2, enterJoint, leaveJoint } from '../../raftpb/confchange.ts';
import { ConfChangeTransition, ConfChangeType } from '../../raftpb/types.ts';
import type { ConfChange, ConfChangeSingle, ConfChangeV2 } from '../../raftpb/types.ts';
import { CLIENTS } from './clients.ts';
import type { Clients } from './clients.ts';
import { encodeCommand } from './kv.ts';
import type { Network } from './network.ts';
import type { CrashPoint } from './node.ts';
import type { SimNode } from './node.ts';
import { EventKind } from './schedule.ts';
import type { SimEvent, SimOptions } from './schedule.ts';

/** FaultHost is the part of the Simulator that the event handlers use. */
export interface FaultHost {
  /** now is the simulated time in ms. */
  readonly now: number;
  readonly options: SimOptions;
  readonly nodes: readonly SimNode[];
  readonly network: Network;
  readonly clients: Clients;
  readonly stats: { crashes: number; restarts: number; confChanges: number; transfers: number };
  /** remembered is the node picked by the last crash, isolate or splitLeader event. */
  remembered: SimNode | undefined;
  leader(): SimNode | undefined;
  ref(a: number): SimNode | undefined;
  addNode(id: number): SimNode | undefined;
  nextNodeId(): number;
  coreError(err: unknown, what: string): void;
}

/** handleEvent performs one scheduled event. */
export function handleEvent(h: FaultHost, ev: SimEvent): void {
  switch (ev.kind) {
    case EventKind.Put:
    case EventKind.Delete:
    case EventKind.Cas:
      return write(h, ev.kind, ev);
    case EventKind.Read:
      return read(h, ev);
    case EventKind.Crash:
      return crash(h, ev);
    case EventKind.Restart:
      return restart(h, ev.a);
    case EventKind.Partition:
    case EventKind.SplitLeader:
    case EventKind.Isolate:
    case EventKind.OneWay:
    case EventKind.Heal:
      return partition(h, ev);
    case EventKind.Chaos:
    case EventKind.Delay:
      return conditions(h, ev);
    case EventKind.Conf:
      return confChange(h, ev.a, ev.b);
    case EventKind.Transfer:
      return transfer(h, ev.a);
    case EventKind.Compact:
      return h.ref(ev.a)?.snapshotNow();
    case EventKind.Campaign:
      call(h, h.ref(ev.a), 'campaign', (rn) => rn.campaign());
      return;
    case EventKind.Burst:
      return burst(h, ev);
    case EventKind.Pause: {
      const n = h.ref(ev.a);
      if (n !== undefined && n.alive) n.pausedUntil = Math.max(n.pausedUntil, h.now + 10 + ev.b);
      return;
    }
  }
}

/** keyName maps a key argument onto the run's key set. */
export function keyName(options: SimOptions, b: number): string {
  return `k${b % Math.max(1, options.keys)}`;
}

/** call runs a RawNode method on an alive node; true if raft took it. */
function call(
  h: FaultHost,
  n: SimNode | undefined,
  what: string,
  f: (rn: RawNode) => void,
): boolean {
  if (n === undefined || !n.alive || n.pausedUntil > h.now) return false;
  const res = n.call(f);
  if (res.err !== undefined) h.coreError(res.err, `${what} on node ${n.id}`);
  return res.ok;
}

/** clientOf maps an operation's b argument onto one of the CLIENTS clients. */
export function clientOf(b: number): number {
  return Math.floor(b / 10) % CLIENTS;
}

function write(h: FaultHost, kind: 'put' | 'delete' | 'cas', ev: SimEvent): void {
  const n = h.ref(ev.a);
  const client = clientOf(ev.b);
  if (n === undefined || !n.alive || n.pausedUntil > h.now) return;
  if (!h.clients.available(client)) return;
  const cmd = h.clients.writeInput(kind, keyName(h.options, ev.b));
  const data = encodeCommand(cmd);
  const at = h.clients.callTime();
  if (call(h, n, 'propose', (rn) => rn.propose(data))) h.clients.beginWrite(cmd, n, client, at);
}

function read(h: FaultHost, ev: SimEvent): void {
  const n = h.ref(ev.a);
  const client = clientOf(ev.b);
  if (n === undefined || !n.alive || n.pausedUntil > h.now) return;
  if (!h.clients.available(client)) return;
  const ctx = h.clients.beginRead(n, keyName(h.options, ev.b), client);
  call(h, n, 'readIndex', (rn) => rn.readIndex(ctx));
}

const enc = new TextEncoder();

/** burst proposes filler entries: they lengthen logs (say, on both sides of a split). */
function burst(h: FaultHost, ev: SimEvent): void {
  const n = h.ref(ev.a);
  const data = Array.from({ length: (ev.b % 64) + 1 }, (_, i) =>
    enc.encode(`filler@${ev.at}#${i}`),
  );
  call(h, n, 'proposeBatch', (rn) => rn.proposeBatch(data));
}

function crash(h: FaultHost, ev: SimEvent): void {
  const n = h.ref(ev.a);
  if (n === undefined || !n.alive) return;
  const at = ev.b % 4;
  h.remembered = n;
  h.stats.crashes++;
  if (at === 0) n.crash();
  else n.armed = at as CrashPoint;
}

function restart(h: FaultHost, a: number): void {
  const down = h.nodes.filter((n) => !n.alive && !n.decommissioned);
  const n = down[a % Math.max(1, down.length)];
  if (n === undefined) return;
  n.start();
  h.stats.restarts++;
}

function partition(h: FaultHost, ev: SimEvent): void {
  const net = h.network;
  const all = h.nodes.filter((n) => !n.decommissioned).map((n) => n.id);
  switch (ev.kind) {
    case EventKind.Partition:
      net.heal();
      net.partition(new Set(all.filter((_, i) => ((ev.a >> i) & 1) === 1)), all);
      return;
    case EventKind.SplitLeader: {
      const l = h.leader();
      if (l === undefined) return;
      h.remembered = l;
      net.heal();
      const others = all.filter((id) => id !== l.id);
      const start = ev.b % Math.max(1, others.length);
      const rotated = [...others.slice(start), ...others.slice(0, start)];
      net.partition(new Set([l.id, ...rotated.slice(0, ev.a % 3)]), all);
      return;
    }
    case EventKind.Isolate: {
      const n = h.ref(ev.a);
      if (n === undefined) return;
      h.remembered = n;
      net.partition(new Set([n.id]), all);
      return;
    }
    case EventKind.OneWay: {
      const x = h.ref(ev.a);
      const y = h.ref(ev.b);
      if (x !== undefined && y !== undefined) net.cutLink(x.id, y.id);
      return;
    }
    default:
      net.heal();
  }
}

function conditions(h: FaultHost, ev: SimEvent): void {
  const c = h.network.conditions;
  if (ev.kind === EventKind.Chaos) {
    c.dropPm = Math.min(ev.a, 500);
    c.dupPm = Math.min(ev.b, 500);
  } else {
    c.maxDelay = Math.max(c.minDelay, ev.a % 301);
    c.longPm = Math.min(ev.b, 500);
  }
}

function transfer(h: FaultHost, a: number): void {
  const l = h.leader();
  const t = h.ref(a);
  if (l === undefined || t === undefined) return;
  if (call(h, l, 'transferLeader', (rn) => rn.transferLeader(t.id))) h.stats.transfers++;
}

/** Proposal is a membership change to propose, and the new node it needs, if any. */
interface Proposal {
  cc: ConfChange | ConfChangeV2;
  fresh?: number;
}

/**
 * confChange proposes a valid membership change on the leader: checked with the Changer
 * against the leader's configuration, and keeping at least min(3, current) voters on both
 * sides. A new node is started (with an empty disk) before its addition is proposed.
 */
function confChange(h: FaultHost, a: number, b: number): void {
  const l = h.leader();
  const r = l?.raft;
  if (l === undefined || r === undefined) return;
  const p = pickChange(h, a, b);
  const protect = h.options.protectSoleVoter === true;
  if (p === undefined || !validChange(r.trk, r.raftLog.lastIndex(), p.cc, protect)) return;
  if (p.fresh !== undefined && h.addNode(p.fresh) === undefined) return;
  if (call(h, l, 'proposeConfChange', (rn) => rn.proposeConfChange(p.cc))) h.stats.confChanges++;
}

function pickChange(h: FaultHost, a: number, b: number): Proposal | undefined {
  const cfg = h.leader()?.raft?.trk.config;
  if (cfg === undefined) return undefined;
  if (cfg.voters.outgoing.size() > 0) {
    // Joint: the only allowed change is leaving it (raft does it itself under autoLeave).
    if (cfg.autoLeave) return undefined;
    return { cc: v2(ConfChangeTransition.ConfChangeTransitionAuto, []) };
  }
  const voters = [...cfg.voters.incoming];
  const learners = [...(cfg.learners ?? [])].sort((x, y) => x - y);
  const fresh = h.nextNodeId();
  const voter = voters[b % voters.length];
  const learner = learners[b % Math.max(1, learners.length)];
  const T = ConfChangeType;
  const single = (type: ConfChangeType, nodeId: number, extra?: number): Proposal => {
    const p: Proposal = { cc: simple(b, type, nodeId) };
    if (extra !== undefined) p.fresh = extra;
    return p;
  };
  switch (a % 7) {
    case 0:
      return single(T.ConfChangeAddLearnerNode, fresh, fresh);
    case 1:
      return learner === undefined ? undefined : single(T.ConfChangeAddNode, learner);
    case 2:
      return voter === undefined ? undefined : single(T.ConfChangeRemoveNode, voter);
    case 3:
      return learner === undefined ? undefined : single(T.ConfChangeRemoveNode, learner);
    case 4: {
      // Replace a voter by a learner (or a new node) through a joint configuration.
      if (voter === undefined) return undefined;
      const add = learner ?? fresh;
      const cc = v2(transition(b), [
        { type: T.ConfChangeAddNode, nodeId: add },
        { type: T.ConfChangeRemoveNode, nodeId: voter },
      ]);
      return add === fresh ? { cc, fresh } : { cc };
    }
    case 5:
      // Demote a voter to learner through a joint configuration.
      if (voter === undefined) return undefined;
      return { cc: v2(transition(b), [{ type: T.ConfChangeAddLearnerNode, nodeId: voter }]) };
    default:
      return single(T.ConfChangeAddNode, fresh, fresh);
  }
}

function transition(b: number): ConfChangeTransition {
  const t = ConfChangeTransition;
  return [
    t.ConfChangeTransitionAuto,
    t.ConfChangeTransitionJointImplicit,
    t.ConfChangeTransitionJointExplicit,
  ][Math.floor(b / 2) % 3] as ConfChangeTransition;
}

function v2(t: ConfChangeTransition, changes: ConfChangeSingle[]): ConfChangeV2 {
  return { transition: t, changes };
}

/** simple builds a one-change proposal, as a legacy ConfChange or a ConfChangeV2 (by b). */
function simple(b: number, type: ConfChangeType, nodeId: number): ConfChange | ConfChangeV2 {
  if (b % 2 === 0) return { type, nodeId, id: 0 };
  return v2(ConfChangeTransition.ConfChangeTransitionAuto, [{ type, nodeId }]);
}

/** validChange applies cc to a copy of the configuration and checks the voter counts. */
function validChange(
  trk: ConstructorParameters<typeof Changer>[0],
  lastIndex: number,
  cc: ConfChange | ConfChangeV2,
  protectSoleVoter: boolean,
): boolean {
  const before = trk.config.voters.incoming.size();
  const min = Math.min(3, before);
  try {
    const ch = new Changer(trk, lastIndex);
    const c = confChangeAsV2(cc);
    let out;
    if (leaveJoint(c)) out = ch.leaveJoint();
    else {
      const j = enterJoint(c);
      out = j.ok ? ch.enterJoint(j.autoLeave, ...c.changes) : ch.simple(...c.changes);
    }
    const v = out[0].voters;
    // KNOWN CORE BUG (test/sim/regression_removed_leader_singleton_readindex.test.ts): a
    // leader removed from a one-voter configuration answers ReadIndex on its own.
    const sole = protectSoleVoter && before === 1 ? [...trk.config.voters.incoming][0] : undefined;
    if (sole !== undefined && ![...v.incoming].includes(sole)) return false;
    return v.incoming.size() >= min && (v.outgoing.size() === 0 || v.outgoing.size() >= min);
  } catch {
    return false;
  }
}
