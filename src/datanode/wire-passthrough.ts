import * as grpc from '@grpc/grpc-js';
import type { WriteChunkRequest, WriteChunkRequest__Output } from '../rpc/gen/dfs/WriteChunkRequest';
import type { WriteChunkReply__Output } from '../rpc/gen/dfs/WriteChunkReply';
import type { ReadChunkReply } from '../rpc/gen/dfs/ReadChunkReply';
import { markHeadroom } from '../rpc/headroom';
import { dataNodeService } from '../rpc/load';

/**
 * Forwarding a data message down the pipeline re-encoded would copy every
 * byte once more per hop (and feed the GC a megabyte per message). Instead the
 * server keeps each WriteChunk message's wire bytes beside its decoded form
 * (whose `data` is a view into them, not a copy), and the forwarding client
 * sends those bytes as they are.
 */
export const RAW_BYTES = Symbol('wire bytes');

export type InboundWriteRequest = WriteChunkRequest__Output & { [RAW_BYTES]?: Buffer };

/**
 * The DataNode service definition, with WriteChunk requests keeping their wire
 * bytes and read replies sent as encoded by data-messages.ts.
 */
export function dataNodeServiceDefinition(): grpc.ServiceDefinition {
  const def = dataNodeService().DataNode.service;
  const wc = def.WriteChunk;
  const rc = def.ReadChunk;
  const rs = def.ReadSmall;
  return {
    ...def,
    ReadChunk: {
      ...rc,
      responseSerialize: (m: ReadChunkReply | Buffer) => (Buffer.isBuffer(m) ? m : rc.responseSerialize(m)),
    },
    ReadSmall: {
      ...rs,
      responseSerialize: (m: ReadChunkReply | Buffer) => (Buffer.isBuffer(m) ? m : rs.responseSerialize(m)),
    },
    WriteChunk: {
      ...wc,
      // The frame header grpc-js stripped is still in front of `buf`: forwarding reuses it (headroom.ts).
      requestDeserialize: (buf: Buffer): InboundWriteRequest =>
        Object.assign(wc.requestDeserialize(buf), { [RAW_BYTES]: markHeadroom(buf) }),
    },
  };
}

/** A message to forward: an encoded one as received, or a new one (the rewritten header). */
export type ForwardedWrite = WriteChunkRequest | Buffer;

export interface ForwardingClient extends grpc.Client {
  WriteChunk(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<WriteChunkReply__Output>,
  ): grpc.ClientWritableStream<ForwardedWrite>;
}

let ctor: grpc.ServiceClientConstructor | undefined;

/** A client with only WriteChunk, which sends Buffers unchanged and encodes anything else. */
export function forwardingClient(
  address: string,
  credentials: grpc.ChannelCredentials,
  options: grpc.ChannelOptions,
): ForwardingClient {
  if (!ctor) {
    const wc = dataNodeService().DataNode.service.WriteChunk;
    ctor = grpc.makeGenericClientConstructor(
      {
        WriteChunk: {
          ...wc,
          requestSerialize: (m: ForwardedWrite) => (Buffer.isBuffer(m) ? m : wc.requestSerialize(m)),
        },
      },
      'dfs.DataNode',
    );
  }
  return new ctor(address, credentials, options) as unknown as ForwardingClient;
}
