/**
 * Protobuf codecs of the etcd v3 API and of raftkv's own entry and snapshot formats, from the
 * .proto files in ./proto through @grpc/proto-loader. Decoded messages are plain objects
 * (see types.ts): camelCase names, every scalar field present, int64 as number, bytes as
 * Uint8Array, and for each oneof a property naming the member that is set.
 */
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import type {
  MessageTypeDefinition,
  Options,
  PackageDefinition,
  ServiceDefinition,
} from '@grpc/proto-loader';

/** ProtoDir is the directory of the .proto files (include path: "etcdserverpb/rpc.proto"). */
export const ProtoDir = fileURLToPath(new URL('./proto/', import.meta.url));

/** ProtoFiles are the files that define everything raftkv serves and stores. */
export const ProtoFiles = ['etcdserverpb/rpc.proto', 'raftkv/raftkv.proto'] as const;

/** LoaderOptions are the proto-loader options of every codec here. */
export const LoaderOptions: Readonly<Options> = {
  includeDirs: [ProtoDir],
  longs: Number,
  defaults: true,
  oneofs: true,
};

/** packageDefinition holds every service and message of ProtoFiles. */
export const packageDefinition: PackageDefinition = loadSync([...ProtoFiles], {
  ...LoaderOptions,
});

/** EtcdServices are the etcd v3 services, by short name. */
export const EtcdServices = ['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance', 'Auth'] as const;
/** EtcdService is the short name of an etcd v3 service. */
export type EtcdService = (typeof EtcdServices)[number];

/** service returns the definition of etcdserverpb.<name>. */
export function service(name: EtcdService): ServiceDefinition {
  return packageDefinition[`etcdserverpb.${name}`] as ServiceDefinition;
}

function messageType(fullName: string): MessageTypeDefinition<object, object> {
  const t = packageDefinition[fullName];
  if (t === undefined || !('serialize' in t)) {
    throw new TypeError(`codec: ${fullName} is not a message type`);
  }
  return t as MessageTypeDefinition<object, object>;
}

/**
 * Codec encodes and decodes one message type. decode() throws a RangeError naming the type
 * when the bytes are not a valid encoding of it.
 */
export interface Codec<T> {
  readonly name: string;
  encode(message: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** codec returns the codec of a message type by its full name ("etcdserverpb.PutRequest"). */
export function codec<T>(fullName: string): Codec<T> {
  const t = messageType(fullName);
  return {
    name: fullName,
    encode: (m) => {
      const buf = t.serialize(m as object);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    },
    decode: (bytes) => {
      try {
        return t.deserialize(asBuffer(bytes)) as T;
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new RangeError(`Cannot decode ${fullName}: ${why}`, { cause: err });
      }
    },
  };
}

/** asBuffer views bytes as a Buffer without copying (protobufjs wants one). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}
