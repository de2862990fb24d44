// `npm run bench -- core [--json] [--quick]`: the core workloads of ../shared/ANCHORS.md.
import runPumpSuite from './pump.ts';
import runQuorumSuite from './quorum.ts';
import runOneNodeSuite from './onenode.ts';

export default async function run(args: string[]): Promise<void> {
  await runPumpSuite(args);
  await runQuorumSuite(args);
  await runOneNodeSuite(args);
}
