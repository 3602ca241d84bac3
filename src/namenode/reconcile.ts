import type { ChunkMap } from './chunk-map';

export interface ReportedReplica {
  chunkId: string;
  version: number;
  size: number;
}

export interface ReconcileResult {
  /** Replicas the node must delete: unknown chunks and stale versions. */
  toDelete: string[];
  /** Replicas at the current version. */
  valid: number;
}

/**
 * Reconciles a data node's full chunk report with the chunk map: replicas at
 * the current version count (and join the chunk's replica set), replicas of
 * unknown chunks or with a lower version are to be deleted, and chunks the map
 * thought were on the node but are missing from the report leave its set.
 * A chunk being written (`isBeingWritten`) keeps its older replicas: the
 * writer is about to bring them to the new version. A replica the report does
 * not list stays when `mayBeUnreported` says the report may predate it (a
 * copy that finished while the report was on its way).
 */
export function reconcileReport(
  chunks: ChunkMap,
  node: string,
  reported: readonly ReportedReplica[],
  isBeingWritten: (chunkId: string) => boolean,
  mayBeUnreported: (chunkId: string, node: string) => boolean = () => false,
): ReconcileResult {
  const toDelete: string[] = [];
  const seen = new Set<string>();
  let valid = 0;
  for (const r of reported) {
    seen.add(r.chunkId);
    const chunk = chunks.get(r.chunkId);
    if (!chunk) {
      toDelete.push(r.chunkId);
    } else if (r.version === chunk.version) {
      chunks.addReplica(chunk, node);
      valid++;
    } else if (r.version < chunk.version) {
      chunks.removeReplica(chunk, node);
      if (!isBeingWritten(chunk.id)) toDelete.push(r.chunkId);
    }
    // A newer version than the name node's cannot come from an acknowledged write; keep it, do not count it.
  }
  for (const id of [...chunks.onNode(node)]) {
    if (seen.has(id) || mayBeUnreported(id, node)) continue;
    const chunk = chunks.get(id);
    if (chunk) chunks.removeReplica(chunk, node);
  }
  return { toDelete, valid };
}
