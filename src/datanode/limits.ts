import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { guardInterceptor } from '../rpc/auth';
import { DfsError } from '../rpc/errors';

/** Streams (WriteChunk, ReadChunk) one client host may have open on a data node at once. */
export const DEFAULT_STREAMS_PER_CLIENT = 128;
/** A WriteChunk stream that sends nothing for this long is cancelled and its write not acknowledged. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

const STREAMING = new Set(['/dfs.DataNode/WriteChunk', '/dfs.DataNode/ReadChunk']);

/**
 * Bounds the streams each client host holds open, so one client cannot take
 * every file descriptor and buffer of a data node: one stream over the limit
 * is refused with RESOURCE_EXHAUSTED (EAGAIN) before its handler runs.
 */
export function streamLimit(perClient: number, log: Logger): grpc.ServerInterceptor {
  const open = new Map<string, number>();
  return guardInterceptor(
    (path, _metadata, call) => {
      if (!STREAMING.has(path)) return {};
      const host = call.getConnectionInfo().remoteAddress ?? call.getPeer();
      const n = open.get(host) ?? 0;
      if (n >= perClient) {
        throw new DfsError('EAGAIN', `too many concurrent streams from ${host} (limit ${perClient}); try again later`);
      }
      open.set(host, n + 1);
      return {
        done: () => {
          const left = (open.get(host) ?? 1) - 1;
          if (left <= 0) open.delete(host);
          else open.set(host, left);
        },
      };
    },
    (path, peer, reason) => log.warn({ rpc: path.split('/').pop(), peer, reason }, 'refused a stream'),
  );
}
