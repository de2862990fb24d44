// refusal(): the messages no correct peer sends are refused with a reason; the ones raft
// sends are not (the simulation also checks every message of 2,000 seeds, test/sim).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageType, newMessage } from '../raftpb/types.ts';
import type { Entry, Message } from '../raftpb/types.ts';
import { refusal } from './validate.ts';

const T = MessageType;

function entry(index: number, term: number): Entry {
  return { index, term, type: 0, data: new Uint8Array(0) };
}

function msg(init: Partial<Message> & { type: Message['type'] }): Message {
  return newMessage({ to: 1, from: 2, term: 5, ...init });
}

void describe('refusal', () => {
  void it('accepts what raft sends', () => {
    const ok: [string, Message][] = [
      [
        'append',
        msg({ type: T.MsgApp, index: 3, logTerm: 4, entries: [entry(4, 4), entry(5, 5)] }),
      ],
      ['empty append (commit only)', msg({ type: T.MsgApp, index: 9, logTerm: 5, commit: 9 })],
      ['append response', msg({ type: T.MsgAppResp, index: 9 })],
      ['rejected append response', msg({ type: T.MsgAppResp, reject: true, rejectHint: 3 })],
      ['vote', msg({ type: T.MsgVote, index: 9, logTerm: 5 })],
      ['pre-vote for the next term', msg({ type: T.MsgPreVote, term: 6, index: 9, logTerm: 5 })],
      ['vote response', msg({ type: T.MsgVoteResp })],
      ['pre-vote response', msg({ type: T.MsgPreVoteResp, reject: true })],
      ['heartbeat', msg({ type: T.MsgHeartbeat, commit: 7, context: new Uint8Array([1]) })],
      ['heartbeat response', msg({ type: T.MsgHeartbeatResp })],
      ['forwarded proposal', msg({ type: T.MsgProp, term: 0, entries: [entry(0, 0)] })],
      // A proposal forwarded twice keeps its first sender, which may be the receiver.
      [
        'proposal forwarded back',
        msg({ type: T.MsgProp, term: 0, from: 1, entries: [entry(0, 0)] }),
      ],
      ['forwarded read', msg({ type: T.MsgReadIndex, term: 0, entries: [entry(0, 0)] })],
      ['read response', msg({ type: T.MsgReadIndexResp, index: 8, entries: [entry(0, 0)] })],
      ['transfer forwarded to the leader', msg({ type: T.MsgTransferLeader, from: 3 })],
      ['timeout now', msg({ type: T.MsgTimeoutNow })],
      [
        'snapshot',
        msg({
          type: T.MsgSnap,
          snapshot: {
            data: new Uint8Array([1, 2]),
            metadata: {
              index: 100,
              term: 4,
              confState: {
                voters: [1, 2],
                learners: [],
                votersOutgoing: [],
                learnersNext: [],
                autoLeave: false,
              },
            },
          },
        }),
      ],
    ];
    for (const [what, m] of ok) assert.equal(refusal(m, 1), undefined, what);
  });

  void it('refuses what no correct peer sends, saying why', () => {
    const bad: [string, Message, RegExp][] = [
      ['local type', msg({ type: T.MsgHup }), /MsgHup is not a message peers exchange/],
      ['local storage type', msg({ type: T.MsgStorageAppend }), /MsgStorageAppend/],
      ['unknown type', msg({ type: 99 as Message['type'] }), /type 99/],
      ['someone else', msg({ type: T.MsgHeartbeat, to: 3 }), /addressed to 3, not to 1/],
      ['no sender', msg({ type: T.MsgHeartbeat, from: 0 }), /no sender/],
      ['from itself', msg({ type: T.MsgVote, from: 1 }), /from this node/],
      ['vote without term', msg({ type: T.MsgVote, term: 0 }), /MsgVote without a term/],
      ['append without term', msg({ type: T.MsgApp, term: 0 }), /MsgApp without a term/],
      ['proposal with a term', msg({ type: T.MsgProp, term: 3 }), /carries no term/],
      [
        'heartbeat with entries',
        msg({ type: T.MsgHeartbeat, entries: [entry(1, 1)] }),
        /with entries/,
      ],
      [
        'append with a gap',
        msg({ type: T.MsgApp, index: 3, logTerm: 1, entries: [entry(4, 1), entry(6, 1)] }),
        /entry 1 has index 6, not 5/,
      ],
      [
        'append with decreasing terms',
        msg({ type: T.MsgApp, index: 3, logTerm: 3, entries: [entry(4, 2)] }),
        /term 2 outside 3\.\.5/,
      ],
      [
        'append from the future',
        msg({ type: T.MsgApp, index: 3, logTerm: 1, entries: [entry(4, 9)] }),
        /term 9 outside 1\.\.5/,
      ],
      [
        'logTerm past term',
        msg({ type: T.MsgApp, index: 3, logTerm: 6 }),
        /logTerm 6 past its term 5/,
      ],
      ['empty snapshot', msg({ type: T.MsgSnap }), /without a snapshot/],
      [
        'snapshot from the future',
        msg({
          type: T.MsgSnap,
          snapshot: {
            data: new Uint8Array(0),
            metadata: {
              index: 10,
              term: 7,
              confState: {
                voters: [1],
                learners: [],
                votersOutgoing: [],
                learnersNext: [],
                autoLeave: false,
              },
            },
          },
        }),
        /term 7/,
      ],
      [
        'heartbeat with a snapshot',
        msg({
          type: T.MsgHeartbeat,
          snapshot: {
            data: new Uint8Array(0),
            metadata: {
              index: 10,
              term: 2,
              confState: {
                voters: [1],
                learners: [],
                votersOutgoing: [],
                learnersNext: [],
                autoLeave: false,
              },
            },
          },
        }),
        /carries a snapshot/,
      ],
    ];
    for (const [what, m, re] of bad) {
      const why = refusal(m, 1);
      assert.ok(why !== undefined, `${what}: accepted`);
      assert.match(why, re, what);
    }
  });
});
