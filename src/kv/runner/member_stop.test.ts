// When a member stops on its peers' refusals (member.ts, refusedAsRemoved): removed-member
// answers from a majority of the peers it knows, or from the last leader it heard of.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerRefusal } from '../../transport/refusal.ts';
import { refusedAsRemoved } from './member.ts';

function refusal(peer: number, removedBy: number[], peers: number, reason = 'removed-member') {
  return { peer, reason, detail: '', removedBy, peers } satisfies PeerRefusal;
}

test('refusedAsRemoved: a majority of the known peers, or the last leader', () => {
  const cases: [PeerRefusal, number, boolean][] = [
    [refusal(2, [2], 2), 0, false], // one of two peers, leader unknown
    [refusal(2, [2], 2), 3, false], // one of two, not the leader
    [refusal(3, [3], 2), 3, true], // the last leader
    [refusal(3, [2, 3], 2), 0, true], // both peers
    [refusal(3, [2, 3], 4), 5, false], // two of four
    [refusal(4, [2, 3, 4], 4), 0, true], // three of four
    [refusal(3, [], 2, 'wrong-cluster'), 3, false], // another reason, even from the leader
    [refusal(3, [2], 2, 'unknown-member'), 0, false],
  ];
  for (const [r, leader, want] of cases) {
    assert.equal(refusedAsRemoved(r, leader), want, JSON.stringify({ r, leader }));
  }
});
