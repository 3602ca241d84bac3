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
  /** Chunks with enough replicas, some on nodes their storage class does not want (to move). */
  misplaced: Chunk[];
}

/**
 * One pass over the chunk map: which chunks need another replica (ordered by
 * how many live copies are left: one before two, so a second failure loses as
 * little as possible; then by chunk id, oldest first), which have none left,
 * which have too many, and (with `misplaced`) which sit on nodes their
 * storage class does not want. `wanted` is the replication factor, or each
 * chunk's (its storage class). Empty chunks and chunks `skip` names (being
 * written, being copied) are left alone.
 */
export function scanReplication(
  chunks: Iterable<Chunk>,
  wanted: number | ((chunk: Chunk) => number),
  health: ReplicaCounter,
  skip: (chunk: Chunk) => boolean,
  misplacedCheck: (chunk: Chunk, counted: string[]) => boolean = () => false,
): ReplicationScan {
  const under: UnderReplicated[] = [];
  const missing: Chunk[] = [];
  const over: Chunk[] = [];
  const misplaced: Chunk[] = [];
  const wantedOf = typeof wanted === 'number' ? () => wanted : wanted;
  for (const chunk of chunks) {
    if (chunk.size === 0 || skip(chunk)) continue;
    const counted = health.counted(chunk);
    const live = counted.length;
    const want = wantedOf(chunk);
    if (live > want) over.push(chunk);
    if (live >= want) {
      if (misplacedCheck(chunk, counted)) misplaced.push(chunk);
      continue;
    }
    if (health.sources(chunk).length === 0) missing.push(chunk);
    else under.push({ chunk, live });
  }
  under.sort((a, b) => a.live - b.live || compareIds(a.chunk.id, b.chunk.id));
  return { under, missing, over, misplaced };
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
