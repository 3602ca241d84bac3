import type * as grpc from '@grpc/grpc-js';
import { handleUnary } from '../rpc/call';
import { DfsError, asDfsError, toServiceError } from '../rpc/errors';
import type { DataNodeHandlers } from '../rpc/gen/dfs/DataNode';
import type { ReadChunkRequest__Output } from '../rpc/gen/dfs/ReadChunkRequest';
import type { ReadChunkReply } from '../rpc/gen/dfs/ReadChunkReply';
import type { ChunkStat } from '../rpc/gen/dfs/ChunkStat';
import { parseChunkId, parseVersion } from './chunk-id';
import { handleWriteChunk, type PipelineContext } from './pipeline';
import { replicateChunk } from './replicate';
import { encodeReadReply } from '../rpc/data-messages';
import { drained } from './stream-drain';

/**
 * The DataNode gRPC service: thin handlers translating messages to chunk
 * store calls; errors leave as DfsError through src/rpc/errors.ts.
 */
export function dataNodeHandlers(ctx: PipelineContext): DataNodeHandlers {
  const { store, access } = ctx;
  return {
    WriteChunk: handleWriteChunk(ctx),

    ReadChunk: (call) => void streamRead(ctx, call),

    ReplicateChunk: handleUnary(async (req) => ({ size: String(await replicateChunk(ctx, req)) })),

    TruncateChunk: handleUnary(async (req, call): Promise<ChunkStat> => {
      const chunkId = parseChunkId(req.chunkId);
      access.check(req.token, chunkId, 'truncate', call.getPeer());
      const s = await store.truncate(
        chunkId,
        parseVersion(req.version),
        parseVersion(req.newVersion, 'new version'),
        parseVersion(req.size, 'size'),
      );
      ctx.logger.info({ chunkId: s.chunkId, version: s.version, size: s.size }, 'chunk truncated');
      return { chunkId: s.chunkId, version: String(s.version), size: String(s.size), exists: true };
    }),

    DeleteChunks: handleUnary(async (req, call) => {
      access.check(req.token, req.chunkIds, 'delete', call.getPeer());
      const deleted = await store.delete(req.chunkIds);
      if (deleted > 0) ctx.logger.info({ deleted, requested: req.chunkIds.length }, 'chunks deleted');
      return { deleted };
    }),

    StatChunk: handleUnary(async (req, call): Promise<ChunkStat> => {
      const id = parseChunkId(req.chunkId);
      access.check(req.token, id, 'stat', call.getPeer());
      const s = store.stat(id);
      if (!s) return { chunkId: id, version: '0', size: '0', exists: false };
      return { chunkId: id, version: String(s.version), size: String(s.size), exists: true };
    }),
  };
}

/** Streams verified whole blocks (~1 MiB per message), waiting whenever the reader falls behind. */
async function streamRead(
  ctx: PipelineContext,
  call: grpc.ServerWritableStream<ReadChunkRequest__Output, ReadChunkReply>,
): Promise<void> {
  const req = call.request;
  try {
    const chunkId = parseChunkId(req.chunkId);
    ctx.access.check(req.token, chunkId, 'read', call.getPeer());
    const pieces = ctx.store.read(
      chunkId,
      parseVersion(req.version),
      parseVersion(req.offset, 'offset'),
      parseVersion(req.length, 'length'),
    );
    // Read the next piece from disk while the current one is being sent.
    let next = pieces.next();
    for (;;) {
      next.catch(() => undefined); // handled below; keeps a failure during a drain wait from being "unhandled"
      const r = await next;
      if (r.done) break;
      if (call.cancelled) return void pieces.return(undefined);
      next = pieces.next();
      const piece = r.value;
      // Encoded around the bytes as read from disk (data-messages.ts); the service definition passes it on.
      const ok = call.write(encodeReadReply(piece) as unknown as ReadChunkReply);
      ctx.stats.bytesRead += piece.data.length;
      if (!ok) await drained(call);
    }
    call.end();
  } catch (err) {
    const e = asDfsError(err);
    const named = new DfsError(e.errno, `${e.detail} [datanode ${ctx.self.id}]`);
    ctx.logger.warn({ reqId: req.requestId, chunkId: req.chunkId, err: named.message }, 'read failed');
    if (!call.cancelled) call.emit('error', toServiceError(named));
  }
}
