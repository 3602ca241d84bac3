/** One chunk of a file. `replicas` are the data nodes believed to hold `version` (confirmed by their reports). */
export interface Chunk {
  id: string;
  ino: number;
  index: number;
  version: number;
  size: number;
  replicas: Set<string>;
}

export interface ChunkSnapshot {
  id: string;
  ino: number;
  index: number;
  version: number;
  size: number;
  replicas: string[];
}

/** What a truncate did to the chunk that straddles the new end of file. */
export interface BoundaryTruncate {
  chunk: Chunk;
  oldVersion: number;
}

/**
 * chunk id -> chunk, each file's chunks by index, and each data node's chunks
 * (kept in step with every replica change so reports and deletions are cheap).
 */
export class ChunkMap {
  private readonly chunks = new Map<string, Chunk>();
  private readonly files = new Map<number, Map<number, string>>();
  private readonly nodes = new Map<string, Set<string>>();
  nextChunkId = 1;

  get size(): number {
    return this.chunks.size;
  }

  get(id: string): Chunk | undefined {
    return this.chunks.get(id);
  }

  all(): IterableIterator<Chunk> {
    return this.chunks.values();
  }

  at(ino: number, index: number): Chunk | undefined {
    const id = this.files.get(ino)?.get(index);
    return id === undefined ? undefined : this.chunks.get(id);
  }

  /** A file's chunks in index order (sparse: missing indexes are holes). */
  ofFile(ino: number): Chunk[] {
    const byIndex = this.files.get(ino);
    if (!byIndex) return [];
    return [...byIndex.values()].map((id) => this.chunks.get(id)!).sort((a, b) => a.index - b.index);
  }

  onNode(node: string): ReadonlySet<string> {
    return this.nodes.get(node) ?? new Set();
  }

  create(id: string, ino: number, index: number, version: number, replicas: Iterable<string>): Chunk {
    const chunk: Chunk = { id, ino, index, version, size: 0, replicas: new Set() };
    this.chunks.set(id, chunk);
    let byIndex = this.files.get(ino);
    if (!byIndex) this.files.set(ino, (byIndex = new Map()));
    byIndex.set(index, id);
    this.nextChunkId = Math.max(this.nextChunkId, Number(id) + 1);
    this.setReplicas(chunk, replicas);
    return chunk;
  }

  setReplicas(chunk: Chunk, replicas: Iterable<string>): void {
    for (const node of chunk.replicas) this.nodes.get(node)?.delete(chunk.id);
    chunk.replicas = new Set(replicas);
    for (const node of chunk.replicas) this.nodeSet(node).add(chunk.id);
  }

  addReplica(chunk: Chunk, node: string): void {
    chunk.replicas.add(node);
    this.nodeSet(node).add(chunk.id);
  }

  removeReplica(chunk: Chunk, node: string): void {
    chunk.replicas.delete(node);
    this.nodes.get(node)?.delete(chunk.id);
  }

  private nodeSet(node: string): Set<string> {
    let set = this.nodes.get(node);
    if (!set) this.nodes.set(node, (set = new Set()));
    return set;
  }

  private remove(chunk: Chunk): void {
    this.chunks.delete(chunk.id);
    for (const node of chunk.replicas) this.nodes.get(node)?.delete(chunk.id);
    const byIndex = this.files.get(chunk.ino);
    byIndex?.delete(chunk.index);
    if (byIndex?.size === 0) this.files.delete(chunk.ino);
  }

  /** The file is gone: its chunks leave the map and are returned so their replicas can be deleted. */
  dropFile(ino: number): Chunk[] {
    const dropped = this.ofFile(ino);
    for (const chunk of dropped) this.remove(chunk);
    return dropped;
  }

  /**
   * Truncate to `size`: chunks wholly past the end leave the map (returned for
   * deletion); the chunk that straddles the end gets a new version and size, so
   * replicas that miss the TruncateChunk call are recognisably stale.
   */
  truncateFile(ino: number, size: number, chunkSize: number): { dropped: Chunk[]; boundary?: BoundaryTruncate } {
    const dropped: Chunk[] = [];
    let boundary: BoundaryTruncate | undefined;
    for (const chunk of this.ofFile(ino)) {
      const start = chunk.index * chunkSize;
      if (start >= size) {
        this.remove(chunk);
        dropped.push(chunk);
      } else if (start + chunk.size > size) {
        boundary = { chunk, oldVersion: chunk.version };
        chunk.version++;
        chunk.size = size - start;
      }
    }
    return { dropped, boundary };
  }

  snapshot(): ChunkSnapshot[] {
    return [...this.chunks.values()].map((c) => ({
      id: c.id,
      ino: c.ino,
      index: c.index,
      version: c.version,
      size: c.size,
      replicas: [...c.replicas],
    }));
  }

  static restore(chunks: ChunkSnapshot[], nextChunkId: number): ChunkMap {
    const map = new ChunkMap();
    for (const s of chunks) map.create(s.id, s.ino, s.index, s.version, s.replicas).size = s.size;
    map.nextChunkId = Math.max(map.nextChunkId, nextChunkId);
    return map;
  }
}
