/**
 * kv: raftkv, a key-value store with etcd's v3 API on a raft member. See docs/raftkv.md.
 */
export { BackendError, BackendErrorCode, errorCode } from './backend.ts';
export type { BackendMember, BackendStatus, BackendWaitOptions, RaftBackend } from './backend.ts';
export { decodeCommand, encodeCommand, wrapCommand } from './command.ts';
export type { Command, CommandKind } from './command.ts';
export { Telemetry } from './dashboard/telemetry.ts';
export type { AttachOptions, TelemetryOptions } from './dashboard/telemetry.ts';
export { Etcd, GrpcCode, KvError } from './errors.ts';
export { Cancel } from './call.ts';
export { createGrpcServer } from './grpc.ts';
export { GrpcHttp2Server } from './grpc_http2.ts';
export type { GrpcHttp2Options } from './grpc_http2.ts';
export { httpHandler } from './http.ts';
export { clusterIdOf, LocalBackend } from './local_backend.ts';
export type { LocalBackendOptions } from './local_backend.ts';
export { isLearnerReady, nodeBackend } from './node_backend.ts';
export type { NodeBackendOptions, NodeLike } from './node_backend.ts';
export { GrpcImpl, KvServer, sniff } from './server.ts';
export type { KvGrpcOptions, KvServerOptions } from './server.ts';
export { KvService, ServerVersion } from './service.ts';
export type { CallOptions, KvServiceOptions, ProposalStats } from './service.ts';
export { KvStateMachine } from './state_machine.ts';
export type { ApplyResult } from './state_machine.ts';
export { KvStore } from './store.ts';
export * from './types.ts';
export { DefaultLimits } from './validate.ts';
export type { KvLimits } from './validate.ts';
