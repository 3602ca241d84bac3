import type { Logger } from '../common/logger';
import { nextRequestId } from './request-id';
import { DATA_MESSAGE_BYTES } from '../rpc/call';
import { DfsError } from '../rpc/errors';
import type { CommittedChunk } from '../rpc/gen/dfs/CommittedChunk';
import type { ChunkLocation } from './attrs';
import type { DataNodePool } from './data-nodes';
import type { MetadataClient } from './metadata';
import type { Caller } from './types';
import { segmentChunkEnd, type Segment } from './write-buffer';
import { groupParts, type DataParts } from '../rpc/data-messages';

type NodeRef = { id: string; address: string };

/** What the writer knows about one chunk it writes: prepared once per open inode, repaired on failure. */
export interface ChunkSession {
  index: number;
  chunkId: string;
  version: number;
  token: string;
  pipeline: NodeRef[];
  /** Bytes in the chunk as far as this writer knows (max of replies and what it wrote). */
  size: number;
  /** Nodes that acknowledged the latest write at the current version. */
  replicas: string[];
  ackedAny: boolean;
  /** Written without sync since the last fsync. */
  unsynced: boolean;
  recovering?: Promise<void>;
}

function toSession(c: ChunkLocation): ChunkSession {
  return {
    index: c.index,
    chunkId: c.chunkId,
    version: c.version,
    token: c.token,
    pipeline: c.replicas,
    size: c.size,
    replicas: c.replicas.map((r) => r.id),
    ackedAny: false,
    unsynced: false,
  };
}

const MAX_SEND_ATTEMPTS = 5;
const PROBE_TIMEOUT_MS = 2_000;
/** Errors no other pipeline fixes: surface them as they are. */
/** A data node refused the session's access token because it expired (tokens.ts says so in its message). */
function isExpiredToken(err: DfsError): boolean {
  return err.errno === 'EACCES' && /access token for chunk \S+ expired/.test(err.message);
}

const FATAL = new Set(['ENOSPC', 'EACCES', 'EPERM', 'EFBIG', 'EROFS', 'ENOENT']);

/**
 * Sends segments of one file through the chunks' replication pipelines.
 * PrepareWrite once per chunk per open inode (the writer is shared by every
 * handle of the file in this process, so handles never bump each other's
 * versions); on a failure it finds the dead member, asks the name node for a
 * replacement, seeds the replacement from a survivor (ReplicateChunk) and
 * resends, so a data node dying mid-write does not fail the write
 * (ARCHITECTURE.md, write path step 3).
 */
export class PipelineWriter {
  private readonly sessions = new Map<number, Promise<ChunkSession>>();
  /** Prepared sessions by chunk index (since the last reset). */
  private readonly ready = new Map<number, ChunkSession>();
  /** Bumped by reset: a PrepareWrite answered after a reset belongs to the old file and is dropped. */
  private epoch = 0;

  constructor(
    private readonly meta: MetadataClient,
    private readonly pool: DataNodePool,
    private readonly ino: number,
    private readonly caller: Caller,
    private readonly dataTimeoutMs: number,
    private readonly log: Logger,
  ) {}

  session(index: number): Promise<ChunkSession> {
    let s = this.sessions.get(index);
    if (!s) {
      s = this.prepare(index);
      this.sessions.set(index, s);
      const prepared = s;
      prepared.catch(() => {
        if (this.sessions.get(index) === prepared) this.sessions.delete(index);
      });
    }
    return s;
  }

  /** Forgets every prepared chunk (after a truncate the name node has bumped versions). */
  reset(): void {
    this.sessions.clear();
    this.ready.clear();
    this.epoch++;
  }

  private async prepare(index: number): Promise<ChunkSession> {
    const requestId = nextRequestId();
    const epoch = this.epoch;
    const c: ChunkLocation = await this.meta.prepareWrite(this.ino, index, [], this.caller, requestId);
    if (epoch !== this.epoch)
      throw new DfsError('ESTALE', `chunk ${index} of inode ${this.ino}: truncated while preparing`);
    if (c.replicas.length === 0) {
      throw new DfsError(
        'ENOSPC',
        `no data node can take chunk ${index} of inode ${this.ino} (cluster full or no live nodes)`,
      );
    }
    const s = toSession(c);
    this.ready.set(index, s);
    return s;
  }

  /** A chunk the name node prepared with the file's create (CreateFile): its first write needs no PrepareWrite. */
  seedPrepared(c: ChunkLocation): void {
    if (this.sessions.has(c.index) || c.replicas.length === 0) return;
    const s = toSession(c);
    this.ready.set(c.index, s);
    this.sessions.set(c.index, Promise.resolve(s));
  }

  /** Sends one segment (or, with no parts, an empty sync marker) until every pipeline member has it. */
  async send(seg: Segment, sync: boolean): Promise<void> {
    const s = await this.session(seg.index);
    // The head range follows the header's offset; each further range names its own.
    const messages: DataParts[] = groupParts(seg.parts, DATA_MESSAGE_BYTES);
    for (const r of seg.more ?? []) {
      groupParts(r.parts, DATA_MESSAGE_BYTES).forEach((m, i) =>
        messages.push(i === 0 ? { ...m, offset: r.chunkOffset } : m),
      );
    }
    const requestId = nextRequestId();
    for (let attempt = 1; ; attempt++) {
      if (s.recovering) await s.recovering;
      const version = s.version;
      const pipeline = s.pipeline.slice();
      if (pipeline.length === 0) throw new DfsError('EIO', `chunk ${s.chunkId}: no replica left to write to`);
      let failure: DfsError;
      try {
        const reply = await this.pool.writeChunk(
          pipeline[0].address,
          {
            chunkId: s.chunkId,
            version: String(version),
            offset: String(seg.chunkOffset),
            pipeline: pipeline.slice(1),
            token: s.token,
            sync,
            create: true,
            requestId,
          },
          messages,
          this.dataTimeoutMs,
        );
        const missing = pipeline.filter((n) => !reply.written.includes(n.id));
        if (missing.length === 0 || reply.written.length === 0) {
          if (s.version === version) s.replicas = pipeline.map((n) => n.id);
          s.size = Math.max(s.size, segmentChunkEnd(seg), Number(reply.size) || 0);
          s.ackedAny = true;
          s.unsynced = !sync;
          return;
        }
        failure = new DfsError('EIO', `chunk ${s.chunkId}: ${missing.map((n) => n.id).join(', ')} did not acknowledge`);
      } catch (err) {
        failure = err as DfsError;
      }
      if (isExpiredToken(failure) && attempt < MAX_SEND_ATTEMPTS) {
        // A long-open file outlived its access token: a fresh write session brings a new one.
        await this.renew(s, requestId);
        continue;
      }
      if (FATAL.has(failure.errno) || attempt >= MAX_SEND_ATTEMPTS) throw failure;
      this.log.warn(
        { requestId, chunkId: s.chunkId, attempt, err: failure.message },
        'pipeline write failed; repairing',
      );
      if (s.version !== version) continue; // another segment already repaired this pipeline
      s.recovering ??= this.repair(s, pipeline, failure, requestId).finally(() => (s.recovering = undefined));
      await s.recovering;
    }
  }

  /** Finds the dead members of `pipeline` and replaces them (ARCHITECTURE.md write path step 3). */
  private async repair(s: ChunkSession, pipeline: NodeRef[], failure: DfsError, requestId: string): Promise<void> {
    if (failure.errno === 'ESTALE') {
      // Someone else bumped the chunk's version: start a fresh write session on it.
      await this.renew(s, requestId);
      return;
    }
    const alive = await Promise.all(
      pipeline.map((n) =>
        this.pool.statChunk(n.address, s.chunkId, s.token, PROBE_TIMEOUT_MS).then(
          () => true,
          (err: DfsError) => err.errno !== 'EIO' && err.errno !== 'ETIMEDOUT',
        ),
      ),
    );
    // A node that answers but failed the write (its disk, say) is named by the data node's error.
    const named = /pipeline node (\S+) \(/.exec(failure.message)?.[1];
    const dead = pipeline.filter(
      (n, i) => !alive[i] || (alive.every(Boolean) && failure.errno === 'EIO' && n.id === named),
    );
    if (dead.length > 0) alive.forEach((_, i) => (alive[i] = !dead.includes(pipeline[i])));
    let survivors = pipeline.filter((_, i) => alive[i]);
    if (dead.length === 0) return; // every member answers: a transient failure, resend as is
    if (survivors.length === 0)
      throw new DfsError('EIO', `chunk ${s.chunkId}: every replica failed (${failure.message})`);
    for (const d of dead) {
      const r = await this.meta.replacePipelineNode(
        { ino: this.ino, index: s.index, chunkId: s.chunkId, failedNode: d.id, survivors: survivors.map((n) => n.id) },
        this.caller,
        requestId,
      );
      s.version = r.chunk.version;
      s.token = r.chunk.token || s.token;
      if (r.replacement && !survivors.some((n) => n.id === r.replacement?.id)) {
        const seeded = await this.seed(s, survivors[0], r.replacement, requestId);
        if (seeded) survivors = [...survivors, r.replacement];
      } else {
        this.log.warn({ requestId, chunkId: s.chunkId }, 'no replacement data node: continuing on the survivors');
      }
    }
    s.pipeline = survivors;
    this.log.warn(
      {
        requestId,
        chunkId: s.chunkId,
        version: s.version,
        pipeline: survivors.map((n) => n.id),
        dead: dead.map((n) => n.id),
      },
      'pipeline repaired',
    );
  }

  /** Starts a fresh write session on the chunk: a new version, its current replicas and a new access token. */
  private async renew(s: ChunkSession, requestId: string): Promise<void> {
    const c = await this.meta.prepareWrite(this.ino, s.index, [], this.caller, requestId);
    Object.assign(s, {
      chunkId: c.chunkId,
      version: c.version,
      token: c.token,
      pipeline: c.replicas,
      size: c.chunkId === s.chunkId ? Math.max(s.size, c.size) : c.size,
    });
  }

  /** Copies what the survivor holds to the replacement so it can join the pipeline. */
  private async seed(s: ChunkSession, from: NodeRef, to: NodeRef, requestId: string): Promise<boolean> {
    try {
      await this.pool.replicateChunk(
        from.address,
        { chunkId: s.chunkId, version: s.version, target: to, token: s.token, requestId },
        this.dataTimeoutMs,
      );
      return true;
    } catch (err) {
      // Nothing acknowledged yet means there is nothing to copy: the resend creates the chunk there.
      if ((err as DfsError).errno === 'ENOENT' && !s.ackedAny) return true;
      this.log.warn({ requestId, chunkId: s.chunkId, to: to.id, err: String(err) }, 'could not seed the replacement');
      return false;
    }
  }

  /**
   * The prepared chunks among `indexes` that took data, as CommitWrite wants
   * them. A chunk whose PrepareWrite or every send failed is left out: its
   * failure is reported to the writer, and committing it would record data
   * that no replica has.
   */
  committed(indexes: Iterable<number>): CommittedChunk[] {
    const out: CommittedChunk[] = [];
    for (const i of indexes) {
      const s = this.ready.get(i);
      if (!s || !s.ackedAny) continue;
      out.push({
        index: String(s.index),
        chunkId: s.chunkId,
        version: String(s.version),
        size: String(s.size),
        replicas: s.replicas,
      });
    }
    return out;
  }

  /** Sessions written without sync since the last fsync. */
  unsynced(): ChunkSession[] {
    return [...this.ready.values()].filter((s) => s.unsynced);
  }
}
