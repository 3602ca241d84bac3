/**
 * Replicas known to have failed a checksum (reported by a reader or by the
 * data node's scrubber), per chunk. They never count as replicas, never serve
 * as a copy source and never receive a replacement copy of their own chunk;
 * fsck lists their chunks as corrupt until the chunk is fully replicated again.
 */
export class CorruptReplicas {
  private readonly byChunk = new Map<string, Set<string>>();

  /** Chunks with at least one known corrupt replica. */
  get size(): number {
    return this.byChunk.size;
  }

  add(chunkId: string, node: string): void {
    let set = this.byChunk.get(chunkId);
    if (!set) this.byChunk.set(chunkId, (set = new Set()));
    set.add(node);
  }

  has(chunkId: string, node: string): boolean {
    return this.byChunk.get(chunkId)?.has(node) ?? false;
  }

  nodes(chunkId: string): ReadonlySet<string> {
    return this.byChunk.get(chunkId) ?? new Set();
  }

  clear(chunkId: string): void {
    this.byChunk.delete(chunkId);
  }

  chunkIds(): string[] {
    return [...this.byChunk.keys()];
  }
}
