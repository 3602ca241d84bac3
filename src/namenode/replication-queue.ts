import type { Chunk } from './chunk-map';

/** What the queue needs to know about one chunk's replicas (see ReplicaHealth). */
export interface ReplicaCounter {
  counted(chunk: Chunk): string[];
  sources(chunk: Chunk): string[];
}

export interface UnderReplicated {
  chunk: Chunk;
  /** Replicas that count now. */
  live: number;
}

export interface ReplicationScan {
  /** Chunks below the replication factor that can be copied, most endangered first. */
  under: UnderReplicated[];
  /** Chunks below the replication factor with no replica to copy from. */
  missing: Chunk[];
  /** Chunks with more counted replicas than wanted. */
  over: Chunk[];
}

/**
 * One pass over the chunk map: which chunks need another replica (ordered by
 * how many live copies are left: one before two, so a second failure loses as
 * little as possible; then by chunk id, oldest first), which have none left,
 * and which have too many. Empty chunks and chunks `skip` names (being
 * written, being copied) are left alone.
 */
export function scanReplication(
  chunks: Iterable<Chunk>,
  wanted: number,
  health: ReplicaCounter,
  skip: (chunk: Chunk) => boolean,
): ReplicationScan {
  const under: UnderReplicated[] = [];
  const missing: Chunk[] = [];
  const over: Chunk[] = [];
  for (const chunk of chunks) {
    if (chunk.size === 0 || skip(chunk)) continue;
    const live = health.counted(chunk).length;
    if (live > wanted) over.push(chunk);
    if (live >= wanted) continue;
    if (health.sources(chunk).length === 0) missing.push(chunk);
    else under.push({ chunk, live });
  }
  under.sort((a, b) => a.live - b.live || compareIds(a.chunk.id, b.chunk.id));
  return { under, missing, over };
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
