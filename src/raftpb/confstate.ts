/** Comparison of membership configurations, after etcd-raft's raftpb/confstate.go. */
import type { ConfState } from './types.ts';

/** sortedCopy returns the ids in ascending order without touching the input. */
function sortedCopy(ids: readonly number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

/** sameIds compares two sorted lists element by element. */
function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** describe prints a ConfState on one line, with its lists in the order given. */
function describe(cs: ConfState): string {
  return (
    `voters=[${cs.voters.join(' ')}] learners=[${cs.learners.join(' ')}] ` +
    `votersOutgoing=[${cs.votersOutgoing.join(' ')}] ` +
    `learnersNext=[${cs.learnersNext.join(' ')}] autoLeave=${cs.autoLeave}`
  );
}

/**
 * confStateEquivalent returns null if a and b describe the same configuration: each of
 * the four id lists holds the same ids once sorted (order is not significant), and
 * autoLeave is equal. Otherwise it returns an Error that names the differing fields and
 * shows both ConfStates, sorted and as given.
 */
export function confStateEquivalent(a: ConfState, b: ConfState): Error | null {
  const keys = ['voters', 'learners', 'votersOutgoing', 'learnersNext'] as const;
  const sa: ConfState = { ...a };
  const sb: ConfState = { ...b };
  const differ: string[] = [];
  for (const k of keys) {
    sa[k] = sortedCopy(a[k]);
    sb[k] = sortedCopy(b[k]);
    if (!sameIds(sa[k], sb[k])) differ.push(k);
  }
  if (a.autoLeave !== b.autoLeave) differ.push('autoLeave');
  if (differ.length === 0) return null;
  return new Error(
    `ConfStates not equivalent after sorting (${differ.join(', ')} differ):\n` +
      `${describe(sa)}\n${describe(sb)}\nInputs were:\n${describe(a)}\n${describe(b)}`,
  );
}
