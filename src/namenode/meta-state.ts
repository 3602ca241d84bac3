import { DfsError } from '../rpc/errors';
import { ClassRules, type ClassRulesSnapshot } from './class-rules';
import { type BoundaryTruncate, type Chunk, ChunkMap, type ChunkSnapshot } from './chunk-map';
import { Namespace, type NamespaceSnapshot } from './namespace';
import type { MetaRecord } from './records';

/** What applying a record did beyond the metadata: data node work for the live path (replay ignores it). */
export interface Effects {
  /** Chunks that left the map: delete them on their replicas. */
  freed: Chunk[];
  /** A truncate cut into this chunk: call TruncateChunk on its replicas. */
  truncated?: BoundaryTruncate;
  /** Replicas dropped from a chunk's set: delete that chunk on them. */
  dropped?: { chunkId: string; nodes: string[] };
}

export interface StateSnapshot {
  format: 1;
  chunkSize: number;
  namespace: NamespaceSnapshot;
  nextChunkId: number;
  chunks: ChunkSnapshot[];
  /** Storage classes and name patterns (absent in checkpoints written before they existed). */
  classes?: ClassRulesSnapshot;
}

/**
 * All name node metadata: the namespace, the chunk map and the storage class
 * rules. `apply` is the one way a record changes it, both live and on journal
 * replay.
 */
export class MetaState {
  constructor(
    readonly namespace: Namespace,
    readonly chunks: ChunkMap,
    readonly chunkSize: number,
    readonly classes: ClassRules = new ClassRules(),
  ) {}

  static fresh(chunkSize: number, owner: { uid: number; gid: number }, now: number): MetaState {
    return new MetaState(Namespace.fresh(owner, now), new ChunkMap(), chunkSize);
  }

  apply(rec: MetaRecord): Effects {
    const effects: Effects = { freed: [] };
    switch (rec.op) {
      case 'prepare': {
        const existing = this.chunks.get(rec.chunkId);
        if (existing) {
          existing.version = rec.version;
          this.chunks.setReplicas(existing, rec.replicas);
        } else {
          this.chunks.create(rec.chunkId, rec.ino, rec.index, rec.version, rec.replicas);
        }
        break;
      }
      case 'replace': {
        const chunk = this.requireChunk(rec.chunkId);
        chunk.version = rec.version;
        this.chunks.setReplicas(chunk, rec.replicas);
        break;
      }
      case 'commit': {
        const inode = this.namespace.get(rec.ino);
        for (const c of rec.chunks) {
          const chunk = this.chunks.get(c.chunkId);
          if (!chunk || chunk.version !== c.version) continue;
          chunk.size = c.size;
          if (c.replicas.length > 0) this.chunks.setReplicas(chunk, c.replicas);
        }
        inode.size = Math.max(inode.size, rec.minSize);
        inode.mtimeMs = rec.mtimeMs;
        inode.ctimeMs = rec.now;
        inode.generation++;
        break;
      }
      case 'dropReplicas': {
        const chunk = this.chunks.get(rec.chunkId);
        if (chunk) for (const node of rec.nodes) this.chunks.removeReplica(chunk, node);
        effects.dropped = { chunkId: rec.chunkId, nodes: rec.nodes };
        break;
      }
      case 'classCreate':
      case 'classDelete':
      case 'classPattern':
        this.classes.apply(rec);
        break;
      case 'setClass':
        this.namespace.setStorageClass(rec.ino, rec.className ?? undefined, rec.recursive);
        break;
      default: {
        for (const ino of this.namespace.apply(rec)) effects.freed.push(...this.chunks.dropFile(ino));
        if (rec.op === 'setattr' && rec.size !== undefined) {
          const { dropped, boundary } = this.chunks.truncateFile(rec.ino, rec.size, this.chunkSize);
          effects.freed.push(...dropped);
          effects.truncated = boundary;
        }
      }
    }
    return effects;
  }

  private requireChunk(id: string): Chunk {
    const chunk = this.chunks.get(id);
    if (!chunk) throw new DfsError('ENOENT', `no chunk ${id}`);
    return chunk;
  }

  snapshot(): StateSnapshot {
    return {
      format: 1,
      chunkSize: this.chunkSize,
      namespace: this.namespace.snapshot(),
      nextChunkId: this.chunks.nextChunkId,
      chunks: this.chunks.snapshot(),
      classes: this.classes.snapshot(),
    };
  }

  static restore(snap: StateSnapshot): MetaState {
    if (snap.format !== 1) throw new DfsError('EINVAL', `unknown checkpoint format ${String(snap.format)}`);
    return new MetaState(
      Namespace.restore(snap.namespace),
      ChunkMap.restore(snap.chunks, snap.nextChunkId),
      snap.chunkSize,
      ClassRules.restore(snap.classes),
    );
  }
}
