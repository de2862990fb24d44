import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfState } from '../raftpb/types.ts';
import type { Transport } from './interfaces.ts';
import { PeerBook, isJoint, members } from './peers.ts';

function cs(voters: number[], more: Partial<ConfState> = {}): ConfState {
  return { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...more };
}

function recorder(): { t: Transport; log: string[] } {
  const log: string[] = [];
  const t: Transport = {
    start: () => Promise.resolve(),
    send: () => undefined,
    addPeer: (id, a) => void log.push(`+${id}=${a}`),
    removePeer: (id) => void log.push(`-${id}`),
    close: () => Promise.resolve(),
    closed: () => Promise.resolve(),
  };
  return { t, log };
}

void describe('PeerBook', () => {
  void it('links members as their addresses become known, never itself', () => {
    const { t, log } = recorder();
    const b = new PeerBook(1, t);
    b.learn(new Map([[1, 'a1']]));
    b.sync(cs([1]));
    b.learn(new Map([[2, 'a2']]));
    b.sync(cs([1, 2]));
    b.sync(cs([1, 2]));
    assert.deepEqual(log, ['+2=a2']);
  });

  void it('keeps seeded peers through a replayed bootstrap, removes members once dropped', () => {
    const { t, log } = recorder();
    const b = new PeerBook(1, t);
    b.learn(
      new Map([
        [2, 'a2'],
        [3, 'a3'],
      ]),
    );
    b.link(2);
    b.link(3);
    b.sync(cs([1]));
    b.sync(cs([1, 2]));
    b.sync(cs([1, 2, 3]));
    assert.deepEqual(log, ['+2=a2', '+3=a3']);
    b.sync(cs([1, 2], { votersOutgoing: [1, 2, 3] }));
    assert.deepEqual(log, ['+2=a2', '+3=a3'], 'still needed by the outgoing quorum');
    b.sync(cs([1, 2]));
    assert.deepEqual(log, ['+2=a2', '+3=a3', '-3']);
    assert.equal(b.address(3), undefined);
  });

  void it('moves a peer whose address changes and names members for snapshots', () => {
    const { t, log } = recorder();
    const b = new PeerBook(1, t);
    b.learn(new Map([[2, 'old']]));
    b.sync(cs([1, 2]));
    b.learn(new Map([[2, 'new']]));
    b.sync(cs([1, 2], { learners: [4] }));
    assert.deepEqual(log, ['+2=old', '-2', '+2=new']);
    assert.deepEqual(b.snapshotBook(cs([1, 2])), new Map([[2, 'new']]));
    assert.deepEqual(
      [...members(cs([1], { learners: [4], votersOutgoing: [3] }))].sort(),
      [1, 3, 4],
    );
    assert.equal(isJoint(cs([1], { votersOutgoing: [1] })), true);
  });
});
