/**
 * The datadriven driver for etcd-raft's confchange/testdata (conformance FORMAT.md §7.1).
 *
 * Commands: `simple`, `enter-joint [autoleave=<bool>]` and `leave-joint`; the input block is
 * a change list such as `v1 l2 r3 u4`. Each file gets a fresh tracker (maxInflight 10, empty
 * config) and a last index that starts at 0 and grows by one after every command, failed
 * ones included.
 */
import { Changer, ConfChangeError } from '../confchange/confchange.ts';
import type { ChangeResult } from '../confchange/confchange.ts';
import { confChangesFromString } from '../raftpb/confchange.ts';
import type { ConfChangeSingle } from '../raftpb/types.ts';
import { progressMapString } from '../tracker/progress.ts';
import { ProgressTracker } from '../tracker/tracker.ts';
import type { TestData } from './datadriven.ts';
import { scanArgBool } from './datadriven.ts';

/** newConfChangeDriver returns the command handler for one confchange test file. */
export function newConfChangeDriver(): (d: TestData) => string {
  const tracker = new ProgressTracker(10, 0);
  const changer = new Changer(tracker, 0);
  return (d) => {
    try {
      return runCommand(d, tracker, changer);
    } finally {
      changer.lastIndex++;
    }
  };
}

function runCommand(d: TestData, tracker: ProgressTracker, changer: Changer): string {
  let ccs: ConfChangeSingle[];
  try {
    ccs = confChangesFromString(d.input);
  } catch (err) {
    // Token errors are the case's output, not a test failure.
    if (err instanceof Error) return err.message;
    throw err;
  }
  let result: ChangeResult;
  try {
    const r = applyCommand(d, changer, ccs);
    if (typeof r === 'string') return r;
    result = r;
  } catch (err) {
    if (err instanceof ConfChangeError) return `${err.message}\n`;
    throw err;
  }
  [tracker.config, tracker.progress] = result;
  return `${tracker.config.toString()}\n${progressMapString(tracker.progress)}`;
}

/** applyCommand runs the changer; a string result is output that ends the case. */
function applyCommand(
  d: TestData,
  changer: Changer,
  ccs: ConfChangeSingle[],
): ChangeResult | string {
  switch (d.cmd) {
    case 'simple':
      return changer.simple(...ccs);
    case 'enter-joint': {
      const autoLeave = d.cmdArgs.length > 0 ? scanArgBool(d, 'autoleave') : false;
      return changer.enterJoint(autoLeave, ...ccs);
    }
    case 'leave-joint':
      if (ccs.length > 0) return 'this command takes no input\n';
      return changer.leaveJoint();
    default:
      return 'unknown command';
  }
}
