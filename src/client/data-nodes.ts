import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, unary } from '../rpc/call';
import { encodeWriteData, isDataParts, SMALL_READ_BYTES, type DataParts } from '../rpc/data-messages';
import { dataNodeService } from '../rpc/load';
import { DataNodeChannels } from '../rpc/datanode-channels';
import { DfsError, fromServiceError } from '../rpc/errors';
import { SessionClient } from '../rpc/session';
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

/**
 * The client's data node calls over one channel per address, shared by every
 * handle. Reads of up to SMALL_READ_BYTES are one ReadSmall message on the
 * node's session: a stream per read costs about three times as much on both
 * ends, which is most of a small file's or a random read's time.
 */
export class DataNodePool extends DataNodeChannels {
  private offload: ReadOffload | undefined;
  private readonly writers = new Map<string, DataWriterClient>();
  private readonly sessions = new Map<string, SessionClient>();
  /** Nodes that have no session (an older data node): every read is a stream there. */
  private readonly noSession = new Set<string>();

  /** From now on verified reads run on a worker thread (read-offload.ts); the mount asks for it. */
  offloadReads(tls: TlsConfig | undefined): void {
    this.offload ??= new ReadOffload(tls);
  }

  /** Reads answered by the read worker so far (0 without one). */
  get offloadedReads(): number {
    return this.offload?.served ?? 0;
  }

  /** A chunk range with every block checked: on the read worker when there is one, else here. */
  readVerified(address: string, request: ReadChunkRequest, deadlineMs: number): Promise<VerifiedPiece[]> {
    if (this.offload?.usable) return this.offload.read(address, request, deadlineMs);
    return readVerified(this, address, request, deadlineMs);
  }

  override close(): void {
    this.offload?.close();
    this.offload = undefined;
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
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
   * Streams one segment into a pipeline whose head is `address`: the header,
   * then the data messages, waiting for 'drain' so a slow pipeline holds back
   * the sender instead of piling up buffers. Resolves with the reply that says
   * which nodes wrote it.
   */
  writeChunk(
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
    const length = Number(request.length ?? 0);
    if (length > 0 && length <= SMALL_READ_BYTES && !this.noSession.has(address)) {
      try {
        const reply = await this.sessionFor(address).call<ReadChunkReply__Output>('ReadSmall', request, {
          deadlineMs,
          requestId: request.requestId ?? '',
        });
        return [reply];
      } catch (err) {
        if (!(err instanceof DfsError) || err.errno !== 'ENOSYS') throw err;
        this.noSession.add(address);
      }
    }
    return this.streamRead(address, request, deadlineMs);
  }

  /** The read session with one node, opened on first use (src/rpc/session.ts). */
  private sessionFor(address: string): SessionClient {
    let s = this.sessions.get(address);
    if (!s) {
      const client = this.get(address);
      s = new SessionClient(() => client.Session(), dataNodeService().DataNode.service, `data node ${address}`);
      this.sessions.set(address, s);
    }
    return s;
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
