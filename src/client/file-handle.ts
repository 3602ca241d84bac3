import { constants } from 'node:fs';
import type { Logger } from '../common/logger';
import { DfsError } from '../rpc/errors';
import type { DataNodePool } from './data-nodes';
import type { ChunkLocation } from './attrs';
import type { MetadataClient } from './metadata';
import type { OpenFile, OpenFileTable } from './open-file';
import type { ResolvedOptions } from './options';
import { FileReader } from './reader';
import type { Caller, FileHandle } from './types';

const MAX_FILE_BYTES = Number.MAX_SAFE_INTEGER;
/** Not exported by node:fs: the access-mode bits of open(2) flags. */
const O_ACCMODE = 3;

/**
 * One open file. Every handle of an inode in this process shares its
 * OpenFile (writer, size, lock), as file descriptors share an inode on a
 * local disk: reads see every handle's writes (a read of a range with
 * uncommitted writes commits them first), `size` includes every handle's
 * buffered writes, O_APPEND writes go to the shared end. A write failure is
 * reported once to each writable handle, at its next write, flush or close.
 */
export class DfsFileHandle implements FileHandle {
  private readonly reader: FileReader;
  private closed = false;
  private readonly append: boolean;
  private readonly readable: boolean;
  private readonly writable: boolean;
  /** The OpenFile generation this handle's read caches belong to. */
  private seenGeneration: number;
  /** Write failures of the file already reported to (or predating) this handle. */
  private seenErrors: number;

  constructor(
    readonly path: string,
    private readonly file: OpenFile,
    private readonly table: OpenFileTable,
    flags: number,
    meta: MetadataClient,
    pool: DataNodePool,
    private readonly caller: Caller,
    opts: ResolvedOptions,
    log: Logger,
    /** Locations of the first chunks, fetched with the open's lookup. */
    firstChunks?: readonly ChunkLocation[],
  ) {
    const acc = flags & O_ACCMODE;
    this.readable = acc === constants.O_RDONLY || acc === constants.O_RDWR;
    this.writable = acc === constants.O_WRONLY || acc === constants.O_RDWR;
    this.append = (flags & constants.O_APPEND) !== 0;
    this.reader = new FileReader(
      meta,
      pool,
      file.ino,
      caller,
      file.chunkSize,
      opts.readAheadBytes,
      opts.readTimeoutMs,
      opts.metadataTimeoutMs,
      log,
    );
    if (firstChunks) this.reader.seedLocations(firstChunks);
    this.seenGeneration = file.generation;
    this.seenErrors = file.errors;
  }

  get ino(): number {
    return this.file.ino;
  }

  get size(): number {
    return this.file.size;
  }

  async read(position: number, length: number): Promise<Buffer> {
    this.check('read', position, length);
    if (!this.readable) throw new DfsError('EBADF', `${this.path}: not open for reading`);
    return this.file.lock.shared(async () => {
      if (this.file.touches(position, length)) await this.file.flushLocked();
      if (this.seenGeneration !== this.file.generation) {
        this.seenGeneration = this.file.generation;
        this.reader.invalidate();
      }
      return this.reader.read(position, length, this.file.size);
    });
  }

  async write(position: number, data: Buffer): Promise<number> {
    this.check('write', position, data.length);
    if (!this.writable) throw new DfsError('EBADF', `${this.path}: not open for writing`);
    if (data.length === 0) return 0;
    this.reportErrors();
    return this.file.lock.shared(async () => {
      // No await between reading the size and buffering: appends from several handles stay whole.
      const at = this.append ? this.file.size : position;
      if (at + data.length > MAX_FILE_BYTES)
        throw new DfsError('EFBIG', `${this.path}: write past the largest file size`);
      await this.file.writer(this.caller).write(at, data);
      return data.length;
    });
  }

  async truncate(size: number): Promise<void> {
    this.check('truncate', size, 0);
    if (!this.writable) throw new DfsError('EBADF', `${this.path}: not open for writing`);
    await this.file.truncate({ size }, this.caller);
  }

  async flush(): Promise<void> {
    this.check('flush', 0, 0);
    if (!this.writable) return;
    await this.file.flush();
    this.reportErrors();
  }

  /** As on Linux, fsync through any handle (even a read-only one) makes the file's writes durable. */
  async fsync(): Promise<void> {
    this.check('fsync', 0, 0);
    await this.file.flush(true);
    if (this.writable) this.reportErrors();
  }

  /** Commits every buffered write of the file (a read-only handle has nothing to commit). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reader.close();
    try {
      if (this.writable || (this.file.refs === 1 && this.file.dirty)) {
        await this.file.flush();
        if (this.writable) this.reportErrors();
      }
    } finally {
      this.table.release(this.file);
    }
  }

  /** Throws a write failure of the file this handle has not reported yet (Linux's errseq). */
  private reportErrors(): void {
    const n = this.file.errors;
    if (n === this.seenErrors) return;
    this.seenErrors = n;
    const err = this.file.lastError;
    if (err) throw err;
  }

  private check(op: string, position: number, length: number): void {
    if (this.closed) throw new DfsError('EBADF', `${this.path}: ${op} on a closed file`);
    if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new DfsError('EINVAL', `${this.path}: ${op} at ${position} (${length} bytes)`);
    }
  }
}
