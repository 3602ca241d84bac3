import type { Chunk } from './chunk-map';
import type { CorruptReplicas } from './corrupt-replicas';
import type { Decommissions } from './decommission';
import type { DataNodeRegistry } from './registry';

/**
 * The one rule for which replicas of a chunk count: used by the replication
 * queue, fsck, status, decommission progress and the balancer alike.
 */
export class ReplicaHealth {
  constructor(
    private readonly registry: DataNodeRegistry,
    private readonly drains: Decommissions,
    private readonly corrupt: CorruptReplicas,
  ) {}

  /** Replicas that count toward the replication factor: live, not draining, not known corrupt. */
  counted(chunk: Chunk): string[] {
    const out: string[] = [];
    for (const id of chunk.replicas) {
      if (this.registry.isLive(id) && !this.drains.isOut(id) && !this.corrupt.has(chunk.id, id)) out.push(id);
    }
    return out;
  }

  /** Replicas a copy (or a reader) can use: live and not known corrupt; draining nodes included. */
  sources(chunk: Chunk): string[] {
    const out: string[] = [];
    for (const id of chunk.replicas) {
      if (this.registry.isLive(id) && !this.corrupt.has(chunk.id, id)) out.push(id);
    }
    return out;
  }

  /**
   * Replicas a reader may try: the sources, or when every live copy is known
   * corrupt, those (a damaged copy may still serve the ranges that verify).
   */
  readable(chunk: Chunk): string[] {
    const sources = this.sources(chunk);
    if (sources.length > 0) return sources;
    return [...chunk.replicas].filter((id) => this.registry.isLive(id));
  }

  isCorrupt(chunk: Chunk): boolean {
    return this.corrupt.nodes(chunk.id).size > 0;
  }
}
