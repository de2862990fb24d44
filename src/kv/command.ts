/**
 * The data of raftkv's raft entries: one raftkv.Command (proto/raftkv/raftkv.proto) per
 * entry, holding exactly one request. A request that arrived over gRPC is wrapped as the
 * bytes it arrived in (a length-delimited field holding an embedded message is the
 * message's own encoding), so proposing costs no re-encoding.
 */
import { asBuffer, codec } from './codec.ts';
import { decodePutCommand } from './put_codec.ts';
import { putVarint, varintSize } from './varint.ts';
import type { DeleteRangeRequest, MemberAttributes, PutRequest, TxnRequest } from './types.ts';

/** Command is the decoded raftkv.Command; `op` names the member that is set. */
export interface Command {
  op?: CommandKind;
  put?: PutRequest | null;
  deleteRange?: DeleteRangeRequest | null;
  txn?: TxnRequest | null;
  memberAttributes?: MemberAttributes | null;
}

/** CommandKind names the request a Command carries. */
export type CommandKind = 'put' | 'deleteRange' | 'txn' | 'memberAttributes';

/** CommandField maps each kind to its field number in raftkv.Command. */
export const CommandField: Readonly<Record<CommandKind, number>> = {
  put: 1,
  deleteRange: 2,
  txn: 3,
  memberAttributes: 4,
};

const WireTypeLen = 2;

/** commandCodec encodes and decodes raftkv.Command. */
export const commandCodec = codec<Command>('raftkv.Command');

/**
 * wrapCommand returns the Command that carries `request`, the protobuf encoding of the
 * request message of that kind (PutRequest, DeleteRangeRequest, TxnRequest, ...).
 */
export function wrapCommand(kind: CommandKind, request: Uint8Array): Uint8Array {
  const tag = (CommandField[kind] << 3) | WireTypeLen;
  const out = new Uint8Array(1 + varintSize(request.length) + request.length);
  out[0] = tag;
  out.set(request, putVarint(out, 1, request.length));
  return out;
}

/** encodeCommand encodes a Command given as an object (requests not from the wire). */
export function encodeCommand(cmd: Command): Uint8Array {
  return commandCodec.encode(cmd);
}

/** decodeCommand decodes entry data; it throws a RangeError for anything else. */
export function decodeCommand(data: Uint8Array): Command {
  return decodePutCommand(asBuffer(data)) ?? commandCodec.decode(data);
}
