/**
 * Regression (core bug, fixed): a single-voter leader answers ReadIndex at once with its
 * commit index, but after a restart that index may be older than writes it acknowledged.
 *
 * RawNode.ready() marks a HardState that only moves the commit index with mustSync false,
 * and mustSync() documents that "the commit index may be recovered after a crash". A crash
 * can therefore take the durable commit index back below an index whose entry was applied
 * and acknowledged. After the restart the node campaigns, wins alone, and (stepLeader,
 * MsgReadIndex, `trk.isSingleton()` branch) answers a ReadIndex with raftLog.committed
 * before its first entry of the new term is committed; that commit index is stale, so the
 * read misses the acknowledged write. The multi-voter path waits for
 * committedEntryInCurrentTerm() and is safe. etcd-raft has the same code (etcd-io/raft#105).
 *
 * Found by `npm run sim` (seed 1446 before single-voter clusters stopped using lazy commit
 * syncing), invariant stale-read; the schedule below is the shrunk one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { discardLogger } from '../../src/raft/logger.ts';
import { RawNode } from '../../src/raft/rawnode.ts';
import { MemoryStorage } from '../../src/raft/storage.ts';
import { handleAll, handleReady, violationsOf } from './regressions/replay.ts';

function newNode(storage: MemoryStorage): RawNode {
  return new RawNode({
    id: 1,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    maxInflightMsgs: 256,
    logger: discardLogger,
    applied: 0,
  });
}

void test('single voter: ReadIndex after a restart sees the acknowledged write', {}, () => {
  const storage = new MemoryStorage();
  let rn = newNode(storage);
  rn.bootstrap([{ id: 1 }]);
  handleAll(rn, storage, true);
  rn.campaign();
  handleAll(rn, storage, true); // leader of term 2, entries 1..2 committed
  rn.propose(new TextEncoder().encode('x'));
  handleAll(rn, storage, false); // entry 3 durable, committed, applied: the write is acknowledged
  assert.equal(rn.raft.raftLog.applied, 3);
  assert.equal(
    storage.initialState().hardState.commit,
    2,
    'the commit-only HardState was not synced',
  );

  rn = newNode(storage); // crash and restart
  handleAll(rn, storage, true); // re-applies the committed entries 1..2
  rn.campaign();
  handleReady(rn, storage, true); // the vote is durable: now leader, entry 4 not yet committed
  assert.equal(rn.raft.state, 2);
  rn.readIndex(new TextEncoder().encode('read'));
  const rs = rn.ready().readStates;
  assert.equal(rs.length, 1);
  assert.ok(
    (rs[0]?.index ?? 0) >= 3,
    `read index ${rs[0]?.index} misses the write acknowledged at 3`,
  );
});

const SHRUNK = `{"name":"chaos","seed":0,"options":{"voters":1,"preVote":false,"checkQuorum":false,
"stepDownOnRemoval":false,"heartbeatTick":1,"maxSizePerMsg":0,"maxInflightMsgs":1,"snapEvery":3,
"snapKeep":0,"persistMs":1,"applyMs":0,"minDelay":0,"maxDelay":0,"dropPm":0,"dupPm":0,"longPm":0,
"lazyCommit":true,"keys":1},"duration":358,"settle":8000,"events":[
{"at":165,"kind":"put","a":0,"b":0},{"at":357,"kind":"read","a":0,"b":0},
{"at":167,"kind":"crash","a":0,"b":0},{"at":169,"kind":"restart","a":0,"b":0}]}`;

void test('the shrunk simulation schedule reads no stale value', {}, () => {
  assert.deepEqual(violationsOf(SHRUNK), []);
});
