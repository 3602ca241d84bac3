import type { Logger } from '../common/logger';
import { nextRequestId } from './request-id';
import { asDfsError, DfsError } from '../rpc/errors';
import { blockSpan } from './chunk-ranges';
import type { ChunkLocation } from './attrs';
import type { CopySlab } from './copy-slab';
import type { DataNodePool } from './data-nodes';
import type { MetadataClient } from './metadata';
import type { CommittedChunk } from '../rpc/gen/dfs/CommittedChunk';
import { PipelineWriter } from './pipeline-writer';
import type { Caller, FileAttr } from './types';
import { segmentChunkEnd, WriteBuffer, type Segment } from './write-buffer';

interface InFlight {
  seg: Segment;
  blocks: { start: number; end: number };
  /** Settles (never rejects) once the segment is acknowledged or has failed. */
  done: Promise<void>;
}

export interface WriterLimits {
  writeBufferBytes: number;
  segmentBytes: number;
  maxInFlightSegments: number;
  dataTimeoutMs: number;
}

/**
 * The write side of one open inode, shared by every handle of it in this
 * process (open-file.ts): buffers writes, sends whole segments in the
 * background with at most `maxInFlightSegments` streams (and so bounded
 * memory), keeps every segment until its pipeline acknowledged it, and
 * commits chunk sizes and replicas on flush.
 *
 * Flushes may run while other writes go on: every write gets a sequence
 * number and a flush only forgets what was written before it started. A
 * failed background send is counted (`errors`, like Linux's errseq) so each
 * handle reports it once, at its next write, flush or close.
 */
export class FileWriter {
  private readonly buffer: WriteBuffer;
  private readonly pipeline: PipelineWriter;
  /** Segments queued or being sent, in the order they were taken from the buffer. */
  private readonly inFlight = new Set<InFlight>();
  private sending = 0;
  private readonly slotWaiters: (() => void)[] = [];
  /** Chunk index -> sequence number of the last write into it since it was last committed. */
  private readonly dirtyChunks = new Map<number, number>();
  private seq = 0;
  /** End of the furthest byte written since the last commit, and the write that set it. */
  private pendingEnd = 0;
  private pendingEndSeq = 0;
  private failures = 0;
  private lastFailure?: DfsError;
  /** Whether a send failed since the last commit (that commit must not claim its bytes). */
  private failedSinceCommit = false;
  /** The lowest file offset a failed send was to write since the last commit (Infinity: none). */
  private failedFrom = Infinity;
  /** Chunks written without sync before a truncate made the writer forget them: the next fsync syncs them. */
  private readonly needSync = new Set<number>();

  constructor(
    private readonly meta: MetadataClient,
    pool: DataNodePool,
    private readonly slab: CopySlab,
    private readonly ino: number,
    private readonly caller: Caller,
    readonly chunkSize: number,
    private readonly limits: WriterLimits,
    private readonly log: Logger,
  ) {
    this.buffer = new WriteBuffer(chunkSize, Math.min(limits.segmentBytes, chunkSize));
    this.pipeline = new PipelineWriter(meta, pool, ino, caller, limits.dataTimeoutMs, log);
  }

  /** Chunk 0 as the file's create prepared it (PipelineWriter.seed). */
  seed(first: ChunkLocation): void {
    this.pipeline.seedPrepared(first);
  }

  /** The size the uncommitted writes give the file (0 when nothing is pending). */
  get end(): number {
    return this.pendingEnd;
  }

  get hasUncommitted(): boolean {
    return this.dirtyChunks.size > 0;
  }

  /** How many background sends have failed so far (each handle reports new ones once). */
  get errors(): number {
    return this.failures;
  }

  /** The latest background failure. */
  get lastError(): DfsError | undefined {
    return this.lastFailure;
  }

  /** True when [position, position + length) touches a chunk written since the last commit. */
  touches(position: number, length: number): boolean {
    if (this.dirtyChunks.size === 0) return false;
    const first = Math.floor(position / this.chunkSize);
    const last = Math.floor((position + Math.max(length, 1) - 1) / this.chunkSize);
    for (const i of this.dirtyChunks.keys()) if (i >= first && i <= last) return true;
    return false;
  }

  /**
   * Buffers `data` at `position` (synchronously, before the first await, so
   * an O_APPEND caller's position stays right), then sends what is ready.
   */
  async write(position: number, data: Buffer): Promise<void> {
    // The caller may reuse its buffer (FUSE does) once we return: keep our own copy.
    this.buffer.insert(position, this.slab.copy(data, data.length));
    const seq = ++this.seq;
    if (position + data.length >= this.pendingEnd) {
      this.pendingEnd = position + data.length;
      this.pendingEndSeq = seq;
    }
    const firstChunk = Math.floor(position / this.chunkSize);
    const lastChunk = Math.floor((position + data.length - 1) / this.chunkSize);
    for (let i = firstChunk; i <= lastChunk; i++) this.dirtyChunks.set(i, seq);
    for (const seg of this.buffer.takeFull(position)) this.launch(seg, false);
    while (this.buffer.bytes > this.limits.writeBufferBytes) {
      for (const seg of this.buffer.takeOldest()) this.launch(seg, false);
    }
    await this.backpressure();
  }

  /**
   * Sends everything buffered, waits for every acknowledgement, then commits
   * what was acknowledged; `sync` makes replicas fsync. Background failures
   * are not thrown here (see `errors`); a failed commit is, and leaves the
   * chunks dirty for the next flush.
   */
  async flush(sync = false): Promise<FileAttr | undefined> {
    const upTo = this.seq;
    for (const seg of this.buffer.takeAll()) this.launch(seg, sync);
    await this.drain();
    if (sync) {
      const indexes = new Set([...this.pipeline.unsynced().map((s) => s.index), ...this.needSync]);
      await Promise.all(
        [...indexes].map((index) =>
          this.pipeline.send({ index, chunkOffset: 0, fileOffset: 0, length: 0, parts: [] }, true),
        ),
      );
      // A chunk synced afresh after a truncate has a new version: commit it.
      for (const i of this.needSync) if (!this.dirtyChunks.has(i)) this.dirtyChunks.set(i, upTo);
      this.needSync.clear();
    }
    if (this.dirtyChunks.size === 0) return undefined;
    const failed = this.failedSinceCommit;
    const failedFrom = this.failedFrom;
    // After a failed send (a full cluster, say) the file grows only to the end of what replicas
    // acknowledged before the first failed byte: never over bytes no replica holds, even when a
    // later segment (on a node that still had room) was acknowledged; chunks wholly past the
    // failure are left out of the commit.
    const written = [...this.dirtyChunks.keys()].filter((i) => !failed || i * this.chunkSize < failedFrom);
    const chunks = this.pipeline.committed(written);
    const minSize = failed ? Math.min(this.pendingEnd, ackedEnd(chunks, this.chunkSize), failedFrom) : this.pendingEnd;
    this.failedSinceCommit = false;
    this.failedFrom = Infinity;
    let attr: FileAttr | undefined;
    if (chunks.length > 0 || minSize > 0) {
      try {
        attr = await this.meta.commitWrite(this.ino, chunks, minSize, this.caller, nextRequestId());
      } catch (err) {
        this.failedSinceCommit ||= failed;
        this.failedFrom = Math.min(this.failedFrom, failedFrom);
        throw err;
      }
    }
    for (const [i, s] of [...this.dirtyChunks]) if (s <= upTo) this.dirtyChunks.delete(i);
    if (this.pendingEndSeq <= upTo) this.pendingEnd = 0;
    return attr;
  }

  /**
   * After the name node truncated the file to `size` (with nothing of ours
   * pending: the caller flushed first and holds off other writes): drops
   * buffered bytes past it and forgets every prepared chunk, since the name
   * node removed or re-versioned them.
   */
  async truncated(size: number): Promise<void> {
    this.buffer.truncate(size);
    await this.drain();
    for (const s of this.pipeline.unsynced()) if (s.index * this.chunkSize < size) this.needSync.add(s.index);
    for (const i of [...this.needSync]) if (i * this.chunkSize >= size) this.needSync.delete(i);
    this.pipeline.reset();
    this.pendingEnd = Math.min(this.pendingEnd, size);
  }

  /** Copies not-yet-committed bytes over `target` (file range starting at `position`). */
  overlay(position: number, target: Buffer): void {
    for (const f of this.inFlight) {
      const { seg } = f;
      const chunkStart = seg.index * this.chunkSize;
      for (const r of [seg, ...(seg.more ?? [])]) {
        const rangeStart = chunkStart + r.chunkOffset;
        const from = Math.max(position, rangeStart);
        const to = Math.min(position + target.length, rangeStart + r.length);
        let at = rangeStart;
        for (const p of r.parts) {
          const pFrom = Math.max(from, at);
          const pTo = Math.min(to, at + p.length);
          if (pFrom < pTo) p.copy(target, pFrom - position, pFrom - at, pTo - at);
          at += p.length;
        }
      }
    }
    this.buffer.overlay(position, target);
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight].map((f) => f.done));
  }

  /** Holds a writer back while more than `maxInFlightSegments` segments wait or travel (bounded memory). */
  private async backpressure(): Promise<void> {
    while (this.inFlight.size > this.limits.maxInFlightSegments) {
      await Promise.race([...this.inFlight].map((f) => f.done));
    }
  }

  /**
   * Queues a segment: it is registered at once (so segments are ordered as
   * they left the buffer), waits for every earlier segment of the same chunk
   * that shares a 64 KiB checksum block with it (the data node recomputes a
   * block's CRC from its content: two streams must not race on it, and the
   * later bytes must land last), then for a free stream.
   */
  private launch(seg: Segment, sync: boolean): void {
    // Ranges of a segment are in offset order, so this span covers all of them.
    const blocks = blockSpan(seg.chunkOffset, segmentChunkEnd(seg) - seg.chunkOffset);
    const earlier = [...this.inFlight].filter(
      (f) => f.seg.index === seg.index && f.blocks.start < blocks.end && blocks.start < f.blocks.end,
    );
    const entry: InFlight = { seg, blocks, done: Promise.resolve() };
    entry.done = (async () => {
      await Promise.all(earlier.map((f) => f.done));
      await this.acquireSlot();
      try {
        await this.pipeline.send(seg, sync);
      } catch (err) {
        const e = asDfsError(err);
        // Reported to the caller by the next write/flush/close (which logs or prints it).
        this.log.debug({ ino: this.ino, chunk: seg.index, offset: seg.fileOffset, err: e.message }, 'write failed');
        this.failures++;
        this.lastFailure = e;
        this.failedSinceCommit = true;
        this.failedFrom = Math.min(this.failedFrom, seg.fileOffset);
      } finally {
        this.releaseSlot();
        this.inFlight.delete(entry);
      }
    })();
    this.inFlight.add(entry);
  }

  private async acquireSlot(): Promise<void> {
    if (this.sending < this.limits.maxInFlightSegments) {
      this.sending++;
      return;
    }
    await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.sending--;
  }
}

/** The end of the furthest acknowledged byte among `chunks` (0 when none). */
function ackedEnd(chunks: CommittedChunk[], chunkSize: number): number {
  let end = 0;
  for (const c of chunks) end = Math.max(end, Number(c.index) * chunkSize + Number(c.size));
  return end;
}
