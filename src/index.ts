// etcd-raft-ts: the public entry point of the library.
export * from './raftpb/index.ts';
export { RawNode, newRawNode, SnapshotStatus, mustSync } from './raft/rawnode.ts';
export type { Peer } from './raft/rawnode.ts';
export { ReadOnlyOption } from './raft/config.ts';
export type { Config } from './raft/config.ts';
export { MemoryStorage } from './raft/storage.ts';
export type { Storage } from './raft/storage.ts';
export * from './raft/errors.ts';
export { StateType, StateTypeNames } from './raft/ready.ts';
export type { Ready, SoftState, ReadState } from './raft/ready.ts';
export type { Logger } from './raft/logger.ts';
export { RaftPanic, discardLogger, consoleLogger } from './raft/logger.ts';
export type { Status, BasicStatus } from './raft/status.ts';
export { noLimit, LocalAppendThread, LocalApplyThread } from './raft/util.ts';
export {
  describeReady,
  describeMessage,
  describeEntry,
  describeEntries,
  describeHardState,
  describeSnapshot,
} from './raft/describe.ts';
