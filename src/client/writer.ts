import type { Logger } from '../common/logger';
import { nextRequestId } from './request-id';
import { asDfsError, DfsError } from '../rpc/errors';
import { blockSpan } from './chunk-ranges';
import type { DataNodePool } from './data-nodes';
import type { MetadataClient } from './metadata';
import { PipelineWriter } from './pipeline-writer';
import type { Caller, FileAttr } from './types';
import { WriteBuffer, type Segment } from './write-buffer';

interface InFlight {
  seg: Segment;
  blocks: { start: number; end: number };
  done: Promise<void>;
}

export interface WriterLimits {
  writeBufferBytes: number;
  segmentBytes: number;
  maxInFlightSegments: number;
  dataTimeoutMs: number;
}

/**
 * The write side of one open file: buffers writes, sends whole segments in
 * the background with at most `maxInFlightSegments` streams (and so bounded
 * memory), keeps every segment until its pipeline acknowledged it, and
 * commits chunk sizes and replicas on flush. A failure of a background send
 * is reported by the next write, flush or close, as a local file system does.
 */
export class FileWriter {
  private readonly buffer: WriteBuffer;
  private readonly pipeline: PipelineWriter;
  private readonly inFlight = new Set<InFlight>();
  private failure?: DfsError;
  /** Chunks written since the last commit. */
  private readonly dirtyChunks = new Set<number>();
  /** End of the furthest byte written since the last commit. */
  private pendingEnd = 0;

  constructor(
    private readonly meta: MetadataClient,
    pool: DataNodePool,
    private readonly ino: number,
    private readonly caller: Caller,
    readonly chunkSize: number,
    private readonly limits: WriterLimits,
    private readonly log: Logger,
  ) {
    this.buffer = new WriteBuffer(chunkSize, Math.min(limits.segmentBytes, chunkSize));
    this.pipeline = new PipelineWriter(meta, pool, ino, caller, limits.dataTimeoutMs, log);
  }

  /** The size this handle's uncommitted writes give the file (0 when nothing is pending). */
  get end(): number {
    return this.pendingEnd;
  }

  get hasUncommitted(): boolean {
    return this.dirtyChunks.size > 0;
  }

  /** True when [position, position + length) touches a chunk written since the last commit. */
  touches(position: number, length: number): boolean {
    if (this.dirtyChunks.size === 0) return false;
    const first = Math.floor(position / this.chunkSize);
    const last = Math.floor((position + Math.max(length, 1) - 1) / this.chunkSize);
    for (const i of this.dirtyChunks) if (i >= first && i <= last) return true;
    return false;
  }

  async write(position: number, data: Buffer): Promise<void> {
    this.throwFailure();
    // The caller may reuse its buffer (FUSE does) once we return: keep our own copy.
    const copy = Buffer.allocUnsafe(data.length);
    data.copy(copy);
    this.buffer.insert(position, copy);
    this.pendingEnd = Math.max(this.pendingEnd, position + data.length);
    const firstChunk = Math.floor(position / this.chunkSize);
    const lastChunk = Math.floor((position + data.length - 1) / this.chunkSize);
    for (let i = firstChunk; i <= lastChunk; i++) this.dirtyChunks.add(i);
    for (const seg of this.buffer.takeFull(position)) await this.launch(seg, false);
    while (this.buffer.bytes > this.limits.writeBufferBytes) {
      for (const seg of this.buffer.takeOldest()) await this.launch(seg, false);
    }
  }

  /** Sends everything buffered, waits for every acknowledgement, then commits; `sync` makes replicas fsync. */
  async flush(sync = false): Promise<FileAttr | undefined> {
    for (const seg of this.buffer.takeAll()) await this.launch(seg, sync);
    await this.drain();
    this.throwFailure();
    if (sync) {
      await Promise.all(
        this.pipeline
          .unsynced()
          .map((s) =>
            this.pipeline.send({ index: s.index, chunkOffset: 0, fileOffset: 0, length: 0, parts: [] }, true),
          ),
      );
    }
    if (this.dirtyChunks.size === 0) return undefined;
    const indexes = [...this.dirtyChunks];
    const chunks = await this.pipeline.committed(indexes);
    const attr = await this.meta.commitWrite(this.ino, chunks, this.pendingEnd, this.caller, nextRequestId());
    for (const i of indexes) this.dirtyChunks.delete(i);
    this.pendingEnd = 0;
    return attr;
  }

  /** Drops buffered bytes at or past `size` and forgets prepared chunks (the name node bumps their versions). */
  async truncated(size: number): Promise<void> {
    this.buffer.truncate(size);
    await this.drain();
    this.pipeline.reset();
  }

  /** Copies not-yet-committed bytes of this handle over `target` (file range starting at `position`). */
  overlay(position: number, target: Buffer): void {
    for (const f of this.inFlight) {
      const { seg } = f;
      const from = Math.max(position, seg.fileOffset);
      const to = Math.min(position + target.length, seg.fileOffset + seg.length);
      let at = seg.fileOffset;
      for (const p of seg.parts) {
        const pFrom = Math.max(from, at);
        const pTo = Math.min(to, at + p.length);
        if (pFrom < pTo) p.copy(target, pFrom - position, pFrom - at, pTo - at);
        at += p.length;
      }
    }
    this.buffer.overlay(position, target);
  }

  private throwFailure(): void {
    const f = this.failure;
    if (f) {
      this.failure = undefined;
      throw f;
    }
  }

  private async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight].map((f) => f.done));
  }

  /**
   * Starts sending a segment once a stream slot is free and no earlier segment
   * of the same chunk shares a 64 KiB checksum block with it (the data node
   * recomputes a block's CRC from its content: two streams must not race on it).
   */
  private async launch(seg: Segment, sync: boolean): Promise<void> {
    const blocks = blockSpan(seg.chunkOffset, seg.length);
    for (;;) {
      const clash = [...this.inFlight].find(
        (f) => f.seg.index === seg.index && f.blocks.start < blocks.end && blocks.start < f.blocks.end,
      );
      if (clash) await clash.done;
      else if (this.inFlight.size >= this.limits.maxInFlightSegments)
        await Promise.race([...this.inFlight].map((f) => f.done));
      else break;
    }
    const entry: InFlight = { seg, blocks, done: Promise.resolve() };
    entry.done = this.pipeline.send(seg, sync).then(
      () => {
        this.inFlight.delete(entry);
      },
      (err: unknown) => {
        this.inFlight.delete(entry);
        const e = asDfsError(err);
        this.log.error({ ino: this.ino, chunk: seg.index, offset: seg.fileOffset, err: e.message }, 'write failed');
        this.failure ??= e;
      },
    );
    this.inFlight.add(entry);
  }
}
