/**
 * The etcd v3 gRPC API: its method table (grpcMethods), shared by both servers of it, and the
 * server on @grpc/grpc-js (createGrpcServer). KvServer serves gRPC with grpc_http2.ts, a
 * lean server on node:http2, unless told to use grpc-js. Every method of the KV, Watch,
 * Lease, Cluster, Maintenance and Auth services is known: those raftkv implements call
 * KvService, the others answer UNIMPLEMENTED naming the method. The Cluster service's
 * membership changes that reach a member that does not lead are relayed to the leader
 * (relay.ts, KvService.atLeader).
 *
 * Requests reach the handlers undecoded (grpc-js's registered deserializer is the identity),
 * so that a malformed message is answered INVALID_ARGUMENT (grpc-js would say INTERNAL) and
 * a write is proposed as the bytes that arrived (command.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { EtcdServices, service } from './codec.ts';
import { GrpcCode, invalidArgument, KvError, unimplemented } from './errors.ts';
import { Cancel } from './call.ts';
import type { CallOptions } from './call.ts';
import { ForwardedHeader } from './relay.ts';
import type { LeaderRelay } from './relay.ts';
import type { KvService, Relay } from './service.ts';
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  ResponseHeader,
  TxnRequest,
} from './types.ts';
import { decodePutRequest, encodePutResponse } from './put_codec.ts';
import { checkInt } from './validate.ts';

/** GrpcOverheadBytes is what a gRPC message may carry beyond maxRequestBytes (etcd's). */
export const GrpcOverheadBytes = 512 * 1024;

/** AnyMethod is a method's definition from proto-loader (path, codecs, streaming). */
export type AnyMethod = MethodDefinition<object, object>;

/**
 * Handler serves one unary method: it gets the decoded request, the bytes it came in and
 * the call's options (how the client cancels it, its deadline), and resolves with the
 * response object.
 */
export type Handler = (req: never, raw: Uint8Array, call: CallOptions) => Promise<object>;

/**
 * RelayFor returns the Relay that hands the call of method `path` with request bytes `raw`
 * to the leader, or undefined when the server relays nothing.
 */
type RelayFor = (path: string, raw: Uint8Array) => Relay<object> | undefined;

function handlers(svc: KvService, relayFor: RelayFor): Record<string, Handler> {
  const withHeader = (rest: object, header?: ResponseHeader) => ({
    header: header ?? svc.header(),
    ...rest,
  });
  const add = '/etcdserverpb.Cluster/MemberAdd';
  const remove = '/etcdserverpb.Cluster/MemberRemove';
  const promote = '/etcdserverpb.Cluster/MemberPromote';
  return {
    '/etcdserverpb.KV/Range': (r: RangeRequest, _raw, call) => svc.range(r, call),
    '/etcdserverpb.KV/Put': (r: PutRequest, raw, call) => svc.put(r, { ...call, raw }),
    '/etcdserverpb.KV/DeleteRange': (r: DeleteRangeRequest, raw, call) =>
      svc.deleteRange(r, { ...call, raw }),
    '/etcdserverpb.KV/Txn': (r: TxnRequest, raw, call) => svc.txn(r, { ...call, raw }),
    '/etcdserverpb.Cluster/MemberList': async (r: { linearizable: boolean }, _raw, call) =>
      withHeader({ members: await svc.memberList(r.linearizable, call) }),
    // Membership changes run on the leader: a follower relays them (KvService.atLeader).
    [add]: (r: { peerURLs: string[]; isLearner: boolean }, raw, call) =>
      svc.atLeader(
        call,
        async (o) => {
          const member = await svc.memberAdd(r.peerURLs, r.isLearner, o);
          return withHeader({ member, members: svc.members() });
        },
        relayFor(add, raw),
      ),
    [remove]: async (r: { ID: number }, raw, call) => {
      checkInt('ID', r.ID, 0);
      const here = async (o: CallOptions) =>
        withHeader({ members: await svc.memberRemove(r.ID, o) });
      return svc.atLeader(call, here, relayFor(remove, raw), r.ID !== svc.backend.id);
    },
    [promote]: async (r: { ID: number }, raw, call) => {
      checkInt('ID', r.ID, 0);
      const here = async (o: CallOptions) =>
        withHeader({ members: await svc.memberPromote(r.ID, o) });
      return svc.atLeader(call, here, relayFor(promote, raw));
    },
    '/etcdserverpb.Maintenance/Status': () => Promise.resolve(svc.status()),
    // Not relayed, like etcd: a follower answers "not leader" and clients find the leader.
    '/etcdserverpb.Maintenance/MoveLeader': async (r: { targetID: number }, _raw, call) => {
      checkInt('targetID', r.targetID, 0);
      await svc.moveLeader(r.targetID, call);
      return withHeader({});
    },
  };
}

/** toStatus turns an error into the gRPC status the client gets. */
export function toStatus(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof KvError) return { code: err.code, details: err.message };
  const msg = err instanceof Error ? err.message : String(err);
  return { code: GrpcCode.INTERNAL, details: `raftkv: internal error: ${msg}` };
}

/**
 * GrpcMethod is one method of the etcd v3 API: its definition and, when raftkv implements
 * it, its handler.
 */
export interface GrpcMethod {
  readonly definition: AnyMethod;
  /** handler serves the method; undefined when raftkv does not implement it. */
  readonly handler: Handler | undefined;
  /**
   * deserialize decodes a request: the definition's requestDeserialize, or for Put a
   * hand-written decoder with the same result and far less garbage (put_codec.ts).
   */
  readonly deserialize: (raw: Buffer) => object;
  /** serialize encodes a response: responseSerialize, or for Put put_codec.ts's. */
  readonly serialize: (res: object) => Buffer;
}

/** fastCodecs are the hand-written codecs, by method path (see put_codec.ts). */
const fastCodecs: Record<
  string,
  { decode: (raw: Buffer) => object | undefined; encode: (res: object) => Buffer | undefined }
> = {
  '/etcdserverpb.KV/Put': { decode: (raw) => decodePutRequest(raw), encode: encodePutResponse },
};

function codecs(m: AnyMethod): Pick<GrpcMethod, 'deserialize' | 'serialize'> {
  const fast = fastCodecs[m.path];
  if (fast === undefined) {
    return { deserialize: m.requestDeserialize, serialize: m.responseSerialize };
  }
  return {
    deserialize: (raw) => fast.decode(raw) ?? m.requestDeserialize(raw),
    serialize: (res) => fast.encode(res) ?? m.responseSerialize(res),
  };
}

/**
 * grpcMethods returns every method of the etcd v3 services, by path. With a relay, the
 * membership changes that reach a member that does not lead are relayed to the leader.
 */
export function grpcMethods(svc: KvService, relay?: LeaderRelay): Map<string, GrpcMethod> {
  const defs = new Map<string, AnyMethod>();
  for (const name of EtcdServices) {
    for (const m of Object.values(service(name)) as AnyMethod[]) defs.set(m.path, m);
  }
  const relayFor: RelayFor = (path, raw) => {
    const method = defs.get(path);
    if (relay === undefined || method === undefined) return undefined;
    return (leader, signal) =>
      relay.unary({ leader, method, raw, signal, timeoutMs: signal.remainingMs() });
  };
  const impl = handlers(svc, relayFor);
  const out = new Map<string, GrpcMethod>();
  for (const m of defs.values()) {
    out.set(m.path, { definition: m, handler: impl[m.path], ...codecs(m) });
  }
  return out;
}

/**
 * decodeRequest decodes a request message of method m; it throws INVALID_ARGUMENT when the
 * message is over the service's maxRequestBytes or not a valid encoding.
 */
export function decodeRequest(svc: KvService, method: GrpcMethod, raw: Buffer): object {
  if (raw.length > svc.limits.maxRequestBytes) {
    throw invalidArgument(
      `etcdserver: request is too large: ${raw.length} bytes exceeds the limit of ${svc.limits.maxRequestBytes} bytes`,
    );
  }
  try {
    return method.deserialize(raw);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const path = method.definition.path;
    throw invalidArgument(`raftkv: cannot decode ${path} request: ${why}`, err);
  }
}

function unary(
  svc: KvService,
  method: GrpcMethod,
  h: Handler,
): grpc.handleUnaryCall<Buffer, object> {
  const m = method.definition;
  return (call, callback) => {
    const cancel = new Cancel();
    call.once('cancelled', () => cancel.cancel(new Error(`${m.path}: client cancelled`)));
    let req: object;
    try {
      req = decodeRequest(svc, method, call.request);
    } catch (err) {
      callback(toStatus(err));
      return;
    }
    void (async () => {
      let res: object;
      try {
        const forwarded = call.metadata.get(ForwardedHeader).length > 0;
        res = await h(req as never, call.request, { cancel, forwarded });
      } catch (err) {
        if (!cancel.cancelled) callback(toStatus(err));
        return;
      }
      callback(null, res);
    })();
  };
}

function unimplementedHandler(m: AnyMethod): grpc.UntypedHandleCall {
  const status = toStatus(unimplemented(m.path));
  if (!m.requestStream && !m.responseStream) {
    return ((_call, callback) => callback(status)) as grpc.handleUnaryCall<Buffer, object>;
  }
  return ((call: grpc.ServerWritableStream<Buffer, object>) => {
    call.emit('error', status);
  }) as grpc.UntypedHandleCall;
}

function callType(m: AnyMethod): string {
  if (m.requestStream) return m.responseStream ? 'bidi' : 'clientStream';
  return m.responseStream ? 'serverStream' : 'unary';
}

/** RelayOption is the option, shared by the gRPC servers, that relays to the leader. */
export interface RelayOption {
  /**
   * relay hands membership changes that reach a member that does not lead to the leader
   * (relay.ts). Without it, such a member answers them "not leader".
   */
  relay?: LeaderRelay | undefined;
}

/** GrpcServerOptions tune the grpc-js Server. */
export interface GrpcServerOptions extends RelayOption {
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ServerOptions;
}

/**
 * createGrpcServer returns a grpc-js Server with every etcd v3 method registered. It binds
 * no port: server.ts hands it connections through a connection injector.
 */
export function createGrpcServer(svc: KvService, o: GrpcServerOptions = {}): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': svc.limits.maxRequestBytes + GrpcOverheadBytes,
    ...o.channelOptions,
  });
  const identity = (b: Buffer): Buffer => b;
  for (const method of grpcMethods(svc, o.relay).values()) {
    const { definition: m, handler: h } = method;
    const handler = h === undefined ? unimplementedHandler(m) : unary(svc, method, h);
    server.register(m.path, handler, method.serialize, identity, callType(m));
  }
  return server;
}
