import { constants } from 'node:fs';
import type { Logger } from '../common/logger';
import { DfsError } from '../rpc/errors';
import type { DataNodePool } from './data-nodes';
import type { MetadataClient } from './metadata';
import type { ResolvedOptions } from './options';
import { FileReader } from './reader';
import type { Caller, FileAttr, FileHandle } from './types';
import { FileWriter } from './writer';

const MAX_FILE_BYTES = Number.MAX_SAFE_INTEGER;
/** Not exported by node:fs: the access-mode bits of open(2) flags. */
const O_ACCMODE = 3;

/**
 * One open file: reads see this handle's own writes (a read of a range it
 * wrote since the last commit flushes first), `size` includes buffered
 * writes, O_APPEND writes go to the end.
 */
export class DfsFileHandle implements FileHandle {
  private readonly reader: FileReader;
  private readonly writer: FileWriter;
  private closed = false;
  private readonly append: boolean;
  private readonly readable: boolean;
  private readonly writable: boolean;

  constructor(
    readonly path: string,
    private attr: FileAttr,
    flags: number,
    chunkSize: number,
    private readonly meta: MetadataClient,
    pool: DataNodePool,
    private readonly caller: Caller,
    opts: ResolvedOptions,
    log: Logger,
  ) {
    const acc = flags & O_ACCMODE;
    this.readable = acc === constants.O_RDONLY || acc === constants.O_RDWR;
    this.writable = acc === constants.O_WRONLY || acc === constants.O_RDWR;
    this.append = (flags & constants.O_APPEND) !== 0;
    this.reader = new FileReader(
      meta,
      pool,
      attr.ino,
      caller,
      chunkSize,
      opts.readAheadBytes,
      opts.readTimeoutMs,
      opts.metadataTimeoutMs,
      log,
    );
    this.writer = new FileWriter(meta, pool, attr.ino, caller, chunkSize, opts, log);
  }

  get ino(): number {
    return this.attr.ino;
  }

  get size(): number {
    return Math.max(this.attr.size, this.writer.end);
  }

  async read(position: number, length: number): Promise<Buffer> {
    this.check('read', position, length);
    if (!this.readable) throw new DfsError('EBADF', `${this.path}: not open for reading`);
    if (this.writer.touches(position, length)) await this.commit(this.writer.flush());
    return this.reader.read(position, length, this.size);
  }

  async write(position: number, data: Buffer): Promise<number> {
    this.check('write', position, data.length);
    if (!this.writable) throw new DfsError('EBADF', `${this.path}: not open for writing`);
    if (data.length === 0) return 0;
    const at = this.append ? this.size : position;
    if (at + data.length > MAX_FILE_BYTES)
      throw new DfsError('EFBIG', `${this.path}: write past the largest file size`);
    await this.writer.write(at, data);
    return data.length;
  }

  async truncate(size: number): Promise<void> {
    this.check('truncate', size, 0);
    if (!this.writable) throw new DfsError('EBADF', `${this.path}: not open for writing`);
    await this.commit(this.writer.flush());
    this.attr = await this.meta.setAttr(this.ino, { size }, this.caller);
    await this.writer.truncated(size);
    this.reader.invalidate();
  }

  async flush(): Promise<void> {
    this.check('flush', 0, 0);
    await this.commit(this.writer.flush());
  }

  async fsync(): Promise<void> {
    this.check('fsync', 0, 0);
    await this.commit(this.writer.flush(true));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commit(this.writer.flush());
  }

  private async commit(flushed: Promise<FileAttr | undefined>): Promise<void> {
    const attr = await flushed;
    if (attr) {
      this.attr = attr;
      this.reader.invalidate();
    }
  }

  private check(op: string, position: number, length: number): void {
    if (this.closed) throw new DfsError('EBADF', `${this.path}: ${op} on a closed file`);
    if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new DfsError('EINVAL', `${this.path}: ${op} at ${position} (${length} bytes)`);
    }
  }
}
