/**
 * The etcd v3 messages raftkv handles, as plain objects: the shape that codec.ts decodes
 * (camelCase field names, int64 as number, every scalar present) and encodes. Field numbers
 * live in proto/etcdserverpb/rpc.proto; int64 values are limited to safe integers.
 */

/** KeyValue is one key with its value and revisions (mvccpb.KeyValue). */
export interface KeyValue {
  key: Uint8Array;
  /** createRevision is the revision of the write that created the key. */
  createRevision: number;
  /** modRevision is the revision of the last write to the key. */
  modRevision: number;
  /** version counts the writes to the key since it was created (1 after creation). */
  version: number;
  value: Uint8Array;
  lease: number;
}

/** ResponseHeader is in every response (etcdserverpb.ResponseHeader). */
export interface ResponseHeader {
  clusterId: number;
  memberId: number;
  /** revision is the key space's revision when the request was served. */
  revision: number;
  raftTerm: number;
}

/** SortOrder is RangeRequest.SortOrder. */
export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
/** SortOrder is the numeric value of a sort order. */
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];

/** SortTarget is RangeRequest.SortTarget. */
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
/** SortTarget is the numeric value of a sort target. */
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

/** RangeRequest reads a key, a range [key, rangeEnd) or, with rangeEnd "\0", all keys >= key. */
export interface RangeRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  limit: number;
  revision: number;
  sortOrder: number;
  sortTarget: number;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: number;
  maxModRevision: number;
  minCreateRevision: number;
  maxCreateRevision: number;
}

/** RangeResponse answers a RangeRequest. */
export interface RangeResponse {
  header?: ResponseHeader;
  kvs: KeyValue[];
  /** more: there are more keys in the range than `kvs` holds (limit). */
  more: boolean;
  /** count is the number of keys in the range, whatever the limit. */
  count: number;
}

/** PutRequest writes one key. */
export interface PutRequest {
  key: Uint8Array;
  value: Uint8Array;
  lease: number;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

/** PutResponse answers a PutRequest. */
export interface PutResponse {
  header?: ResponseHeader;
  prevKv?: KeyValue | undefined;
}

/** DeleteRangeRequest deletes a key or a range, like RangeRequest selects one. */
export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd: Uint8Array;
  prevKv: boolean;
}

/** DeleteRangeResponse answers a DeleteRangeRequest. */
export interface DeleteRangeResponse {
  header?: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

/** RequestOp is one operation of a Txn; `request` names the field that is set. */
export interface RequestOp {
  request?: 'requestRange' | 'requestPut' | 'requestDeleteRange' | 'requestTxn';
  requestRange?: RangeRequest | null;
  requestPut?: PutRequest | null;
  requestDeleteRange?: DeleteRangeRequest | null;
  requestTxn?: TxnRequest | null;
}

/** ResponseOp is the result of one RequestOp. */
export type ResponseOp =
  | { responseRange: RangeResponse }
  | { responsePut: PutResponse }
  | { responseDeleteRange: DeleteRangeResponse }
  | { responseTxn: TxnResponse };

/** CompareResult is Compare.CompareResult. */
export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
/** CompareResult is the numeric value of a comparison operator. */
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];

/** CompareTarget is Compare.CompareTarget. */
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
/** CompareTarget is the numeric value of a comparison target. */
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

/** Compare is one condition of a Txn; `targetUnion` names the operand that is set. */
export interface Compare {
  result: number;
  target: number;
  key: Uint8Array;
  rangeEnd: Uint8Array;
  targetUnion?: 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Uint8Array;
  lease?: number;
}

/** TxnRequest: if every compare holds, run `success`, else `failure`; all in one revision. */
export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

/** TxnResponse answers a TxnRequest. */
export interface TxnResponse {
  header?: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

/** Member is one cluster member (etcdserverpb.Member). */
export interface Member {
  ID: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** MemberAttributes is what a member publishes about itself through raft. */
export interface MemberAttributes {
  id: number;
  name: string;
  clientUrls: string[];
}

/** StatusResponse answers Maintenance.Status. */
export interface StatusResponse {
  header: ResponseHeader;
  version: string;
  dbSize: number;
  leader: number;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
  dbSizeInUse: number;
  isLearner: boolean;
}
