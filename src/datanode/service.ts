import type * as grpc from '@grpc/grpc-js';
import { handleUnary } from '../rpc/call';
import { DfsError, asDfsError, toServiceError } from '../rpc/errors';
import type { DataNodeHandlers } from '../rpc/gen/dfs/DataNode';
import type { ReadChunkRequest__Output } from '../rpc/gen/dfs/ReadChunkRequest';
import type { ReadChunkReply } from '../rpc/gen/dfs/ReadChunkReply';
import type { ChunkStat } from '../rpc/gen/dfs/ChunkStat';
import { parseChunkId, parseVersion } from './chunk-id';
import { handleWriteChunk, writeSmall, type PipelineContext } from './pipeline';
import { replicateChunk } from './replicate';
import { encodeReadReply, SMALL_READ_BYTES } from '../rpc/data-messages';
import { drained } from './stream-drain';
import { sessionHandler } from '../rpc/session';
import { dataNodeServiceDefinition } from './wire-passthrough';

/**
 * The DataNode gRPC service: thin handlers translating messages to chunk
 * store calls; errors leave as DfsError through src/rpc/errors.ts.
 */
export function dataNodeHandlers(ctx: PipelineContext): DataNodeHandlers {
  const { store, access } = ctx;
  const handlers: DataNodeHandlers = {
    WriteChunk: handleWriteChunk(ctx),

    ReadChunk: (call) => void streamRead(ctx, call),

    // Runs inside a Session (one message each way); answers with the encoded reply (data-messages.ts).
    ReadSmall: handleUnary(async (req, call) => {
      try {
        const chunkId = parseChunkId(req.chunkId);
        access.check(req.token, chunkId, 'read', call.getPeer());
        const length = parseVersion(req.length, 'length');
        if (length <= 0 || length > SMALL_READ_BYTES) {
          throw new DfsError('EINVAL', `ReadSmall of ${length} bytes (1 to ${SMALL_READ_BYTES})`);
        }
        let reply: Buffer | undefined;
        for await (const piece of store.read(
          chunkId,
          parseVersion(req.version),
          parseVersion(req.offset, 'offset'),
          length,
        )) {
          // A range of at most SMALL_READ_BYTES, widened to whole blocks, fits one piece.
          if (reply) throw new DfsError('EIO', 'ReadSmall range spans pieces');
          reply = encodeReadReply(piece);
          ctx.stats.bytesRead += piece.data.length;
        }
        if (!reply) throw new DfsError('EIO', `chunk ${chunkId}: read returned nothing`);
        return reply as unknown as ReadChunkReply;
      } catch (err) {
        throw readError(ctx, req, err);
      }
    }),

    WriteSmall: handleUnary((req, call) => writeSmall(ctx, req, call.getPeer())),

    Session: (call) => session(call),

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
  // Only small reads and writes ride a session: every other call is a command made rarely.
  const definition = dataNodeServiceDefinition();
  const inSession = new Set([definition.ReadSmall.path, definition.WriteSmall.path]);
  const notInSession = new Set(
    Object.values(definition)
      .map((d) => d.path)
      .filter((p) => !inSession.has(p)),
  );
  const session = sessionHandler(definition, handlers, notInSession, ctx.logger, `data node ${ctx.self.id}`);
  return handlers;
}

/** A read failure, naming this node (the client logs which replica failed). */
function readError(ctx: PipelineContext, req: ReadChunkRequest__Output, err: unknown): DfsError {
  const e = asDfsError(err);
  const named = new DfsError(e.errno, `${e.detail} [datanode ${ctx.self.id}]`);
  ctx.logger.warn({ reqId: req.requestId, chunkId: req.chunkId, err: named.message }, 'read failed');
  return named;
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
    const named = readError(ctx, req, err);
    if (!call.cancelled) call.emit('error', toServiceError(named));
  }
}
