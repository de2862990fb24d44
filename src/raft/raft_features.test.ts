// Features of etcd-raft beyond the paper's §5, including those the etcd datadriven files do
// not cover: ReadIndex (safe and lease-based), MaxUncommittedEntriesSize,
// DisableProposalForwarding, ReportSnapshot, MaxSizePerMsg, MaxInflightBytes, leadership
// transfer, membership changes (the paper's §6) and restart from persisted state.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfChangeTransition, ConfChangeType, MessageType, newMessage } from '../raftpb/types.ts';
import type { Message } from '../raftpb/types.ts';
import { Network } from '../rafttest/network.ts';
import { StateType as PrState } from '../tracker/state.ts';
import { ReadOnlyOption } from './config.ts';
import { ErrConfigInvalid, ErrProposalDropped } from './errors.ts';
import { RawNode, SnapshotStatus } from './rawnode.ts';
import { StateType } from './ready.ts';
import { MemoryStorage } from './storage.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('ReadIndex', () => {
  test('safe: the leader answers after a heartbeat round with its commit index', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.propose(1, 'a');
    net.stabilize();
    const leader = net.node(1);
    leader.rn.readIndex(enc('req-1'));
    // Before the heartbeat round completes, nothing is answered.
    assert.equal(leader.readStates.length, 0);
    assert.ok(leader.rn.raft.msgs.some((m) => m.type === MessageType.MsgHeartbeat));
    net.stabilize();
    assert.equal(leader.readStates.length, 1);
    assert.equal(dec(leader.readStates[0]!.requestCtx), 'req-1');
    assert.equal(leader.readStates[0]!.index, leader.rn.raft.raftLog.committed);
  });

  test('safe: an isolated leader cannot confirm a read', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.isolate(1);
    net.node(1).rn.readIndex(enc('stale?'));
    net.tick(3, [1]);
    assert.equal(net.node(1).readStates.length, 0);
  });

  test('a follower forwards its read to the leader and gets the answer', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.node(3).rn.readIndex(enc('from-3'));
    net.stabilize();
    const rs = net.node(3).readStates;
    assert.equal(rs.length, 1);
    assert.equal(dec(rs[0]!.requestCtx), 'from-3');
    assert.equal(rs[0]!.index, net.node(1).rn.raft.raftLog.committed);
  });

  test('a new leader answers reads only after it commits an entry of its term', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    // Node 1 wins the election but its empty entry is not acknowledged yet.
    net.dropIf = (m) => m.type === MessageType.MsgAppResp;
    net.node(1).rn.raft.becomeFollower(net.node(1).rn.raft.term, 0);
    net.campaign(1);
    const r = net.node(1).rn.raft;
    assert.equal(r.state, StateType.StateLeader);
    assert.equal(r.committedEntryInCurrentTerm(), false);
    net.node(1).rn.readIndex(enc('wait'));
    net.stabilize();
    assert.equal(net.node(1).readStates.length, 0);
    assert.equal(r.pendingReadIndexMessages.length, 1);
    net.heal();
    net.tick(1, [1]);
    assert.equal(net.node(1).readStates.length, 1);
  });

  test('lease-based: answered at once, without a heartbeat round', () => {
    const net = new Network({
      voters: [1, 2, 3],
      config: { checkQuorum: true, readOnlyOption: ReadOnlyOption.ReadOnlyLeaseBased },
    });
    net.campaign(1);
    const leader = net.node(1);
    leader.rn.readIndex(enc('lease'));
    assert.ok(!leader.rn.raft.msgs.some((m) => m.type === MessageType.MsgHeartbeat));
    net.stabilize();
    assert.equal(leader.readStates.length, 1);
  });

  test('lease-based reads need CheckQuorum', () => {
    assert.throws(
      () =>
        new RawNode({
          id: 1,
          electionTick: 10,
          heartbeatTick: 1,
          storage: new MemoryStorage(),
          maxInflightMsgs: 1,
          readOnlyOption: ReadOnlyOption.ReadOnlyLeaseBased,
        }),
      ErrConfigInvalid,
    );
  });
});

describe('proposals', () => {
  test('MaxUncommittedEntriesSize bounds the log of a leader that lost its quorum', () => {
    const net = new Network({ voters: [1, 2, 3], config: { maxUncommittedEntriesSize: 1024 } });
    net.campaign(1);
    net.isolate(1);
    const payload = new Uint8Array(100);
    let accepted = 0;
    for (let i = 0; i < 50; i++) {
      try {
        net.node(1).rn.propose(payload);
        accepted++;
      } catch (err) {
        assert.ok(err instanceof ErrProposalDropped);
      }
    }
    assert.equal(accepted, 10, '10 x 100 B fit in 1024 B, the 11th does not');
    net.heal();
    net.tick(3);
    // Once committed, the budget is free again.
    net.node(1).rn.propose(payload);
  });

  test('DisableProposalForwarding makes a follower refuse proposals', () => {
    const net = new Network({ voters: [1, 2, 3], config: { disableProposalForwarding: true } });
    net.campaign(1);
    assert.throws(() => net.node(2).rn.propose(enc('x')), ErrProposalDropped);
    assert.equal(net.node(2).rn.raft.msgs.length, 0);
  });

  test('proposals on a follower are forwarded to the leader by default', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    assert.ok(net.propose(2, 'via-2'));
    net.stabilize();
    assert.deepEqual(net.appliedData(1), ['via-2']);
  });

  test('MaxSizePerMsg limits the entries of one append', () => {
    const net = new Network({ voters: [1, 2], config: { maxSizePerMsg: 1000 } });
    net.campaign(1);
    net.isolate(2);
    for (let i = 0; i < 10; i++) net.node(1).rn.propose(new Uint8Array(300));
    net.stabilize();
    net.heal();
    const seen: Message[] = [];
    net.dropIf = (m) => {
      if (m.type === MessageType.MsgApp) seen.push(m);
      return false;
    };
    net.tick(2, [1]);
    const sizes = seen.filter((m) => m.entries.length > 0).map((m) => m.entries.length);
    assert.ok(sizes.length >= 3, `appends ${JSON.stringify(sizes)}`);
    for (const n of sizes) assert.ok(n <= 3, `an append carried ${n} entries`);
  });

  test('MaxInflightBytes pauses a follower until acks free the window', () => {
    const net = new Network({
      voters: [1, 2],
      config: { maxSizePerMsg: 100, maxInflightBytes: 300 },
    });
    net.campaign(1);
    const pr = net.node(1).rn.raft.trk.progress.get(2)!;
    net.dropIf = (m) => m.type === MessageType.MsgAppResp;
    for (let i = 0; i < 10; i++) net.node(1).rn.propose(new Uint8Array(100));
    net.stabilize();
    assert.ok(pr.inflights.full(), 'window full');
    assert.ok(pr.inflights.count() <= 3);
    net.heal();
    net.tick(3, [1]);
    assert.equal(pr.match, net.node(1).rn.raft.raftLog.lastIndex());
  });
});

describe('snapshots', () => {
  test('a follower behind the compacted log is caught up by a snapshot', () => {
    const net = new Network({ voters: [1, 2, 3], compactEvery: 5 });
    net.campaign(1);
    net.isolate(3);
    for (let i = 0; i < 20; i++) net.propose(1, `e${i}`);
    net.stabilize();
    assert.ok(net.node(1).storage.firstIndex() > 2, 'leader compacted');
    net.heal();
    net.tick(3);
    const n3 = net.node(3);
    assert.ok(n3.storage.snapshot().metadata.index > 0, 'follower restored a snapshot');
    assert.equal(n3.rn.raft.raftLog.committed, net.node(1).rn.raft.raftLog.committed);
  });

  test('ReportSnapshot: success and failure both move the follower back to probe, paused', () => {
    for (const status of [SnapshotStatus.SnapshotFinish, SnapshotStatus.SnapshotFailure]) {
      const net = new Network({ voters: [1, 2, 3], compactEvery: 3 });
      net.campaign(1);
      net.isolate(3);
      for (let i = 0; i < 10; i++) net.propose(1, `e${i}`);
      net.stabilize();
      net.heal();
      net.dropIf = (m) => m.type === MessageType.MsgSnap;
      net.tick(1, [1]);
      const pr = net.node(1).rn.raft.trk.progress.get(3)!;
      assert.equal(pr.state, PrState.StateSnapshot);
      net.node(1).rn.reportSnapshot(3, status);
      assert.equal(pr.state, PrState.StateProbe);
      assert.equal(pr.msgAppFlowPaused, true);
      if (status === SnapshotStatus.SnapshotFailure) assert.equal(pr.pendingSnapshot, 0);
    }
  });
});

describe('leadership transfer', () => {
  test('the leader catches the transferee up, then sends MsgTimeoutNow', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.isolate(3);
    net.propose(1, 'a');
    net.stabilize();
    net.heal();
    net.node(1).rn.transferLeader(3);
    net.stabilize();
    assert.deepEqual(net.leaders(), [3]);
    assert.equal(net.node(1).rn.raft.state, StateType.StateFollower);
  });

  test('proposals are refused while a transfer is in progress, and it aborts after a timeout', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.isolate(3);
    const r = net.node(1).rn.raft;
    net.node(1).rn.transferLeader(3);
    net.stabilize();
    assert.equal(r.leadTransferee, 3);
    assert.throws(() => net.node(1).rn.propose(enc('x')), ErrProposalDropped);
    net.tick(r.electionTimeout, [1]);
    assert.equal(r.leadTransferee, 0);
    assert.equal(r.state, StateType.StateLeader);
    net.node(1).rn.propose(enc('after'));
  });

  test('a transfer to a learner is ignored', () => {
    const net = new Network({ voters: [1, 2], learners: [3] });
    net.campaign(1);
    net.node(1).rn.transferLeader(3);
    net.stabilize();
    assert.deepEqual(net.leaders(), [1]);
  });
});

describe('membership (§6)', () => {
  test('a new voter (v1 change) joins, catches up and counts for the quorum', () => {
    const net = new Network({ voters: [1, 2, 3], compactEvery: 2 });
    net.campaign(1);
    for (let i = 0; i < 5; i++) net.propose(1, `e${i}`);
    net.stabilize();
    net.addNode(4, false);
    net.node(1).rn.proposeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 4, id: 0 });
    net.stabilize();
    net.tick(3);
    assert.deepEqual(net.node(1).confState.voters, [1, 2, 3, 4]);
    assert.equal(net.node(4).rn.raft.raftLog.committed, net.node(1).rn.raft.raftLog.committed);
  });

  test('joint consensus needs majorities of both configurations', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    net.addNode(4, false);
    net.addNode(5, false);
    net.node(1).rn.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionJointExplicit,
      changes: [
        { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 2 },
        { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3 },
        { type: ConfChangeType.ConfChangeAddNode, nodeId: 4 },
        { type: ConfChangeType.ConfChangeAddNode, nodeId: 5 },
      ],
    });
    net.stabilize();
    const r = net.node(1).rn.raft;
    assert.ok(r.trk.config.voters.isJoint());
    // With the old config's 2 and 3 cut off, the new majority (1, 4, 5) is not enough.
    net.isolate(2);
    net.isolate(3);
    const before = r.raftLog.committed;
    net.propose(1, 'needs-both');
    net.stabilize();
    assert.equal(r.raftLog.committed, before);
    net.heal();
    net.tick(2, [1]);
    assert.ok(r.raftLog.committed > before);
    // Leaving the joint config: the old members no longer count.
    net.node(1).rn.proposeConfChange({ transition: 0, changes: [] });
    net.stabilize();
    assert.deepEqual(net.node(1).confState.voters, [1, 4, 5]);
    assert.ok(!r.trk.config.voters.isJoint());
  });

  test('learners receive the log but neither vote nor count for commit', () => {
    const net = new Network({ voters: [1, 2], learners: [3] });
    net.campaign(1);
    net.isolate(2);
    const r = net.node(1).rn.raft;
    const before = r.raftLog.committed;
    net.propose(1, 'x');
    net.stabilize();
    assert.equal(r.raftLog.committed, before, 'a learner ack does not commit');
    const l = net.node(3).rn.raft;
    l.tick();
    for (let i = 0; i < 3 * l.electionTimeout; i++) l.tick();
    assert.notEqual(l.state, StateType.StateCandidate);
    // Promote the learner: it now counts.
    net.heal();
    net.node(1).rn.proposeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 3, id: 0 });
    net.stabilize();
    assert.deepEqual(net.node(1).confState.voters, [1, 2, 3]);
  });

  test('a removed leader steps down with StepDownOnRemoval', () => {
    const net = new Network({ voters: [1, 2, 3], config: { stepDownOnRemoval: true } });
    net.campaign(1);
    net
      .node(1)
      .rn.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 1, id: 0 });
    net.stabilize();
    assert.equal(net.node(1).rn.raft.state, StateType.StateFollower);
    net.tick(30, [2, 3]);
    assert.equal(net.leaders().filter((id) => id !== 1).length, 1);
  });
});

describe('restart', () => {
  test('a node restarts from its persisted HardState and log', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    for (const v of ['a', 'b']) net.propose(1, v);
    net.stabilize();
    const old = net.node(2).rn.raft;
    const before = {
      term: old.term,
      vote: old.vote,
      commit: old.raftLog.committed,
      last: old.raftLog.lastIndex(),
    };
    const n2 = net.restart(2);
    const r = n2.rn.raft;
    assert.deepEqual(
      { term: r.term, vote: r.vote, commit: r.raftLog.committed, last: r.raftLog.lastIndex() },
      before,
    );
    assert.equal(r.state, StateType.StateFollower);
    // Nothing is applied twice: applied starts at the persisted applied index.
    assert.equal(r.raftLog.applied, before.commit);
    net.propose(1, 'c');
    net.stabilize();
    assert.deepEqual(net.appliedData(2), ['c']);
  });

  test('a restarted leader remembers its term and vote and does not vote twice', () => {
    const net = new Network({ voters: [1, 2, 3] });
    net.campaign(1);
    const n1 = net.restart(1);
    const r = n1.rn.raft;
    assert.equal(r.term, 1);
    assert.equal(r.vote, 1);
    r.step(
      newMessage({ type: MessageType.MsgVote, from: 2, to: 1, term: 1, index: 99, logTerm: 1 }),
    );
    assert.equal(r.msgsAfterAppend.find((m) => m.type === MessageType.MsgVoteResp)?.reject, true);
  });
});

describe('config', () => {
  test('maxSizePerMsg 0 (one entry per message) still applies entries, one per Ready', () => {
    const s = MemoryStorage.withConfState({
      voters: [1],
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    });
    const rn = new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage: s,
      maxInflightMsgs: 1,
    });
    rn.campaign();
    let committedReadys = 0;
    for (let i = 0; i < 10 && rn.hasReady(); i++) {
      const rd = rn.ready();
      s.append(rd.entries);
      if (rd.committedEntries.length > 0) {
        assert.equal(rd.committedEntries.length, 1);
        committedReadys++;
      }
      rn.advance();
    }
    assert.equal(committedReadys, 1);
  });
});
