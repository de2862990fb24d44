import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, MessageType, MessageTypeNames, newConfState } from '../raftpb/types.ts';
import type { Entry } from '../raftpb/types.ts';
import { entrySize } from '../raftpb/size.ts';
import { RaftPanic, discardLogger } from './logger.ts';
import {
  assertConfStatesEquivalent,
  cloneSnapshot,
  entsSize,
  extend,
  isLocalMsg,
  isLocalMsgTarget,
  isResponseMsg,
  limitSize,
  noLimit,
  payloadSize,
  payloadsSize,
  voteRespMsgType,
} from './util.ts';

const ents: Entry[] = [4, 5, 6].map((i) => ({ term: i, index: i, type: EntryType.EntryNormal }));

void test('limitSize: longest prefix within maxSize, never empty', () => {
  const [a, b, c] = ents.map(entrySize) as [number, number, number];
  const cases: [number, number][] = [
    [noLimit, 3],
    [0, 1],
    [a + b, 2],
    [a + b + c / 2, 2],
    [a + b + c - 1, 2],
    [a + b + c, 3],
  ];
  for (const [max, n] of cases) {
    const got = limitSize(ents, max);
    assert.deepEqual(got, ents.slice(0, n));
    assert.ok(got.length === 1 || entsSize(got) <= max);
  }
  assert.deepEqual(limitSize([], 0), []);
});

void test('isLocalMsg / isResponseMsg', () => {
  const local = new Set([
    'MsgHup',
    'MsgBeat',
    'MsgUnreachable',
    'MsgSnapStatus',
    'MsgCheckQuorum',
    'MsgStorageAppend',
    'MsgStorageAppendResp',
    'MsgStorageApply',
    'MsgStorageApplyResp',
  ]);
  const response = new Set([
    'MsgAppResp',
    'MsgVoteResp',
    'MsgHeartbeatResp',
    'MsgUnreachable',
    'MsgReadIndexResp',
    'MsgPreVoteResp',
    'MsgStorageAppendResp',
    'MsgStorageApplyResp',
  ]);
  MessageTypeNames.forEach((name, t) => {
    assert.equal(isLocalMsg(t), local.has(name), name);
    assert.equal(isResponseMsg(t), response.has(name), name);
  });
  assert.equal(isLocalMsg(99), false);
  assert.equal(isLocalMsgTarget(-1), true);
  assert.equal(isLocalMsgTarget(-2), true);
  assert.equal(isLocalMsgTarget(1), false);
});

void test('voteRespMsgType', () => {
  assert.equal(voteRespMsgType(MessageType.MsgVote), MessageType.MsgVoteResp);
  assert.equal(voteRespMsgType(MessageType.MsgPreVote), MessageType.MsgPreVoteResp);
  assert.throws(() => voteRespMsgType(MessageType.MsgApp), /not a vote message: MsgApp/);
});

void test('payloadSize counts data bytes only', () => {
  assert.equal(payloadSize({ term: 9, index: 9, type: EntryType.EntryNormal }), 0);
  const withData: Entry = { term: 1, index: 1, type: 0, data: new Uint8Array(5) };
  assert.equal(payloadSize(withData), 5);
  assert.equal(payloadsSize([withData, withData, ents[0]!]), 10);
});

void test('extend appends in place', () => {
  const dst = ents.slice(0, 1);
  assert.equal(extend(dst, ents.slice(1)), dst);
  assert.deepEqual(dst, ents);
});

void test('cloneSnapshot copies lists and data', () => {
  const s = {
    data: new Uint8Array([1]),
    metadata: { index: 3, term: 2, confState: { ...newConfState(), voters: [1, 2] } },
  };
  const c = cloneSnapshot(s);
  assert.deepEqual(c, s);
  c.metadata.confState.voters.push(3);
  c.data[0] = 7;
  assert.deepEqual(s.metadata.confState.voters, [1, 2]);
  assert.equal(s.data[0], 1);
});

void test('assertConfStatesEquivalent ignores order', () => {
  const a = { ...newConfState(), voters: [1, 2, 3], learners: [5, 4] };
  const b = { ...newConfState(), voters: [3, 1, 2], learners: [4, 5] };
  assertConfStatesEquivalent(discardLogger, a, b);
  assert.throws(
    () => assertConfStatesEquivalent(discardLogger, a, { ...b, autoLeave: true }),
    RaftPanic,
  );
});
