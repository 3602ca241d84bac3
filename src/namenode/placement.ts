import type { Chunk } from './chunk-map';
import type { LabelsOf, StorageClass } from './storage-class';

/** What placement needs to know about a live data node. */
export interface PlacementCandidate {
  id: string;
  capacity: number;
  used: number;
  /** Active streams plus chunks placed on it since its last heartbeat (its `used` does not show them yet). */
  load: number;
}

/**
 * Chooses up to `count` distinct nodes for a new chunk (or a replacement):
 * the most free space first, where each unit of load counts as one chunk of
 * space already taken, so a burst of allocations between two heartbeats
 * spreads over the nodes instead of piling onto the emptiest one. Excluded
 * nodes and nodes without room for a chunk are skipped; fewer than `count`
 * come back when there are not enough nodes (the caller reports it).
 */
export function choosePlacement(
  candidates: readonly PlacementCandidate[],
  count: number,
  exclude: ReadonlySet<string>,
  chunkSize: number,
  random: () => number = Math.random,
): string[] {
  const scored = candidates
    .filter((c) => !exclude.has(c.id))
    .map((c) => {
      const free = c.capacity - c.used;
      return { id: c.id, free, score: free - c.load * chunkSize, tie: random() };
    })
    .filter((c) => c.free >= chunkSize);
  scored.sort((a, b) => b.score - a.score || a.tie - b.tie);
  return scored.slice(0, Math.max(0, count)).map((c) => c.id);
}

/** Every eligible node, best first (the order choosePlacement picks in). */
export function rankNodes(
  candidates: readonly PlacementCandidate[],
  exclude: ReadonlySet<string>,
  chunkSize: number,
): string[] {
  return choosePlacement(candidates, Number.POSITIVE_INFINITY, exclude, chunkSize);
}

/** What the healing machinery asks about storage classes: a chunk's class and a node's labels. */
export interface ClassPolicy {
  classOf(chunk: Chunk): StorageClass;
  labelsOf: LabelsOf;
}
