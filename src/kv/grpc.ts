/**
 * The etcd v3 gRPC API on a @grpc/grpc-js Server. Every method of the KV, Watch, Lease,
 * Cluster, Maintenance and Auth services is registered: those raftkv implements call
 * KvService, the others answer UNIMPLEMENTED naming the method.
 *
 * Requests reach the handlers undecoded (the registered deserializer is the identity), so
 * that a malformed message is answered INVALID_ARGUMENT (grpc-js would say INTERNAL) and a
 * write is proposed as the bytes that arrived (command.ts).
 */
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { EtcdServices, service } from './codec.ts';
import { GrpcCode, invalidArgument, KvError, unimplemented } from './errors.ts';
import type { KvService } from './service.ts';
import type {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  ResponseHeader,
  TxnRequest,
} from './types.ts';
import { checkInt } from './validate.ts';

/** GrpcOverheadBytes is what a gRPC message may carry beyond maxRequestBytes (etcd's). */
export const GrpcOverheadBytes = 512 * 1024;

type AnyMethod = MethodDefinition<object, object>;

/**
 * Handler serves one unary method: it gets the decoded request, the bytes it came in and
 * a signal that aborts when the client cancels, and resolves with the response object.
 */
type Handler = (req: never, raw: Uint8Array, signal: AbortSignal) => Promise<object>;

function handlers(svc: KvService): Record<string, Handler> {
  const withHeader = (rest: object, header?: ResponseHeader) => ({
    header: header ?? svc.header(),
    ...rest,
  });
  return {
    '/etcdserverpb.KV/Range': (r: RangeRequest, _raw, signal) => svc.range(r, { signal }),
    '/etcdserverpb.KV/Put': (r: PutRequest, raw, signal) => svc.put(r, { raw, signal }),
    '/etcdserverpb.KV/DeleteRange': (r: DeleteRangeRequest, raw, signal) =>
      svc.deleteRange(r, { raw, signal }),
    '/etcdserverpb.KV/Txn': (r: TxnRequest, raw, signal) => svc.txn(r, { raw, signal }),
    '/etcdserverpb.Cluster/MemberList': async (r: { linearizable: boolean }, _raw, signal) =>
      withHeader({ members: await svc.memberList(r.linearizable, { signal }) }),
    '/etcdserverpb.Cluster/MemberAdd': async (
      r: { peerURLs: string[]; isLearner: boolean },
      _raw,
      signal,
    ) => {
      const member = await svc.memberAdd(r.peerURLs, r.isLearner, { signal });
      return withHeader({ member, members: svc.members() });
    },
    '/etcdserverpb.Cluster/MemberRemove': async (r: { ID: number }, _raw, signal) => {
      checkInt('ID', r.ID, 0);
      return withHeader({ members: await svc.memberRemove(r.ID, { signal }) });
    },
    '/etcdserverpb.Cluster/MemberPromote': async (r: { ID: number }, _raw, signal) => {
      checkInt('ID', r.ID, 0);
      return withHeader({ members: await svc.memberPromote(r.ID, { signal }) });
    },
    '/etcdserverpb.Maintenance/Status': () => Promise.resolve(svc.status()),
    '/etcdserverpb.Maintenance/MoveLeader': async (r: { targetID: number }, _raw, signal) => {
      checkInt('targetID', r.targetID, 0);
      await svc.moveLeader(r.targetID, { signal });
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

function decodeRequest(svc: KvService, m: AnyMethod, raw: Buffer): object {
  if (raw.length > svc.limits.maxRequestBytes) {
    throw invalidArgument(
      `etcdserver: request is too large: ${raw.length} bytes exceeds the limit of ${svc.limits.maxRequestBytes} bytes`,
    );
  }
  try {
    return m.requestDeserialize(raw);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw invalidArgument(`raftkv: cannot decode ${m.path} request: ${why}`, err);
  }
}

function unary(svc: KvService, m: AnyMethod, h: Handler): grpc.handleUnaryCall<Buffer, object> {
  return (call, callback) => {
    const ac = new AbortController();
    call.once('cancelled', () => ac.abort(new Error(`${m.path}: client cancelled`)));
    let req: object;
    try {
      req = decodeRequest(svc, m, call.request);
    } catch (err) {
      callback(toStatus(err));
      return;
    }
    void (async () => {
      let res: object;
      try {
        res = await h(req as never, call.request, ac.signal);
      } catch (err) {
        if (!ac.signal.aborted) callback(toStatus(err));
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

/** GrpcServerOptions tune the grpc-js Server. */
export interface GrpcServerOptions {
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
  const impl = handlers(svc);
  const identity = (b: Buffer): Buffer => b;
  for (const name of EtcdServices) {
    for (const m of Object.values(service(name)) as AnyMethod[]) {
      const h = impl[m.path];
      const handler = h === undefined ? unimplementedHandler(m) : unary(svc, m, h);
      server.register(m.path, handler, m.responseSerialize, identity, callType(m));
    }
  }
  return server;
}
