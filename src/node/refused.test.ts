// A Node drops the network messages no correct peer sends (src/raft/validate.ts) instead of
// stepping them into raft, where some of them (a vote without a term, a message from itself)
// would throw a RaftPanic and stop the node. The fuzzer of a live member found these.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import type { Logger } from '../raft/logger.ts';
import { MessageType, newMessage } from '../raftpb/types.ts';
import { Cluster, FakeClock, bytes } from './testkit.ts';

const clock = new FakeClock(10);
let c: Cluster | undefined;
beforeEach(() => clock.enable());
afterEach(async () => {
  if (c !== undefined) await clock.settled(c.closeAll(), 5000).finally(() => clock.reset());
  c = undefined;
});

void it('drops malformed peer messages with one warning and keeps working', async () => {
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warning: (m) => warnings.push(m),
    error() {},
    fatal() {},
    panic() {},
  };
  c = new Cluster([1, 2, 3], { tickMs: 10, logger });
  await c.startAll();
  const leader = await c.waitLeader(clock);
  const victim = c.ids.find((id) => id !== leader.id) as number;
  const term = leader.brief().term;
  const bad = [
    newMessage({ type: MessageType.MsgVote, to: victim, from: leader.id, term: 0 }),
    newMessage({ type: MessageType.MsgPreVote, to: victim, from: victim, term: term + 1 }),
    newMessage({ type: MessageType.MsgHup, to: victim, from: leader.id }),
    newMessage({ type: MessageType.MsgStorageAppend, to: victim, from: leader.id, term }),
    newMessage({ type: MessageType.MsgHeartbeat, to: victim + 10, from: leader.id, term }),
  ];
  const transport = c.transports.get(victim);
  assert.ok(transport !== undefined);
  for (const m of bad) transport.deliver(m);
  const r = await clock.settled(c.node(victim).propose(bytes('after')));
  assert.match(String(r), /^after@\d+$/);
  assert.equal(c.node(victim).brief().term, term, 'term unchanged');
  const dropped = warnings.filter((w) => w.includes('no correct peer sends'));
  assert.equal(dropped.length, 1, `one warning for ${bad.length} drops: ${warnings.join('\n')}`);
  assert.match(dropped[0] as string, /MsgVote without a term/);
});
