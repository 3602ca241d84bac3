import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { verifyBlocks } from '../rpc/checksum';
import { DfsError, asDfsError, fromServiceError, toServiceError } from '../rpc/errors';
import type { WriteChunkReply, WriteChunkReply__Output } from '../rpc/gen/dfs/WriteChunkReply';
import type { WriteHeader__Output } from '../rpc/gen/dfs/WriteHeader';
import type { DataNodeRef__Output } from '../rpc/gen/dfs/DataNodeRef';
import type { WriteHeader } from '../rpc/gen/dfs/WriteHeader';
import type { WriteSmallRequest, WriteSmallRequest__Output } from '../rpc/gen/dfs/WriteSmallRequest';
import { SMALL_WRITE_BYTES } from '../rpc/data-messages';
import type { ChunkStore, ChunkWriter } from './chunk-store';
import { parseChunkId, parseVersion } from './chunk-id';
import { namesPipelineNode, pipelineNodeError, type NodeIdentity } from './node-identity';
import type { PeerClients } from './peer-clients';
import type { ChunkAccess } from './security';
import type { DataNodeStats } from './stats';
import { RAW_BYTES, type ForwardedWrite, type InboundWriteRequest } from './wire-passthrough';

export interface PipelineContext {
  store: ChunkStore;
  self: NodeIdentity;
  peers: PeerClients;
  logger: Logger;
  /** `--sync-on-close`: fsync every write before acknowledging it. */
  syncOnClose: boolean;
  stats: DataNodeStats;
  /** Checks each request's access token (a no-op in an open cluster). */
  access: ChunkAccess;
  /** A write stream that sends nothing for this long is cancelled and not acknowledged. */
  idleTimeoutMs: number;
}

/** Inbound bytes queued for the local disk before the stream is paused (bounds memory per stream). */
const LOCAL_QUEUE_LIMIT = 8 * 1024 * 1024;

type PauseReason = 'downstream' | 'local';

/**
 * One WriteChunk call: writes every data message locally and forwards it to
 * the next node as it arrives (write-through pipeline). The inbound stream is
 * paused while the downstream call or the local disk queue is full, so memory
 * stays bounded. Replies after the local write (+ fsync) and the downstream
 * reply; any failure fails the whole call, naming the node that failed.
 */
class WriteStream {
  private header?: WriteHeader__Output;
  private writer?: Promise<ChunkWriter>;
  private local: Promise<void> = Promise.resolve();
  private queued = 0;
  private down?: grpc.ClientWritableStream<ForwardedWrite>;
  private downNode?: DataNodeRef__Output;
  private downReply?: Promise<WriteChunkReply__Output>;
  private readonly paused = new Set<PauseReason>();
  private failed?: DfsError;
  private finished = false;
  private idleTimer?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    private readonly ctx: PipelineContext,
    private readonly call: grpc.ServerReadableStream<InboundWriteRequest, WriteChunkReply>,
    private readonly callback: grpc.sendUnaryData<WriteChunkReply>,
  ) {
    this.log = ctx.logger;
  }

  start(): void {
    this.ctx.stats.activeStreams++;
    this.armIdleTimer();
    this.call.on('data', (msg: InboundWriteRequest) => {
      this.armIdleTimer();
      this.onMessage(msg);
    });
    this.call.on('end', () => void this.onEnd());
    this.call.on('error', (err) => this.fail(asDfsError(err)));
    this.call.on('cancelled', () => this.fail(new DfsError('EIO', 'write cancelled by the sender')));
  }

  /**
   * A sender that goes silent (not one we paused) would hold the chunk's lock,
   * a file and a pipeline forever: after `idleTimeoutMs` the write fails and
   * nothing is acknowledged.
   */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (this.failed || this.finished) return;
    this.idleTimer = setTimeout(() => {
      if (this.paused.size > 0) return this.armIdleTimer();
      this.fail(new DfsError('ETIMEDOUT', `write stream idle for ${this.ctx.idleTimeoutMs / 1000}s; cancelled`));
    }, this.ctx.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private onMessage(msg: InboundWriteRequest): void {
    if (this.failed) return;
    try {
      if (!this.header) {
        if (!msg.header) throw new DfsError('EINVAL', 'WriteChunk: the first message must carry a header');
        this.begin(msg.header);
        // The header is forwarded rewritten; data in the same message goes on its own.
        if (msg.data && msg.data.length > 0) this.onData(msg.data, { data: msg.data, offset: msg.offset }, msg.offset);
        return;
      }
      if (msg.header) throw new DfsError('EINVAL', 'WriteChunk: header after the first message');
      // A sender that has block CRCs (re-replication) lets us catch corruption in transit.
      if (msg.crcs.length > 0) verifyBlocks(msg.data, msg.crcs, 0, `chunk ${this.header.chunkId} (incoming copy)`);
      if (msg.data && msg.data.length > 0) {
        this.onData(msg.data, msg[RAW_BYTES] ?? { data: msg.data, offset: msg.offset }, msg.offset);
      }
    } catch (err) {
      this.fail(asDfsError(err));
    }
  }

  private begin(header: WriteHeader__Output): void {
    this.header = header;
    const chunkId = parseChunkId(header.chunkId);
    const version = parseVersion(header.version);
    const offset = parseVersion(header.offset, 'offset');
    // Every hop checks the token itself; a replacing write (re-replication) may carry a replicate token.
    this.ctx.access.check(
      header.token,
      chunkId,
      header.replace ? ['write', 'replicate'] : 'write',
      this.call.getPeer(),
    );
    this.writer = this.ctx.store.openWriter(chunkId, {
      version,
      offset,
      create: header.create,
      replace: header.replace,
    });
    // Local failures to open surface through the local chain.
    this.local = this.writer.then(() => undefined);
    this.local.catch((err: unknown) => this.fail(asDfsError(err)));
    const [next, ...rest] = header.pipeline;
    if (next) this.openDownstream(next, { ...header, pipeline: rest });
    this.log.debug({ reqId: header.requestId, chunkId, version, offset, next: next?.id }, 'write stream open');
  }

  private openDownstream(next: DataNodeRef__Output, header: WriteHeader__Output): void {
    this.downNode = next;
    const client = this.ctx.peers.forwarder(next.address);
    this.downReply = new Promise((resolve, reject) => {
      // `parent` propagates the sender's deadline and cancellation down the pipeline.
      this.down = client.WriteChunk(new grpc.Metadata(), { parent: this.call }, (err, reply) =>
        err || !reply ? reject(this.downstreamError(err)) : resolve(reply),
      );
    });
    this.downReply.catch((err: unknown) => this.fail(asDfsError(err)));
    this.down?.on('drain', () => this.resume('downstream'));
    // Errors are reported through the callback; without this listener they would throw.
    this.down?.on('error', () => undefined);
    this.down?.write({ header });
  }

  private downstreamError(err: grpc.ServiceError | null): DfsError {
    const e = fromServiceError(err ?? new DfsError('EIO', 'empty reply'), this.downNode?.address);
    return downstreamFailure(e, { id: this.downNode?.id ?? '?', address: this.downNode?.address ?? '?' });
  }

  /** `at`: the chunk offset the message names, if any (else the data follows the previous message's). */
  private onData(data: Buffer, forward: ForwardedWrite, at?: string): void {
    const position = at === undefined ? undefined : parseVersion(at, 'offset');
    if (this.down && !this.down.write(forward)) this.pause('downstream');
    this.queued += data.length;
    if (this.queued > LOCAL_QUEUE_LIMIT) this.pause('local');
    this.local = this.local.then(async () => {
      if (this.failed) return;
      const writer = await this.writer!;
      await writer.write(data, position);
      this.ctx.stats.bytesWritten += data.length;
      this.queued -= data.length;
      if (this.queued <= LOCAL_QUEUE_LIMIT / 2) this.resume('local');
    });
    this.local.catch((err: unknown) => this.fail(asDfsError(err)));
  }

  private pause(reason: PauseReason): void {
    if (this.paused.size === 0) this.call.pause();
    this.paused.add(reason);
  }

  private resume(reason: PauseReason): void {
    if (!this.paused.delete(reason) || this.paused.size > 0 || this.failed) return;
    this.call.resume();
  }

  private async onEnd(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (this.failed) return;
    try {
      if (!this.header) throw new DfsError('EINVAL', 'WriteChunk: empty stream (no header)');
      this.down?.end();
      await this.local;
      const writer = await this.writer!;
      if (this.failed) return;
      const sync = this.header.sync || this.ctx.syncOnClose;
      const local = await writer.finish(sync);
      const downstream = this.downReply ? await this.downReply : undefined;
      if (this.failed) return;
      this.complete(null, {
        chunkId: local.chunkId,
        version: String(local.version),
        size: String(local.size),
        written: [this.ctx.self.id, ...(downstream?.written ?? [])],
      });
    } catch (err) {
      this.fail(asDfsError(err));
    }
  }

  private fail(err: DfsError): void {
    if (this.failed || this.finished) return;
    clearTimeout(this.idleTimer);
    this.failed = nodeFailure(this.ctx.self, err);
    this.log.warn(
      { reqId: this.header?.requestId, chunkId: this.header?.chunkId, err: this.failed.message },
      'write failed',
    );
    this.down?.cancel();
    // Keep draining so the sender is not stuck behind a paused stream.
    this.paused.clear();
    this.call.resume();
    const writer = this.writer;
    void this.local
      .catch(() => undefined)
      .then(async () => (await writer?.catch(() => undefined))?.abort())
      .finally(() => this.complete(this.failed!, undefined));
  }

  private complete(err: DfsError | null, reply: WriteChunkReply | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.stats.activeStreams--;
    if (err) this.callback(toServiceError(err) as grpc.ServiceError);
    else this.callback(null, reply);
  }
}

export function handleWriteChunk(
  ctx: PipelineContext,
): grpc.handleClientStreamingCall<InboundWriteRequest, WriteChunkReply> {
  return (call, callback) => new WriteStream(ctx, call, callback).start();
}

/**
 * WriteSmall: a WriteChunk stream's pipeline for data that fits one message.
 * The local write and the forward to the next node run at once; the reply
 * waits for both, so it means the same as WriteChunk's (every replica
 * downstream has the data, fsync'd with `sync`), and a failure names the node
 * that failed so the client repairs the pipeline the same way.
 */
export async function writeSmall(
  ctx: PipelineContext,
  req: WriteSmallRequest__Output,
  peer: string,
): Promise<WriteChunkReply> {
  const header = req.header;
  let writer: ChunkWriter | undefined;
  try {
    if (!header) throw new DfsError('EINVAL', 'WriteSmall: no header');
    if (req.data.length > SMALL_WRITE_BYTES) {
      throw new DfsError('EINVAL', `WriteSmall of ${req.data.length} bytes (at most ${SMALL_WRITE_BYTES})`);
    }
    const chunkId = parseChunkId(header.chunkId);
    ctx.access.check(header.token, chunkId, header.replace ? ['write', 'replicate'] : 'write', peer);
    const [next, ...rest] = header.pipeline;
    const downstream = next
      ? forwardSmall(ctx, next, { header: { ...header, pipeline: rest }, data: req.data })
      : undefined;
    // Awaited below once the local write is done; a failure meanwhile must not go unhandled.
    downstream?.catch(() => undefined);
    writer = await ctx.store.openWriter(chunkId, {
      version: parseVersion(header.version),
      offset: parseVersion(header.offset, 'offset'),
      create: header.create,
      replace: header.replace,
    });
    if (req.data.length > 0) await writer.write(req.data);
    ctx.stats.bytesWritten += req.data.length;
    const local = await writer.finish(header.sync || ctx.syncOnClose);
    writer = undefined;
    const down = await downstream;
    return {
      chunkId: local.chunkId,
      version: String(local.version),
      size: String(local.size),
      written: [ctx.self.id, ...(down?.written ?? [])],
    };
  } catch (err) {
    await writer?.abort().catch(() => undefined);
    const failed = nodeFailure(ctx.self, asDfsError(err));
    ctx.logger.warn({ reqId: header?.requestId, chunkId: header?.chunkId, err: failed.message }, 'write failed');
    throw failed;
  }
}

/** WriteSmall to the next node on this node's session with it; a node without WriteSmall gets a WriteChunk stream. */
async function forwardSmall(
  ctx: PipelineContext,
  next: DataNodeRef__Output,
  req: WriteSmallRequest,
): Promise<WriteChunkReply__Output> {
  const header = req.header as WriteHeader;
  const deadlineMs = ctx.idleTimeoutMs;
  try {
    const reply = await ctx.peers.inSession<WriteChunkReply__Output>(next.address, 'WriteSmall', req, {
      deadlineMs,
      requestId: header.requestId ?? '',
    });
    if (reply) return reply;
    return await new Promise<WriteChunkReply__Output>((resolve, reject) => {
      const call = ctx.peers
        .get(next.address)
        .WriteChunk({ deadline: Date.now() + deadlineMs }, (err, r) =>
          err || !r ? reject(fromServiceError(err ?? new DfsError('EIO', 'empty reply'), next.address)) : resolve(r),
        );
      call.write({ header });
      if (req.data && req.data.length > 0) call.write({ data: req.data });
      call.end();
    });
  } catch (err) {
    throw downstreamFailure(asDfsError(err), next);
  }
}

/** A local failure names this node; one from downstream already names its node. */
function nodeFailure(self: NodeIdentity, err: DfsError): DfsError {
  return namesPipelineNode(err.message) ? err : pipelineNodeError(self, err);
}

/** Errors from downstream that already name a failed node pass through; other failures name the next node. */
function downstreamFailure(e: DfsError, next: { id: string; address: string }): DfsError {
  if (namesPipelineNode(e.message)) return e;
  return pipelineNodeError(next, e.errno === 'ETIMEDOUT' || e.errno === 'EIO' ? e : new DfsError(e.errno, e.detail));
}
