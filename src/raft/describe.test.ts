import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeConfChange, encodeConfChangeV2 } from '../raftpb/codec.ts';
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  newConfState,
  newMessage,
} from '../raftpb/types.ts';
import type { ConfChangeSingle, Entry, Snapshot } from '../raftpb/types.ts';
import {
  describeConfChange,
  describeConfState,
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
  describeReady,
  describeSnapshot,
  describeSoftState,
  describeTarget,
  goQuote,
} from './describe.ts';
import { StateType } from './ready.ts';
import type { Ready } from './ready.ts';
import { LocalAppendThread, LocalApplyThread, hexId } from './util.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function normal(term: number, index: number, data?: string): Entry {
  const e: Entry = { term, index, type: EntryType.EntryNormal };
  if (data !== undefined) e.data = utf8(data);
  return e;
}

function ccV2(term: number, index: number, changes: ConfChangeSingle[]): Entry {
  const data = encodeConfChangeV2({
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes,
  });
  return { term, index, type: EntryType.EntryConfChangeV2, data };
}

const { ConfChangeAddNode: add, ConfChangeAddLearnerNode: learner } = ConfChangeType;
const { ConfChangeRemoveNode: remove } = ConfChangeType;

function snapshot(index: number, term: number, voters: number[]): Snapshot {
  return { metadata: { index, term, confState: { ...newConfState(), voters } } };
}

function emptyReady(): Ready {
  return {
    hardState: { term: 0, vote: 0, commit: 0 },
    readStates: [],
    entries: [],
    committedEntries: [],
    messages: [],
    mustSync: false,
  };
}

void test('goQuote matches Go %q on bytes', () => {
  const cases: [Uint8Array | undefined, string][] = [
    [undefined, '""'],
    [new Uint8Array(0), '""'],
    [utf8('prop_1'), '"prop_1"'],
    [utf8('"foo"'), String.raw`"\"foo\""`],
    [utf8('a\\b'), String.raw`"a\\b"`],
    [utf8('hello\x00world'), String.raw`"hello\x00world"`],
    [new Uint8Array([7, 8, 12, 10, 13, 9, 11]), String.raw`"\a\b\f\n\r\t\v"`],
    [new Uint8Array([0x1b, 0x7f]), String.raw`"\x1b\x7f"`],
    [utf8('héllo wörld ✓ 😀'), '"héllo wörld ✓ 😀"'],
    [utf8('\u00a0\u0085\u00ad'), String.raw`"\u00a0\u0085\u00ad"`],
    [utf8('\u200b\u2028\u3000\ue000'), String.raw`"\u200b\u2028\u3000\ue000"`],
    [utf8('\u{f0000}'), String.raw`"\U000f0000"`],
    [utf8('\ufffd'), '"\ufffd"'],
    [new Uint8Array([0xff]), String.raw`"\xff"`],
    [new Uint8Array([0x61, 0xe2, 0x82]), String.raw`"a\xe2\x82"`], // truncated
    [new Uint8Array([0xed, 0xa0, 0x80]), String.raw`"\xed\xa0\x80"`], // surrogate
    [new Uint8Array([0xc0, 0x80]), String.raw`"\xc0\x80"`], // overlong
    [new Uint8Array([0xf4, 0x90, 0x80, 0x80]), String.raw`"\xf4\x90\x80\x80"`], // > U+10FFFF
    [new Uint8Array([0xe2, 0x28, 0xa1]), String.raw`"\xe2(\xa1"`],
  ];
  for (const [b, want] of cases) assert.equal(goQuote(b), want);
});

void test('describeEntry: normal data quoted, conf changes as tokens', () => {
  assert.equal(describeEntry(normal(1, 11)), '1/11 EntryNormal ""');
  assert.equal(describeEntry(normal(1, 12, 'prop_1')), '1/12 EntryNormal "prop_1"');
  assert.equal(describeEntry(normal(1, 12, '"foo"')), String.raw`1/12 EntryNormal "\"foo\""`);
  assert.equal(
    describeEntry(normal(1, 2, 'hello\x00world')),
    String.raw`1/2 EntryNormal "hello\x00world"`,
  );
  const upper = (d: Uint8Array): string => new TextDecoder().decode(d).toUpperCase();
  assert.equal(
    describeEntry(normal(1, 2, 'hello\x00world'), upper),
    '1/2 EntryNormal HELLO\x00WORLD',
  );

  const v1: Entry = {
    term: 1,
    index: 4,
    type: EntryType.EntryConfChange,
    data: encodeConfChange({ type: add, nodeId: 2, id: 0 }),
  };
  assert.equal(describeEntry(v1), '1/4 EntryConfChange v2');
  const twoLearners = ccV2(1, 5, [
    { type: learner, nodeId: 2 },
    { type: learner, nodeId: 3 },
  ]);
  assert.equal(describeEntry(twoLearners), '1/5 EntryConfChangeV2 l2 l3');
  const swap = ccV2(1, 4, [
    { type: remove, nodeId: 1 },
    { type: add, nodeId: 4 },
  ]);
  assert.equal(describeEntry(swap), '1/4 EntryConfChangeV2 r1 v4');
  assert.equal(describeEntry(ccV2(1, 6, [])), '1/6 EntryConfChangeV2');
  assert.equal(
    describeEntry({ term: 1, index: 6, type: EntryType.EntryConfChangeV2 }),
    '1/6 EntryConfChangeV2',
  );
  assert.equal(
    describeEntries([normal(1, 1), normal(1, 2, 'x')]),
    '1/1 EntryNormal ""\n1/2 EntryNormal "x"\n',
  );
});

void test('describeEntry: undecodable conf change prints the decoder error', () => {
  const bad: Entry = {
    term: 1,
    index: 3,
    type: EntryType.EntryConfChangeV2,
    data: new Uint8Array([0x0a]),
  };
  const got = describeEntry(bad);
  assert.match(got, /^1\/3 EntryConfChangeV2 \S/);
});

void test('describeHardState / describeSoftState / describeSnapshot', () => {
  assert.equal(describeHardState({ term: 1, vote: 1, commit: 4 }), 'Term:1 Vote:1 Commit:4');
  assert.equal(describeHardState({ term: 1, vote: 0, commit: 0 }), 'Term:1 Commit:0');
  assert.equal(
    describeSoftState({ lead: 0, raftState: StateType.StateCandidate }),
    'Lead:0 State:StateCandidate',
  );
  assert.equal(
    describeSnapshot(snapshot(11, 1, [1, 2, 3])),
    'Index:11 Term:1 ConfState:Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false',
  );
  assert.equal(
    describeConfState({
      voters: [1],
      votersOutgoing: [1, 2],
      learners: [3],
      learnersNext: [2],
      autoLeave: true,
    }),
    'Voters:[1] VotersOutgoing:[1 2] Learners:[3] LearnersNext:[2] AutoLeave:true',
  );
});

void test('describeTarget and hexId', () => {
  assert.equal(describeTarget(0), 'None');
  assert.equal(describeTarget(LocalAppendThread), 'AppendThread');
  assert.equal(describeTarget(LocalApplyThread), 'ApplyThread');
  assert.equal(describeTarget(3), '3');
  assert.equal(describeTarget(255), 'ff');
  assert.equal(hexId(LocalAppendThread), 'ffffffffffffffff');
  assert.equal(hexId(LocalApplyThread), 'fffffffffffffffe');
});

void test('describeMessage: the FORMAT.md §4.4 examples', () => {
  const v1: Entry = {
    term: 1,
    index: 4,
    type: EntryType.EntryConfChange,
    data: encodeConfChange({ type: add, nodeId: 2, id: 0 }),
  };
  const cases: [ReturnType<typeof newMessage>, string][] = [
    [
      newMessage({
        type: MessageType.MsgApp,
        from: 1,
        to: 2,
        term: 1,
        logTerm: 1,
        index: 3,
        commit: 4,
        entries: [v1],
      }),
      '1->2 MsgApp Term:1 Log:1/3 Commit:4 Entries:[1/4 EntryConfChange v2]',
    ],
    [
      newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 1, index: 3, reject: true }),
      '2->1 MsgAppResp Term:1 Log:0/3 Rejected (Hint: 0)',
    ],
    [
      newMessage({
        type: MessageType.MsgStorageAppend,
        from: 1,
        to: LocalAppendThread,
        term: 1,
        commit: 10,
        vote: 1,
        responses: [newMessage({ type: MessageType.MsgVoteResp, from: 1, to: 1, term: 1 })],
      }),
      '1->AppendThread MsgStorageAppend Term:1 Log:0/0 Commit:10 Vote:1 Responses:[\n  1->1 MsgVoteResp Term:1 Log:0/0\n]',
    ],
    [
      newMessage({
        type: MessageType.MsgApp,
        from: 2,
        to: 3,
        term: 2,
        logTerm: 1,
        index: 3,
        commit: 4,
        entries: [ccV2(1, 4, [{ type: add, nodeId: 3 }]), normal(2, 5)],
      }),
      '2->3 MsgApp Term:2 Log:1/3 Commit:4 Entries:[\n  1/4 EntryConfChangeV2 v3\n  2/5 EntryNormal ""\n]',
    ],
    [
      newMessage({
        type: MessageType.MsgSnap,
        from: 1,
        to: 2,
        term: 1,
        snapshot: snapshot(4, 1, [1, 2]),
      }),
      '1->2 MsgSnap Term:1 Log:0/0\n  Snapshot: Index:4 Term:1 ConfState:Voters:[1 2] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false',
    ],
    [
      newMessage({ type: MessageType.MsgProp, from: 4, to: 1, entries: [ccV2(0, 0, [])] }),
      '4->1 MsgProp Term:0 Log:0/0 Entries:[0/0 EntryConfChangeV2]',
    ],
    [
      newMessage({
        type: MessageType.MsgSnap,
        from: 1,
        to: 2,
        term: 1,
        snapshot: snapshot(0, 0, []),
      }),
      '1->2 MsgSnap Term:1 Log:0/0',
    ],
  ];
  for (const [m, want] of cases) assert.equal(describeMessage(m), want);
});

void test('describeMessage: nested responses indent their entries too', () => {
  const m = newMessage({
    type: MessageType.MsgStorageApply,
    from: 1,
    to: LocalApplyThread,
    entries: [normal(1, 2)],
    responses: [
      newMessage({
        type: MessageType.MsgStorageApplyResp,
        from: LocalApplyThread,
        to: 1,
        entries: [normal(1, 1, 'a'), normal(1, 2, 'b')],
      }),
    ],
  });
  assert.equal(
    describeMessage(m),
    [
      '1->ApplyThread MsgStorageApply Term:0 Log:0/0 Entries:[1/2 EntryNormal ""] Responses:[',
      '  ApplyThread->1 MsgStorageApplyResp Term:0 Log:0/0 Entries:[',
      '    1/1 EntryNormal "a"',
      '    1/2 EntryNormal "b"',
      '  ]',
      ']',
    ].join('\n'),
  );
});

void test('describeReady: sections in order, or <empty Ready>', () => {
  assert.equal(describeReady(emptyReady()), '<empty Ready>');

  const rd = emptyReady();
  rd.mustSync = true;
  rd.softState = { lead: 0, raftState: StateType.StateCandidate };
  rd.hardState = { term: 1, vote: 1, commit: 3 };
  assert.equal(
    describeReady(rd),
    'Ready MustSync=true:\nLead:0 State:StateCandidate\nHardState Term:1 Vote:1 Commit:3\n',
  );

  const full = emptyReady();
  full.hardState = { term: 1, vote: 1, commit: 5 };
  full.readStates = [{ index: 5, requestCtx: utf8('ab') }];
  full.entries = [normal(1, 6)];
  full.snapshot = snapshot(4, 1, [1]);
  full.committedEntries = [normal(1, 4, 'foo'), normal(1, 5)];
  full.messages = [
    newMessage({
      type: MessageType.MsgApp,
      from: 1,
      to: 2,
      term: 1,
      logTerm: 1,
      index: 5,
      commit: 5,
    }),
  ];
  assert.equal(
    describeReady(full),
    [
      'Ready MustSync=false:',
      'HardState Term:1 Vote:1 Commit:5',
      'ReadStates [{5 [97 98]}]',
      'Entries:',
      '1/6 EntryNormal ""',
      'Snapshot Index:4 Term:1 ConfState:Voters:[1] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false',
      'CommittedEntries:',
      '1/4 EntryNormal "foo"',
      '1/5 EntryNormal ""',
      'Messages:',
      '1->2 MsgApp Term:1 Log:1/5 Commit:5',
      '',
    ].join('\n'),
  );
});

void test('describeConfChange: the long form of FORMAT.md §5.4', () => {
  assert.equal(
    describeConfChange({ type: add, nodeId: 4, id: 0 }),
    'transition:ConfChangeTransitionAuto changes:{type:ConfChangeAddNode node_id:4}',
  );
  assert.equal(
    describeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionJointExplicit,
      changes: [
        { type: learner, nodeId: 2 },
        { type: remove, nodeId: 3 },
      ],
      context: utf8('ctx"1'),
    }),
    'transition:ConfChangeTransitionJointExplicit changes:{type:ConfChangeAddLearnerNode node_id:2} changes:{type:ConfChangeRemoveNode node_id:3} context:"ctx\\"1"',
  );
  assert.equal(
    describeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionJointImplicit,
      changes: [],
    }),
    'transition:ConfChangeTransitionJointImplicit',
  );
});
