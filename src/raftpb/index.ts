/**
 * raftpb: etcd-raft's message, entry and state types and their wire codec.
 */
export * from './types.ts';
export * from './size.ts';
export * from './codec.ts';
export * from './confchange.ts';
export * from './confstate.ts';
