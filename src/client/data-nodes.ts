import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, unary } from '../rpc/call';
import {
  encodeWriteData,
  isDataParts,
  SMALL_READ_BYTES,
  SMALL_WRITE_BYTES,
  type DataParts,
} from '../rpc/data-messages';
import { dataNodeService } from '../rpc/load';
import { DataNodeChannels } from '../rpc/datanode-channels';
import { fromServiceError } from '../rpc/errors';
import type { WriteHeader } from '../rpc/gen/dfs/WriteHeader';
import type { WriteChunkRequest } from '../rpc/gen/dfs/WriteChunkRequest';
import type { WriteChunkReply__Output } from '../rpc/gen/dfs/WriteChunkReply';
import type { ReadChunkRequest } from '../rpc/gen/dfs/ReadChunkRequest';
import type { ReadChunkReply__Output } from '../rpc/gen/dfs/ReadChunkReply';
import type { ChunkStat__Output } from '../rpc/gen/dfs/ChunkStat';
import type { TlsConfig } from '../rpc/tls';
import { ReadOffload } from './read-offload';
import { readVerified, type VerifiedPiece } from './verified-read';

const WRITE_CHUNK = () =>
  dataNodeService().DataNode.service.WriteChunk as grpc.MethodDefinition<WriteChunkRequest, unknown>;
let writerCtor: grpc.ServiceClientConstructor | undefined;

interface DataWriterClient extends grpc.Client {
  WriteChunk(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<WriteChunkReply__Output>,
  ): grpc.ClientWritableStream<WriteChunkRequest | DataParts>;
}

/** A read answered in one ReadSmall message (`length` 0 means to the end of the chunk: not small). */
function isSmallRead(request: ReadChunkRequest): boolean {
  const length = Number(request.length ?? 0);
  return length > 0 && length <= SMALL_READ_BYTES;
}

/**
 * The client's data node calls over one channel per address, shared by every
 * handle. Reads of up to SMALL_READ_BYTES and writes of up to
 * SMALL_WRITE_BYTES are one message on the node's session: a stream per call
 * costs about three times as much on both ends, which is most of a small
 * file's or a random read's time.
 */
export class DataNodePool extends DataNodeChannels {
  private offload: ReadOffload | undefined;
  private readonly writers = new Map<string, DataWriterClient>();

  /** From now on verified reads run on a worker thread (read-offload.ts); the mount asks for it. */
  offloadReads(tls: TlsConfig | undefined): void {
    this.offload ??= new ReadOffload(tls);
  }

  /** Reads answered by the read worker so far (0 without one). */
  get offloadedReads(): number {
    return this.offload?.served ?? 0;
  }

  /**
   * A chunk range with every block checked. Large reads run on the read
   * worker when there is one; a small one (a random read, a small file) is
   * one session message, whose CPU costs less than the two thread wake-ups
   * of a trip to the worker and back, so it runs here.
   */
  readVerified(address: string, request: ReadChunkRequest, deadlineMs: number): Promise<VerifiedPiece[]> {
    if (this.offload?.usable && !isSmallRead(request)) return this.offload.read(address, request, deadlineMs);
    return readVerified(this, address, request, deadlineMs);
  }

  override close(): void {
    this.offload?.close();
    this.offload = undefined;
    for (const c of this.writers.values()) c.close();
    this.writers.clear();
    super.close();
  }

  /** A WriteChunk client whose data messages are encoded by data-messages.ts (same channel as `get`). */
  private writerFor(address: string): DataWriterClient {
    let c = this.writers.get(address);
    if (!c) {
      writerCtor ??= grpc.makeGenericClientConstructor(
        {
          WriteChunk: {
            ...WRITE_CHUNK(),
            requestSerialize: (m: WriteChunkRequest | DataParts) =>
              isDataParts(m) ? encodeWriteData(m) : WRITE_CHUNK().requestSerialize(m),
          },
        },
        'dfs.DataNode',
      );
      c = new writerCtor(address, this.credentials, CHANNEL_OPTIONS) as unknown as DataWriterClient;
      this.writers.set(address, c);
    }
    return c;
  }

  /**
   * Writes one segment into a pipeline whose head is `address` and resolves
   * with the reply that says which nodes wrote it: a WriteSmall message on
   * the node's session when the segment is one small range (a small file),
   * else a WriteChunk stream.
   */
  async writeChunk(
    address: string,
    header: WriteHeader,
    messages: DataParts[],
    deadlineMs: number,
  ): Promise<WriteChunkReply__Output> {
    const [first] = messages;
    if (messages.length <= 1 && first?.offset === undefined && (first?.length ?? 0) <= SMALL_WRITE_BYTES) {
      const data = first ? Buffer.concat(first.parts, first.length) : Buffer.alloc(0);
      const reply = await this.inSession<WriteChunkReply__Output>(
        address,
        'WriteSmall',
        { header, data },
        { deadlineMs, requestId: header.requestId ?? '' },
      );
      if (reply) return reply;
    }
    return this.streamWrite(address, header, messages, deadlineMs);
  }

  /**
   * The header, then the data messages, waiting for 'drain' so a slow
   * pipeline holds back the sender instead of piling up buffers.
   */
  private streamWrite(
    address: string,
    header: WriteHeader,
    messages: DataParts[],
    deadlineMs: number,
  ): Promise<WriteChunkReply__Output> {
    const client = this.writerFor(address);
    const peer = `data node ${address}`;
    return new Promise<WriteChunkReply__Output>((resolve, reject) => {
      let done = false;
      let wake: (() => void) | undefined;
      const call = client.WriteChunk(new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, reply) => {
        done = true;
        wake?.();
        if (err || !reply) reject(fromServiceError(err, peer));
        else resolve(reply);
      });
      call.on('error', () => {
        // Reported through the callback above; listening keeps it from being an unhandled 'error'.
      });
      call.on('drain', () => wake?.());
      const send = async () => {
        call.write({ header });
        for (const message of messages) {
          if (done) return;
          if (!call.write(message)) {
            await new Promise<void>((r) => (wake = r));
            wake = undefined;
          }
        }
        if (!done) call.end();
      };
      void send();
    });
  }

  /** Reads a chunk range as the data node's checksummed messages (whole 64 KiB blocks). */
  async readChunk(address: string, request: ReadChunkRequest, deadlineMs: number): Promise<ReadChunkReply__Output[]> {
    if (isSmallRead(request)) {
      const reply = await this.inSession<ReadChunkReply__Output>(address, 'ReadSmall', request, {
        deadlineMs,
        requestId: request.requestId ?? '',
      });
      if (reply) return [reply];
    }
    return this.streamRead(address, request, deadlineMs);
  }

  private streamRead(
    address: string,
    request: ReadChunkRequest,
    deadlineMs: number,
  ): Promise<ReadChunkReply__Output[]> {
    const client = this.get(address);
    const peer = `data node ${address}`;
    return new Promise((resolve, reject) => {
      const out: ReadChunkReply__Output[] = [];
      const call = client.ReadChunk(request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
      call.on('data', (m: ReadChunkReply__Output) => out.push(m));
      call.on('error', (err) => reject(fromServiceError(err, peer)));
      call.on('end', () => resolve(out));
    });
  }

  replicateChunk(
    address: string,
    req: {
      chunkId: string;
      version: number;
      target: { id: string; address: string };
      token: string;
      requestId: string;
    },
    deadlineMs: number,
  ): Promise<{ size: string }> {
    const client = this.get(address);
    return unary<object, { size: string }>(
      client,
      client.ReplicateChunk,
      { ...req, version: String(req.version) },
      { deadlineMs, peer: `data node ${address}` },
    );
  }

  statChunk(address: string, chunkId: string, token: string, deadlineMs: number): Promise<ChunkStat__Output> {
    const client = this.get(address);
    return unary<object, ChunkStat__Output>(
      client,
      client.StatChunk,
      { chunkId, token },
      { deadlineMs, peer: `data node ${address}` },
    );
  }
}
