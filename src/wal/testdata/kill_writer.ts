// Child process of kill.test.ts: opens the WAL in argv[2] and saves entries from 32
// concurrent proposers as fast as it can, printing "ack <index>" once each save is durable,
// until it is killed. Entry data is payload(index, term) so the parent can tell a real entry
// from an invented one. Every 400 entries it takes a snapshot and compacts.
import { openDiskStorage } from '../storage.ts';
import { payload } from '../testing.ts';

const dir = process.argv[2];
if (dir === undefined) throw new TypeError('usage: kill_writer.ts <dir>');
const s = await openDiskStorage(dir, { segmentSize: 64 * 1024 });
const term = s.initialState().hardState.term + 1;
let next = s.lastIndex() + 1;
const cs = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
process.stdout.write(`ready ${s.lastIndex()} term ${term}\n`);

async function proposer(): Promise<never> {
  for (;;) {
    const index = next++;
    const e = { term, index, type: 0 as const, data: payload(index, term, 100) };
    await s.save({ term, vote: 1, commit: index - 1 }, [e]);
    process.stdout.write(`ack ${index}\n`);
    if (index % 400 === 0) {
      await s.createSnapshot({
        metadata: { index, term, confState: cs },
        data: payload(index, 0, 64),
      });
      await s.compactTo(index - 100);
    }
  }
}

await Promise.all(Array.from({ length: 32 }, () => proposer()));
