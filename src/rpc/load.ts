import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as NameNodeProto } from './gen/namenode';
import type { ProtoGrpcType as DataNodeProto } from './gen/datanode';

// Must match the flags of scripts/gen-proto.js so runtime objects have the generated shapes.
export const PROTO_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

// Protos are copied beside the compiled code (dist/rpc/protos) and live in src/rpc/protos for tests.
const PROTO_DIR = path.join(__dirname, 'protos');

function load<T>(file: string): T {
  const def = protoLoader.loadSync(path.join(PROTO_DIR, file), { ...PROTO_OPTIONS, includeDirs: [PROTO_DIR] });
  return grpc.loadPackageDefinition(def) as unknown as T;
}

let nameNodeProto: NameNodeProto | undefined;
let dataNodeProto: DataNodeProto | undefined;

export function nameNodeService(): NameNodeProto['dfs'] {
  nameNodeProto ??= load<NameNodeProto>('namenode.proto');
  return nameNodeProto.dfs;
}

export function dataNodeService(): DataNodeProto['dfs'] {
  dataNodeProto ??= load<DataNodeProto>('datanode.proto');
  return dataNodeProto.dfs;
}
