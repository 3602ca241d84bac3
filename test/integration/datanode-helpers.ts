import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, DATA_MESSAGE_BYTES } from '../../src/rpc/call';
import { blockCrcs } from '../../src/rpc/checksum';
import { fromServiceError } from '../../src/rpc/errors';
import type { DataNodeClient } from '../../src/rpc/gen/dfs/DataNode';
import type { HeartbeatRequest__Output } from '../../src/rpc/gen/dfs/HeartbeatRequest';
import type { RegisterRequest__Output } from '../../src/rpc/gen/dfs/RegisterRequest';
import type { ChunkReportRequest__Output } from '../../src/rpc/gen/dfs/ChunkReportRequest';
import type { WriteHeader } from '../../src/rpc/gen/dfs/WriteHeader';
import type { WriteChunkReply__Output } from '../../src/rpc/gen/dfs/WriteChunkReply';
import { dataNodeService, nameNodeService } from '../../src/rpc/load';

/** A raw gRPC client of one data node, as the client library would use it. */
export function dataNodeClient(address: string): DataNodeClient {
  const DataNode = dataNodeService().DataNode;
  return new DataNode(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}

/** Streams `data` into a chunk through the pipeline in the header, honouring backpressure. */
export function writeChunk(
  client: DataNodeClient,
  header: WriteHeader,
  data: Buffer,
): Promise<WriteChunkReply__Output> {
  return new Promise((resolve, reject) => {
    const call = client.writeChunk({ deadline: Date.now() + 60_000 }, (err, reply) =>
      err || !reply ? reject(fromServiceError(err, 'data node')) : resolve(reply),
    );
    call.on('error', () => undefined);
    call.write({ header });
    let at = 0;
    const pump = () => {
      while (at < data.length) {
        const piece = data.subarray(at, at + DATA_MESSAGE_BYTES);
        at += piece.length;
        if (!call.write({ data: piece })) return void call.once('drain', pump);
      }
      call.end();
    };
    pump();
  });
}

/** One stream carrying several ranges of a chunk: each range's message names its offset. */
export function writeChunkRanges(
  client: DataNodeClient,
  header: WriteHeader,
  ranges: { offset: number; data: Buffer }[],
): Promise<WriteChunkReply__Output> {
  return new Promise((resolve, reject) => {
    const call = client.writeChunk({ deadline: Date.now() + 60_000 }, (err, reply) =>
      err || !reply ? reject(fromServiceError(err, 'data node')) : resolve(reply),
    );
    call.on('error', () => undefined);
    call.write({ header });
    for (const r of ranges) call.write({ data: r.data, offset: String(r.offset) });
    call.end();
  });
}

/** Reads a whole chunk, verifying every block's CRC as the client does. */
export function readChunk(client: DataNodeClient, chunkId: string, version = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const call = client.readChunk(
      { chunkId, version: String(version), offset: '0', length: '0' },
      { deadline: Date.now() + 60_000 },
    );
    call.on('data', (m: { data: Buffer; crcs: number[] }) => {
      const expected = blockCrcs(m.data);
      if (expected.some((c, i) => c !== m.crcs[i] >>> 0)) reject(new Error('checksum mismatch in reply'));
      parts.push(m.data);
    });
    call.on('error', (err) => reject(fromServiceError(err, 'data node')));
    call.on('end', () => resolve(Buffer.concat(parts)));
  });
}

export function unaryCall<Res>(fn: (cb: (err: grpc.ServiceError | null, r?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, r) => (err ? reject(fromServiceError(err)) : resolve(r as Res))));
}

/**
 * Just enough of a name node to watch data nodes register, heartbeat and report,
 * without one that would reconcile (delete) the chunks these tests write directly.
 */
export class FakeRegistry {
  readonly registers: RegisterRequest__Output[] = [];
  readonly heartbeats: HeartbeatRequest__Output[] = [];
  readonly reports: ChunkReportRequest__Output[] = [];
  private server = new grpc.Server();
  port = 0;

  async start(): Promise<this> {
    this.server.addService(nameNodeService().NameNode.service, {
      Register: (call: grpc.ServerUnaryCall<RegisterRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.registers.push(call.request);
        cb(null, { clusterId: 'test', heartbeatIntervalMs: 200 });
      },
      Heartbeat: (call: grpc.ServerUnaryCall<HeartbeatRequest__Output, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.heartbeats.push(call.request);
        cb(null, { reregister: false });
      },
      ChunkReport: (
        call: grpc.ServerUnaryCall<ChunkReportRequest__Output, unknown>,
        cb: grpc.sendUnaryData<unknown>,
      ) => {
        this.reports.push(call.request);
        cb(null, {});
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    return this;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}
