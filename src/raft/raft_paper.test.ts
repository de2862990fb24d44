// The claims of the Raft paper's §5 (Ongaro and Ousterhout, "In Search of an Understandable
// Consensus Algorithm"), one test each, checked on whole clusters of RawNodes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MessageType, newMessage } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import { Network } from '../rafttest/network.ts';
import { StateType } from './ready.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('§5.1 terms', () => {
  test('a node that sees a higher term adopts it and reverts to follower', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    const r = net.node(1).rn.raft;
    assert.equal(r.state, StateType.StateLeader);
    r.step(newMessage({ type: MessageType.MsgApp, from: 2, to: 1, term: r.term + 5 }));
    assert.equal(r.state, StateType.StateFollower);
    assert.equal(r.term, 6);
    assert.equal(r.lead, 2);
  });

  test('a message with a stale term is ignored', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.campaign(2); // term 2, node 2 leads
    const r = net.node(3).rn.raft;
    const before = { term: r.term, lead: r.lead, last: r.raftLog.lastIndex() };
    r.step(
      newMessage({
        type: MessageType.MsgApp,
        from: 1,
        to: 3,
        term: 1,
        index: before.last,
        logTerm: r.raftLog.term(before.last),
        entries: [{ term: 1, index: before.last + 1, type: 0, data: enc('stale') }],
      }),
    );
    assert.deepEqual({ term: r.term, lead: r.lead, last: r.raftLog.lastIndex() }, before);
  });
});

describe('§5.2 leader election', () => {
  test('a follower starts an election after its election timeout and votes for itself', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const r = net.node(1).rn.raft;
    for (let i = 0; i < 2 * r.electionTimeout; i++) r.tick();
    assert.equal(r.state, StateType.StateCandidate);
    assert.equal(r.term, 1);
    assert.equal(r.vote, 1);
    const votes = r.msgs.filter((m: Message) => m.type === MessageType.MsgVote);
    assert.deepEqual(
      votes.map((m) => m.to),
      [2, 3],
    );
  });

  test('randomized election timeouts lie in [electionTimeout, 2*electionTimeout)', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const r = net.node(1).rn.raft;
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      r.resetRandomizedElectionTimeout();
      const t = r.randomizedElectionTimeout;
      assert.ok(t >= r.electionTimeout && t < 2 * r.electionTimeout, `timeout ${t}`);
      seen.add(t);
    }
    assert.ok(seen.size > 5, 'timeouts are spread');
  });

  test('a candidate with votes from a majority becomes leader; others follow it', () => {
    for (const size of [1, 3, 5]) {
      const ids = Array.from({ length: size }, (_, i) => i + 1);
      const net = new Network({ voters: ids });
      net.campaign(1);
      assert.deepEqual(net.leaders(), [1], `size ${size}`);
      for (const id of ids) assert.equal(net.node(id).rn.raft.lead, 1);
    }
  });

  test('without a majority of votes a candidate does not win', () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5] });
    net.isolate(1);
    net.cutLink(3, 1);
    net.campaign(1);
    assert.equal(net.node(1).rn.raft.state, StateType.StateCandidate);
  });

  test('each node grants at most one vote per term, and the vote is persisted', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const r3 = net.node(3).rn.raft;
    r3.step(
      newMessage({ type: MessageType.MsgVote, from: 1, to: 3, term: 1, index: 1, logTerm: 1 }),
    );
    r3.step(
      newMessage({ type: MessageType.MsgVote, from: 2, to: 3, term: 1, index: 1, logTerm: 1 }),
    );
    const resps = r3.msgsAfterAppend.filter((m) => m.type === MessageType.MsgVoteResp);
    assert.deepEqual(
      resps.map((m) => [m.to, m.reject]),
      [
        [1, false],
        [2, true],
      ],
    );
    net.stabilize();
    assert.equal(net.node(3).storage.initialState().hardState.vote, 1);
    // After a crash, the persisted vote still refuses a second candidate in the same term.
    const n3 = net.restart(3);
    n3.rn.raft.step(
      newMessage({ type: MessageType.MsgVote, from: 2, to: 3, term: 1, index: 1, logTerm: 1 }),
    );
    const again = n3.rn.raft.msgsAfterAppend.filter((m) => m.type === MessageType.MsgVoteResp);
    assert.equal(again[0]?.reject, true);
  });

  test('a candidate that hears from a leader of its term becomes follower', () => {
    const net = new Network({ voters: [1, 2, 3] });
    const r = net.node(2).rn.raft;
    r.becomeCandidate();
    r.step(newMessage({ type: MessageType.MsgApp, from: 1, to: 2, term: r.term }));
    assert.equal(r.state, StateType.StateFollower);
    assert.equal(r.lead, 1);
  });

  test('split votes resolve: with randomized timeouts an election eventually succeeds', () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5] });
    net.tick(100);
    assert.equal(net.leaders().length, 1);
  });
});

describe('§5.3 log replication', () => {
  test('the leader replicates proposals and commits them once a majority has them', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.propose(1, 'a');
    net.propose(1, 'b');
    net.stabilize();
    for (const id of [1, 2, 3]) assert.deepEqual(net.appliedData(id), ['a', 'b']);
  });

  test('an entry on a minority is not committed', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    const committed = net.node(1).rn.raft.raftLog.committed;
    net.isolate(1);
    net.propose(1, 'lonely');
    net.stabilize();
    assert.equal(net.node(1).rn.raft.raftLog.committed, committed);
    assert.deepEqual(net.appliedData(1), []);
  });

  test('followers learn the commit index from later appends or heartbeats', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.propose(1, 'x');
    net.stabilize();
    const commit = net.node(1).rn.raft.raftLog.committed;
    for (const id of [2, 3]) assert.equal(net.node(id).rn.raft.raftLog.committed, commit);
  });

  test('log matching: a follower with a conflicting tail is overwritten by the leader', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    // Node 1 appends entries of term 1 that only it has.
    net.isolate(1);
    net.propose(1, 'lost-1');
    net.propose(1, 'lost-2');
    net.stabilize();
    net.heal();
    net.isolate(1);
    net.campaign(2);
    net.propose(2, 'kept');
    net.stabilize();
    net.heal();
    net.tick(3);
    net.stabilize();
    const dec = new TextDecoder();
    const log1 = net.node(1).storage.ents.map((e) => dec.decode(e.data ?? new Uint8Array()));
    assert.ok(!log1.includes('lost-1') && !log1.includes('lost-2'), log1.join(','));
    for (const id of [1, 2, 3]) assert.deepEqual(net.appliedData(id), ['kept']);
  });

  test('the leader never overwrites or deletes its own entries (leader append-only)', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    const r = net.node(1).rn.raft;
    net.propose(1, 'a');
    net.stabilize();
    const before = r.raftLog.allEntries().map((e) => `${e.term}/${e.index}`);
    // A stale append from an old term is refused and changes nothing.
    r.step(
      newMessage({
        type: MessageType.MsgApp,
        from: 2,
        to: 1,
        term: r.term,
        index: 1,
        logTerm: 1,
        entries: [{ term: 1, index: 2, type: 0, data: enc('evil') }],
      }),
    );
    assert.deepEqual(
      r.raftLog.allEntries().map((e) => `${e.term}/${e.index}`),
      before,
    );
  });
});

describe('§5.4 safety', () => {
  test('election restriction: a voter refuses a candidate whose log is less up to date', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.isolate(3);
    net.propose(1, 'a');
    net.stabilize();
    net.heal();
    // Node 3 missed the entry; node 2 has it and must refuse to vote for 3.
    const r2 = net.node(2).rn.raft;
    const r3 = net.node(3).rn.raft;
    const last3 = r3.raftLog.lastEntryID();
    r2.step(
      newMessage({
        type: MessageType.MsgVote,
        from: 3,
        to: 2,
        term: r2.term + 1,
        index: last3.index,
        logTerm: last3.term,
      }),
    );
    const resp = r2.msgsAfterAppend.find((m) => m.type === MessageType.MsgVoteResp);
    assert.equal(resp?.reject, true);
  });

  test('leader completeness: every committed entry is in the log of every later leader', () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5] });
    const committed: string[] = [];
    for (let round = 0; round < 10; round++) {
      const leader = 1 + (round % 5);
      net.heal();
      net.tick(1);
      net.campaign(leader);
      if (net.node(leader).rn.raft.state !== StateType.StateLeader) continue;
      // Isolate one follower each round, so logs diverge.
      net.isolate(1 + ((round + 2) % 5));
      const v = `v${round}`;
      net.propose(leader, v);
      net.stabilize();
      if (net.appliedData(leader).includes(v)) committed.push(v);
      const log = net.node(leader).rn.raft.raftLog.allEntries();
      const data = log.map((e) => new TextDecoder().decode(e.data ?? new Uint8Array()));
      for (const c of committed) assert.ok(data.includes(c), `leader ${leader} lacks ${c}`);
    }
    assert.ok(committed.length >= 5);
  });

  test('§5.4.2 (Figure 8): entries of an earlier term are not committed by counting replicas', () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5] });
    net.campaign(1);
    const r1 = net.node(1).rn.raft;
    // Term 1: the leader's entry reaches node 2 only.
    for (const id of [3, 4, 5]) net.cutLink(1, id);
    net.propose(1, 'old');
    net.stabilize();
    const i = r1.raftLog.lastIndex();
    // Term 2: node 1 is re-elected, but its appends reach node 2 only.
    net.heal();
    net.dropIf = (m) => m.type === MessageType.MsgApp && m.to >= 3;
    r1.becomeFollower(r1.term, 0); // as after a restart
    net.campaign(1);
    assert.equal(r1.state, StateType.StateLeader);
    assert.equal(r1.term, 2);
    // Node 3 gets just the term-1 entry: now nodes 1, 2 and 3 (a majority) store it...
    const old = r1.raftLog.entries(i, Number.POSITIVE_INFINITY)[0]!;
    assert.equal(old.term, 1);
    const n3 = net.node(3);
    n3.rn.step(
      newMessage({
        type: MessageType.MsgApp,
        from: 1,
        to: 3,
        term: 2,
        index: i - 1,
        logTerm: r1.raftLog.term(i - 1),
        entries: [old],
      }),
    );
    net.stabilize();
    assert.equal(r1.trk.progress.get(3)!.match, i);
    // ...but it is from an earlier term, so counting replicas must not commit it.
    assert.ok(r1.raftLog.committed < i, `committed ${r1.raftLog.committed} >= ${i}`);
    // Once the term-2 entry is on a majority, both commit.
    net.heal();
    net.tick(1, [1]);
    assert.ok(r1.raftLog.committed > i);
  });

  test('state machine safety: all nodes apply the same sequence', () => {
    const net = new Network({ voters: [1, 2, 3, 4, 5] });
    net.campaign(1);
    const newestLeader = (): number | undefined =>
      net.leaders().sort((a, b) => net.node(b).rn.raft.term - net.node(a).rn.raft.term)[0];
    for (let i = 0; i < 20; i++) {
      if (i % 4 === 0) {
        net.isolate(newestLeader() ?? 1);
        net.tick(25);
        net.heal();
        net.tick(2);
      }
      const leader = newestLeader();
      if (leader !== undefined) net.propose(leader, `p${i}`);
      net.stabilize();
    }
    net.tick(30);
    const ref = net.appliedData(1);
    for (const id of [2, 3, 4, 5]) {
      const d = net.appliedData(id);
      const n = Math.min(ref.length, d.length);
      assert.deepEqual(d.slice(0, n), ref.slice(0, n));
    }
    assert.ok(ref.length >= 10, `applied ${ref.length}`);
  });
});

describe('§5.5 follower and candidate crashes', () => {
  test('a follower that crashes and restarts is caught up by the leader', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.isolate(3);
    for (const v of ['a', 'b', 'c']) net.propose(1, v);
    net.stabilize();
    net.restart(3);
    net.heal();
    net.tick(3);
    assert.deepEqual(net.appliedData(3).slice(-3), ['a', 'b', 'c']);
  });

  test('Raft RPCs are idempotent: a duplicated append changes nothing', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.propose(1, 'once');
    const r1 = net.node(1);
    net.processReady(r1);
    const apps = net.queue.filter((m) => m.type === MessageType.MsgApp);
    net.queue.push(...apps.map((m) => ({ ...m })));
    net.stabilize();
    for (const id of [1, 2, 3]) assert.deepEqual(net.appliedData(id), ['once']);
  });
});
