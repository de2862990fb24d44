/**
 * Helpers over the two kinds of configuration change, the legacy ConfChange (v1) and
 * ConfChangeV2, after etcd-raft's raftpb/confchange.go.
 */
import { encodeConfChange, encodeConfChangeV2 } from './codec.ts';
import { ConfChangeTransition, ConfChangeType, EntryType } from './types.ts';
import type { ConfChange, ConfChangeSingle, ConfChangeV2 } from './types.ts';

/** isConfChangeV2 tells a ConfChangeV2 (it has `changes`) from a legacy ConfChange. */
export function isConfChangeV2(cc: ConfChange | ConfChangeV2): cc is ConfChangeV2 {
  return 'changes' in cc;
}

/**
 * confChangeAsV2 returns a ConfChangeV2 that makes the same change: a ConfChangeV2 is
 * returned as is, a v1 ConfChange becomes one change with the Auto transition and the
 * same context (the `id` has no counterpart in v2 and is dropped).
 */
export function confChangeAsV2(cc: ConfChange | ConfChangeV2): ConfChangeV2 {
  if (isConfChangeV2(cc)) return cc;
  return {
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [{ type: cc.type, nodeId: cc.nodeId }],
    context: cc.context,
  };
}

/**
 * enterJoint reports whether applying cc enters a joint configuration (`ok`), which is
 * the case when it holds more than one change or asks for joint consensus explicitly, and
 * if so whether raft leaves it by itself (`autoLeave`; false for JointExplicit). An
 * unknown transition is a broken invariant and throws (etcd-raft panics there).
 */
export function enterJoint(cc: ConfChangeV2): { autoLeave: boolean; ok: boolean } {
  const t = cc.transition;
  if (t === ConfChangeTransition.ConfChangeTransitionAuto && cc.changes.length <= 1) {
    return { autoLeave: false, ok: false };
  }
  switch (t) {
    case ConfChangeTransition.ConfChangeTransitionAuto:
    case ConfChangeTransition.ConfChangeTransitionJointImplicit:
      return { autoLeave: true, ok: true };
    case ConfChangeTransition.ConfChangeTransitionJointExplicit:
      return { autoLeave: false, ok: true };
    default:
      throw new Error(`unknown transition: ${String(t)} in ${confChangesToString(cc.changes)}`);
  }
}

/**
 * leaveJoint reports whether cc is the change that leaves a joint configuration: the
 * Auto transition and no changes (the context does not matter).
 */
export function leaveJoint(cc: ConfChangeV2): boolean {
  return cc.transition === ConfChangeTransition.ConfChangeTransitionAuto && cc.changes.length === 0;
}

/** The change type of each operation letter of confChangesFromString. */
const LETTER_TYPES: Readonly<Record<string, ConfChangeType>> = {
  v: ConfChangeType.ConfChangeAddNode,
  l: ConfChangeType.ConfChangeAddLearnerNode,
  r: ConfChangeType.ConfChangeRemoveNode,
  u: ConfChangeType.ConfChangeUpdateNode,
};

/**
 * confChangesFromString parses space-separated operations into ConfChangeSingles:
 * `v<id>` adds a voter, `l<id>` a learner, `r<id>` removes and `u<id>` updates a node.
 * Surrounding whitespace is ignored; an empty string gives no changes. Errors (returned
 * as thrown Error) read `unknown token <tok>`, `unknown input: <tok>`, or, for the number,
 * `strconv.ParseUint: parsing "<num>": invalid syntax` / `value out of range` (ids above
 * 2^53-1 are out of range here).
 */
export function confChangesFromString(s: string): ConfChangeSingle[] {
  const trimmed = s.trim();
  if (trimmed === '') return [];
  const out: ConfChangeSingle[] = [];
  for (const tok of trimmed.split(' ')) {
    // A token shorter than two bytes in UTF-8: empty, or one ASCII character.
    if (tok.length === 0 || (tok.length === 1 && tok.charCodeAt(0) < 0x80)) {
      throw new Error(`unknown token ${tok}`);
    }
    const type = LETTER_TYPES[tok.charAt(0)];
    if (type === undefined) throw new Error(`unknown input: ${tok}`);
    out.push({ type, nodeId: parseNodeId(tok.slice(1)) });
  }
  return out;
}

/** parseNodeId parses a decimal node id, with the error texts of Go's strconv.ParseUint. */
function parseNodeId(num: string): number {
  if (!/^[0-9]+$/.test(num)) {
    throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(num)}: invalid syntax`);
  }
  const v = Number(num);
  if (!Number.isSafeInteger(v)) {
    throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(num)}: value out of range`);
  }
  return v;
}

/** The operation letter of each change type, the inverse of LETTER_TYPES. */
const TYPE_LETTERS: readonly string[] = ['v', 'r', 'u', 'l'];

/**
 * confChangesToString is the inverse of confChangesFromString: one `<letter><id>` per
 * change, joined by single spaces; an unknown change type prints as `unknown<id>`.
 */
export function confChangesToString(ccs: readonly ConfChangeSingle[]): string {
  return ccs.map((cc) => `${TYPE_LETTERS[cc.type] ?? 'unknown'}${cc.nodeId}`).join(' ');
}

/**
 * marshalConfChange returns the entry type and payload that carry cc in the log:
 * EntryConfChange with the ConfChange encoding for a v1 change, EntryConfChangeV2 with
 * the ConfChangeV2 encoding otherwise.
 */
export function marshalConfChange(cc: ConfChange | ConfChangeV2): {
  type: EntryType;
  data: Uint8Array;
} {
  if (isConfChangeV2(cc))
    return { type: EntryType.EntryConfChangeV2, data: encodeConfChangeV2(cc) };
  return { type: EntryType.EntryConfChange, data: encodeConfChange(cc) };
}
