/**
 * Errors of the key-value API. A KvError carries the gRPC status code it is answered with
 * and, for the HTTP API, the matching HTTP status. Messages that etcd also sends use etcd's
 * exact text ("etcdserver: ..."), because etcd clients map those strings to error types.
 */

/** GrpcCode lists the gRPC status codes raftkv answers with (grpc/doc/statuscodes.md). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;
/** GrpcCode is the numeric value of a gRPC status code. */
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** KvErrorOptions are the optional constructor arguments of KvError. */
export interface KvErrorOptions {
  /** The lower-level error that led to this one, if any. */
  cause?: unknown;
}

const httpStatusOf: Record<number, number> = {
  [GrpcCode.CANCELLED]: 499,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.FAILED_PRECONDITION]: 412,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.UNAVAILABLE]: 503,
};

/**
 * KvError is an error the API answers a request with. `code` is the gRPC status code
 * (stable); `httpStatus` the HTTP API's status for it.
 */
export class KvError extends Error {
  override readonly name = 'KvError';
  readonly code: GrpcCode;

  constructor(code: GrpcCode, message: string, options?: KvErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** httpStatus is the HTTP status the JSON API answers this error with. */
  get httpStatus(): number {
    return httpStatusOf[this.code] ?? 500;
  }
}

/** invalidArgument returns an INVALID_ARGUMENT KvError. */
export function invalidArgument(message: string, cause?: unknown): KvError {
  return new KvError(GrpcCode.INVALID_ARGUMENT, message, { cause });
}

/**
 * Errors with etcd's own text (etcd api/v3rpc/rpctypes). Functions, not constants, so that
 * each error gets its own stack and cause.
 */
export const Etcd = {
  emptyKey: () => invalidArgument('etcdserver: key is not provided'),
  keyNotFound: () => invalidArgument('etcdserver: key not found'),
  tooManyOps: () => invalidArgument('etcdserver: too many operations in txn request'),
  duplicateKey: () => invalidArgument('etcdserver: duplicate key given in txn request'),
  requestTooLarge: () => invalidArgument('etcdserver: request is too large'),
  leaseNotFound: () => new KvError(GrpcCode.NOT_FOUND, 'etcdserver: requested lease not found'),
  compacted: () =>
    new KvError(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRev: () =>
    new KvError(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  noLeader: (cause?: unknown) =>
    new KvError(GrpcCode.UNAVAILABLE, 'etcdserver: no leader', { cause }),
  timeout: (cause?: unknown) =>
    new KvError(GrpcCode.UNAVAILABLE, 'etcdserver: request timed out', { cause }),
  leaderChanged: (cause?: unknown) =>
    new KvError(GrpcCode.UNAVAILABLE, 'etcdserver: leader changed', { cause }),
  stopped: (cause?: unknown) =>
    new KvError(GrpcCode.UNAVAILABLE, 'etcdserver: server stopped', { cause }),
  notLeader: (cause?: unknown) =>
    new KvError(GrpcCode.FAILED_PRECONDITION, 'etcdserver: not leader', { cause }),
  memberNotFound: () => new KvError(GrpcCode.NOT_FOUND, 'etcdserver: member not found'),
  peerUrlExists: () =>
    new KvError(GrpcCode.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  memberNotLearner: () =>
    new KvError(GrpcCode.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  learnerNotReady: (cause?: unknown) =>
    new KvError(
      GrpcCode.FAILED_PRECONDITION,
      'etcdserver: can only promote a learner member which is in sync with leader',
      { cause },
    ),
  badLeaderTransferee: (cause?: unknown) =>
    new KvError(GrpcCode.FAILED_PRECONDITION, 'etcdserver: bad leader transferee', { cause }),
} as const;

/** unimplemented returns the UNIMPLEMENTED error for a gRPC method path or HTTP route. */
export function unimplemented(method: string): KvError {
  return new KvError(GrpcCode.UNIMPLEMENTED, `raftkv does not implement ${method}`);
}
