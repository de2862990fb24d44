/**
 * Regression (core bug, fixed): a leader removed from the configuration answers ReadIndex
 * on its own when the new configuration has a single voter, even though that voter is
 * another node, which may already lead a newer term and have committed newer writes.
 *
 * stepLeader, MsgReadIndex: `if (r.trk.isSingleton())` answers at once with
 * raftLog.committed. isSingleton() only checks that the configuration has one voter, not
 * that the voter is this node. With stepDownOnRemoval false, a leader that applied its own
 * removal ({1} -> joint (2)&&(1) -> (2)) stays leader of its term; once it is cut off, node
 * 2 elects itself in a newer term and commits writes, while node 1 keeps answering reads
 * from its stale commit index: a stale read. (The multi-voter path confirms leadership
 * with a heartbeat quorum and is safe.) etcd-raft has the same check.
 *
 * Found by `npm run sim` seed 1612 (before the simulator stopped replacing the sole voter
 * of a one-voter configuration), invariant stale-read; shrunk to the 4 events below:
 *   164ms conf a=753 (753 % 7 = 4: joint change "add node 2, remove node 1", auto-leave)
 *   165ms isolate node 1, the removed leader
 *   302ms put through node 2 (elected alone in term 3): committed and acknowledged at 6
 *   303ms read through node 1: ReadState index 4 at once, the value before the put
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { violationsOf } from './regressions/replay.ts';

const SHRUNK = `{"name":"chaos","seed":0,"options":{"voters":1,"preVote":false,"checkQuorum":false,
"stepDownOnRemoval":false,"heartbeatTick":1,"maxSizePerMsg":0,"maxInflightMsgs":1,"snapEvery":3,
"snapKeep":0,"persistMs":0,"applyMs":0,"minDelay":0,"maxDelay":0,"dropPm":0,"dupPm":0,"longPm":0,
"lazyCommit":false,"keys":1},"duration":304,"settle":8000,"events":[
{"at":302,"kind":"put","a":465,"b":0},{"at":303,"kind":"read","a":0,"b":0},
{"at":164,"kind":"conf","a":753,"b":0},{"at":165,"kind":"isolate","a":0,"b":0}]}`;

void test('a leader removed from a one-voter configuration does not serve stale reads', () => {
  assert.deepEqual(violationsOf(SHRUNK), []);
});
