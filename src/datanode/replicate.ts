import * as grpc from '@grpc/grpc-js';
import { DfsError, fromServiceError } from '../rpc/errors';
import type { ReplicateChunkRequest__Output } from '../rpc/gen/dfs/ReplicateChunkRequest';
import type { WriteChunkRequest } from '../rpc/gen/dfs/WriteChunkRequest';
import type { WriteChunkReply__Output } from '../rpc/gen/dfs/WriteChunkReply';
import { parseChunkId, parseVersion } from './chunk-id';
import type { PipelineContext } from './pipeline';
import { drained } from './stream-drain';

/** A whole-chunk copy gets this long before it is abandoned. */
const REPLICATE_DEADLINE_MS = 5 * 60_000;

/**
 * Pushes this node's verified copy of a chunk to `target` through the target's
 * WriteChunk (create + replace, offset 0), at the requested version (or ours).
 * Used by the name node for re-replication and by clients for pipeline repair.
 */
export async function replicateChunk(ctx: PipelineContext, req: ReplicateChunkRequest__Output): Promise<number> {
  const chunkId = parseChunkId(req.chunkId);
  ctx.access.check(req.token, chunkId, 'replicate');
  const stat = ctx.store.stat(chunkId);
  if (!stat) throw new DfsError('ENOENT', `chunk ${chunkId} does not exist on ${ctx.self.id}`);
  if (!req.target?.address) throw new DfsError('EINVAL', `replicate chunk ${chunkId}: no target`);
  const version = Math.max(parseVersion(req.version), stat.version);
  const target = req.target;
  const client = ctx.peers.get(target.address);
  let call!: grpc.ClientWritableStream<WriteChunkRequest>;
  const reply = new Promise<WriteChunkReply__Output>((resolve, reject) => {
    call = client.writeChunk(new grpc.Metadata(), { deadline: Date.now() + REPLICATE_DEADLINE_MS }, (err, r) =>
      err || !r ? reject(fromServiceError(err, `${target.id} (${target.address})`)) : resolve(r),
    );
  });
  // Failures surface through `await reply`; these keep an early one from being unhandled meanwhile.
  call.on('error', () => undefined);
  reply.catch(() => undefined);
  const source = ctx.store.read(chunkId, 0, 0, 0);
  try {
    call.write({
      header: {
        chunkId,
        version: String(version),
        offset: '0',
        pipeline: [],
        create: true,
        replace: true,
        sync: ctx.syncOnClose,
        requestId: req.requestId,
        // The target checks the same replicate token (replacing writes accept one).
        token: req.token,
      },
    });
    let bytes = 0;
    for await (const piece of source) {
      if (piece.data.length === 0) continue;
      bytes += piece.data.length;
      if (!call.write({ data: piece.data, crcs: piece.crcs })) await drained(call);
    }
    call.end();
    await reply;
    ctx.stats.bytesReplicated += bytes;
    ctx.logger.info({ reqId: req.requestId, chunkId, version, target: target.id, bytes }, 'chunk replicated');
    return bytes;
  } catch (err) {
    call.cancel();
    await reply.catch(() => undefined);
    throw err;
  }
}
