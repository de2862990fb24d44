/**
 * node: the asynchronous Node around RawNode, its injected parts' interfaces, and in-memory
 * implementations of storage and transport for tests. See docs/node.md.
 */
export { Node } from './node.ts';
export type { LeaderChange, NodeBrief, NodeEvents, NodeStatus } from './events.ts';
export type { NodeOptions, PeerAddress, RaftTuning } from './options.ts';
export type { SnapshotEvent } from './apply.ts';
export type { AbortLike, WaitOptions } from './waiter.ts';
export type { DurableStorage, StateMachine, Transport, TransportHandler } from './interfaces.ts';
export {
  ErrLeaderChanged,
  ErrNodeClosed,
  ErrNodeStopped,
  ErrNotLeader,
  ErrOutcomeUnknown,
  ErrTransferFailed,
  NodeError,
  NodeErrorCode,
} from './errors.ts';
export { ErrProposalDropped } from '../raft/errors.ts';
export { StateType } from '../raft/ready.ts';
export type { ConfState, Entry } from '../raftpb/types.ts';
export {
  EnvelopeHeaderSize,
  decodeAddressContext,
  decodeEnvelope,
  encodeAddressContext,
  encodeEnvelope,
  unwrapSnapshot,
  wrapSnapshot,
} from './envelope.ts';
export type { ProposalId } from './envelope.ts';
export { MemoryDurableStorage, StorageClosedError } from './memory_storage.ts';
export type { MemoryDurableStorageHooks, SaveCall } from './memory_storage.ts';
export { MemoryNetwork, MemoryTransport } from './memory_transport.ts';
export type { MessageFilter, NetworkStats, Verdict } from './memory_transport.ts';
