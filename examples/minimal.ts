// The README's minimal RawNode loop, as a program: a single-voter group that elects itself,
// commits one proposal and prints what it applied. Run: node --import tsx examples/minimal.ts
import { MemoryStorage, RawNode, isEmptyHardState } from '../src/index.ts';

const storage = MemoryStorage.withConfState({
  voters: [1],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});
const node = new RawNode({
  id: 1,
  electionTick: 10,
  heartbeatTick: 1,
  storage,
  maxInflightMsgs: 256,
});

node.campaign();
const applied: string[] = [];
let proposed = false;
while (node.hasReady()) {
  const rd = node.ready();
  if (!isEmptyHardState(rd.hardState)) storage.setHardState(rd.hardState); // persist first
  storage.append(rd.entries);
  for (const m of rd.messages) void m; // send m to m.to over your transport
  for (const e of rd.committedEntries) {
    if (e.data !== undefined && e.data.length > 0) applied.push(new TextDecoder().decode(e.data));
  }
  node.advance();
  if (!proposed && node.status().softState.lead === 1) {
    node.propose(new TextEncoder().encode('hello'));
    proposed = true;
  }
}
console.log(`applied: ${applied.join(',')}`);
