import type { Logger } from '../common/logger';
import type { ChunkLocation } from './attrs';
import type { DataNodePool } from './data-nodes';
import type { MetadataClient } from './metadata';
import type { ResolvedOptions } from './options';
import type { Caller, FileAttr, SetAttrChanges } from './types';
import type { CopySlab } from './copy-slab';
import { FileWriter } from './writer';

/**
 * A small read/write lock: any number of shared holders (writes, flushes,
 * reads) or one exclusive holder (a truncate). Waiters are served in order,
 * so a truncate is not starved by a stream of writes.
 */
export class RwLock {
  private readers = 0;
  private writer = false;
  private readonly queue: { exclusive: boolean; wake: () => void }[] = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await fn();
    } finally {
      this.release(false);
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await fn();
    } finally {
      this.release(true);
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    if (!this.writer && this.queue.length === 0 && (!exclusive || this.readers === 0)) {
      if (exclusive) this.writer = true;
      else this.readers++;
      return Promise.resolve();
    }
    return new Promise((wake) => this.queue.push({ exclusive, wake }));
  }

  private release(exclusive: boolean): void {
    if (exclusive) this.writer = false;
    else this.readers--;
    while (this.queue.length > 0 && !this.writer) {
      const next = this.queue[0];
      if (next.exclusive) {
        if (this.readers > 0) break;
        this.writer = true;
      } else {
        this.readers++;
      }
      this.queue.shift();
      next.wake();
    }
  }
}

export interface OpenFileDeps {
  meta: MetadataClient;
  /** Where writers of this client keep their copies of written data. */
  slab: CopySlab;
  pool: DataNodePool;
  opts: ResolvedOptions;
  log: Logger;
  chunkSize: number;
}

/**
 * What every handle of one inode shares in this process, as a local kernel
 * shares one inode and page cache between file descriptors: one writer (so
 * one PrepareWrite per chunk and no handle bumps another's chunk versions),
 * one view of the size including buffered writes, and one lock that orders
 * truncates against writes and commits. Handles keep only their own read
 * side (read-ahead) and error reporting.
 */
export class OpenFile {
  /** Open handles (reference count); the table drops the entry at zero. */
  refs = 0;
  /** Bumped whenever committed data may have changed: handles then drop their read caches. */
  generation = 0;
  readonly lock = new RwLock();
  private attrNow: FileAttr;
  private writerNow?: FileWriter;
  /** Chunk 0 as the create prepared it, until a writer takes it (a truncate drops it). */
  private firstChunk?: ChunkLocation;

  constructor(
    attr: FileAttr,
    private readonly deps: OpenFileDeps,
  ) {
    this.attrNow = attr;
  }

  get ino(): number {
    return this.attrNow.ino;
  }

  get chunkSize(): number {
    return this.deps.chunkSize;
  }

  /** The latest attributes the name node gave for the file (without buffered writes). */
  get attr(): FileAttr {
    return this.attrNow;
  }

  /** The size including writes not yet committed, as every handle of the file sees it. */
  get size(): number {
    return Math.max(this.attrNow.size, this.writerNow?.end ?? 0);
  }

  /** True while some write has not been committed. */
  get dirty(): boolean {
    return this.writerNow?.hasUncommitted ?? false;
  }

  /** Background write failures so far, and the latest (see FileWriter.errors). */
  get errors(): number {
    return this.writerNow?.errors ?? 0;
  }

  get lastError(): Error | undefined {
    return this.writerNow?.lastError;
  }

  /**
   * The shared writer, made by the first handle that writes (its caller
   * prepares and commits chunks for every handle: each was permission
   * checked when it was opened).
   */
  writer(caller: Caller): FileWriter {
    if (!this.writerNow) {
      this.writerNow = new FileWriter(
        this.deps.meta,
        this.deps.pool,
        this.deps.slab,
        this.ino,
        caller,
        this.deps.chunkSize,
        this.deps.opts,
        this.deps.log,
      );
      if (this.firstChunk) this.writerNow.seed(this.firstChunk);
      this.firstChunk = undefined;
    }
    return this.writerNow;
  }

  /** Chunk 0 as the file's create prepared it, for the writer this file makes. */
  seedFirstChunk(c: ChunkLocation): void {
    if (!this.writerNow) this.firstChunk = c;
  }

  /** True when a read of [position, position + length) must commit buffered writes first. */
  touches(position: number, length: number): boolean {
    return this.writerNow?.touches(position, length) ?? false;
  }

  /**
   * Takes attributes from the name node. The inode's generation only grows,
   * so replies that arrive out of order never move the size backwards; a
   * newer generation means the data changed (here or elsewhere).
   */
  noteAttr(attr: FileAttr): void {
    if (attr.ino !== this.ino || attr.generation < this.attrNow.generation) return;
    if (attr.generation > this.attrNow.generation || attr.size !== this.attrNow.size) this.generation++;
    this.attrNow = attr;
  }

  /** `attr` (from a stat or listing) with the size this process sees, buffered writes included. */
  view(attr: FileAttr): FileAttr {
    this.noteAttr(attr);
    const size = attr.generation >= this.attrNow.generation ? attr.size : this.attrNow.size;
    return { ...attr, size: Math.max(size, this.writerNow?.end ?? 0) };
  }

  /** Sends and commits every handle's buffered writes (flush/close of any writer commits them all). */
  flush(sync = false): Promise<void> {
    return this.lock.shared(() => this.flushLocked(sync));
  }

  /** `flush` for a caller that already holds the lock. */
  async flushLocked(sync = false): Promise<void> {
    if (!this.writerNow) return;
    const attr = await this.writerNow.flush(sync);
    if (attr) this.noteAttr(attr);
  }

  /**
   * setattr with a size (truncate/ftruncate/open with O_TRUNC, through any
   * handle or by path): alone on the file, commits buffered writes, has the
   * name node cut or extend the file, then forgets prepared chunks (the name
   * node removed or re-versioned them) so the next write prepares afresh.
   */
  truncate(changes: SetAttrChanges & { size: number }, caller: Caller): Promise<FileAttr> {
    return this.lock.exclusive(async () => {
      await this.flushLocked();
      const attr = await this.deps.meta.setAttr(this.ino, changes, caller);
      this.firstChunk = undefined;
      await this.writerNow?.truncated(changes.size);
      this.noteAttr(attr);
      this.generation++;
      return attr;
    });
  }
}

/** The open files of one client, by inode: handles of one inode share one OpenFile. */
export class OpenFileTable {
  private readonly files = new Map<number, OpenFile>();

  constructor(private readonly deps: Omit<OpenFileDeps, 'chunkSize'>) {}

  get(ino: number): OpenFile | undefined {
    return this.files.get(ino);
  }

  /** The shared state of `attr`'s inode with one more reference (fresh attributes from an open). */
  acquire(attr: FileAttr, chunkSize: number): OpenFile {
    let file = this.files.get(attr.ino);
    if (!file) {
      file = new OpenFile(attr, { ...this.deps, chunkSize });
      this.files.set(attr.ino, file);
    } else {
      file.noteAttr(attr);
    }
    file.refs++;
    return file;
  }

  release(file: OpenFile): void {
    file.refs--;
    if (file.refs <= 0 && this.files.get(file.ino) === file) this.files.delete(file.ino);
  }

  /** `attr` with the size this process sees when the file is open here. */
  view(attr: FileAttr): FileAttr {
    return this.files.get(attr.ino)?.view(attr) ?? attr;
  }

  get size(): number {
    return this.files.size;
  }
}
