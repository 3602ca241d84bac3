import fs from 'node:fs/promises';
import { closeSync, constants as fsConstants, openSync, readSync, renameSync, writevSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger';
import { BLOCK_SIZE, alignedRange, blockCount, firstBadBlock } from '../rpc/checksum';
import { DfsError, asDfsError } from '../rpc/errors';
import { updateBlockCrcs, type ChunkChange } from './block-crc';
import { ChunkLock } from './chunk-lock';
import { chunkPaths, parseChunkId, type ChunkPaths } from './chunk-id';
import { allocReadBuffer } from '../rpc/data-messages';
import { type ChunkMeta, decodeMeta, encodeMeta, META_HEADER_BYTES, metaLength } from './chunk-meta';
import { InodePool } from './inode-pool';
import { ReadHandles, type ReadHandle } from './read-handles';

/** What the data node knows about one chunk it holds (kept in memory, mirrored in `<id>.meta`). */
interface ChunkEntry {
  version: number;
  size: number;
  crcs: Uint32Array;
  /** Odd while a mutation is between its data write and its CRC update; readers retry around it. */
  generation: number;
  /**
   * Set when the chunk is one `<id>.chunk` file (its meta, then its data from
   * this offset) instead of `<id>.data` + `<id>.meta`: a small chunk written
   * whole costs one new inode instead of two. Any later change unpacks it first.
   */
  packedAt?: number;
}

export interface ChunkSummary {
  chunkId: string;
  version: number;
  size: number;
}

export interface WriteOptions {
  version: number;
  offset: number;
  /** The chunk may not exist yet. */
  create: boolean;
  /** Discard existing content first (a full copy arrives: re-replication, pipeline repair). */
  replace?: boolean;
}

/** One verified piece of a read: whole blocks starting at a block-aligned chunk offset. */
export interface ReadPiece {
  offset: number;
  data: Buffer;
  crcs: number[];
  chunkSize: number;
}

export interface ChunkStoreOptions {
  /** Bytes this node may hold; undefined = the free space of the data dir's filesystem. */
  capacity?: number;
  logger: Logger;
  /** Empty files to keep made ahead for new chunks (InodePool's `spare`); 0 makes none. */
  spareInodes?: number;
}

/** Bytes per read piece / ReadChunk message: whole blocks, ~1 MiB. */
export const READ_PIECE_BYTES = 16 * BLOCK_SIZE;

/**
 * A new chunk is held in memory up to this size and written at close as one
 * packed file (meta, then data): three thread-pool round trips and one new
 * inode instead of six and two. Each round trip wakes a pool thread and the
 * loop again (0.1-0.5 ms of CPU on a loaded 2-core VM). Creating an inode on a
 * file system that has just deleted many can take milliseconds, so a new file
 * is written through the pool; a reused one (inode-pool.ts) is written on the
 * event loop (writePackedInline).
 */
export const STAGE_LIMIT = 128 * 1024;

/**
 * A read of at most this many bytes that finds no other read under way runs
 * on the event loop (pread on the open handle) instead of the thread pool.
 * The pool costs two thread wake-ups per read, 0.2-0.3 ms on this 2-core VM,
 * which on a small read served from the page cache is most of the data
 * node's time (a 64 KiB ReadSmall: 430-490 us in the handler through the pool,
 * 195 us inline). With another read in flight the pool is used, so parallel
 * reads still overlap on the disk, and the loop waits for at most one small
 * read at a time.
 */
export const INLINE_READ_BYTES = 256 * 1024;

/**
 * Emptied chunk files kept for new chunks (inode-pool.ts). Enough for the
 * deletions of a large `rm -r` to feed the creates after it; each is an inode
 * and a directory entry, no data blocks.
 */
export const INODE_POOL_MAX = 16 * 1024;
/** What a data node keeps made ahead: more than a burst of creates uses between two pauses. */
export const SPARE_INODES = 256;

/** A read's file no longer holds the chunk (it was unpacked): read() reopens it. */
const MOVED = new Error('chunk moved to its own files');

/**
 * Chunk files under DATA_DIR/chunks: data in `<id>.data`, version + size +
 * per-block CRC32C in `<id>.meta`. Mutations of one chunk are serialised by a
 * per-chunk lock; reads run alongside them and never return an unverified byte.
 */
export class ChunkStore {
  private readonly chunks = new Map<string, ChunkEntry>();
  private readonly locks = new Map<string, ChunkLock>();
  private readonly bad = new Set<string>();
  private usedBytes = 0;
  /** Bytes reserved by writes in flight, so concurrent writers cannot overshoot the capacity together. */
  private reserved = 0;
  private capacityBytes = 0;
  /** Chunk subdirectories known to exist: a new chunk skips the mkdir round trip through the thread pool. */
  private readonly dirs = new Set<string>();
  /** Chunk files kept open for reading between reads. */
  private readonly readHandles = new ReadHandles();
  /** Reads of chunk files under way in the thread pool (see INLINE_READ_BYTES). */
  private poolReads = 0;
  /** New chunks whose bytes are still in memory (ChunkWriter), by id: reads are served from them. */
  readonly staging = new Map<string, Staged>();

  private constructor(
    readonly chunksDir: string,
    private readonly opts: ChunkStoreOptions,
    /** Emptied files of deleted chunks, under `chunks/free` (not a chunk subdirectory: load() skips it). */
    readonly inodes: InodePool,
  ) {}

  static async open(dataDir: string, opts: ChunkStoreOptions): Promise<ChunkStore> {
    const chunksDir = path.join(dataDir, 'chunks');
    await fs.mkdir(chunksDir, { recursive: true });
    const inodes = await InodePool.open(path.join(chunksDir, 'free'), INODE_POOL_MAX, opts.logger, opts.spareInodes);
    const store = new ChunkStore(chunksDir, opts, inodes);
    await store.load();
    await store.refreshCapacity();
    return store;
  }

  get used(): number {
    return this.usedBytes;
  }

  get capacity(): number {
    return this.capacityBytes;
  }

  /** Re-reads the filesystem's free space when no fixed capacity was configured. */
  async refreshCapacity(): Promise<void> {
    if (this.opts.capacity !== undefined) {
      this.capacityBytes = this.opts.capacity;
      return;
    }
    const st = await fs.statfs(this.chunksDir);
    this.capacityBytes = this.usedBytes + st.bavail * st.bsize;
  }

  /** Closes the files kept open for reading (reads in progress finish first). */
  close(): void {
    this.inodes.close();
    this.readHandles.closeAll();
  }

  stat(rawId: unknown): ChunkSummary | undefined {
    const id = parseChunkId(rawId);
    const e = this.chunks.get(id);
    return e && { chunkId: id, version: e.version, size: e.size };
  }

  /** Every good chunk, for Register and ChunkReport. */
  list(): ChunkSummary[] {
    const out: ChunkSummary[] = [];
    for (const [id, e] of this.chunks)
      if (!this.bad.has(id)) out.push({ chunkId: id, version: e.version, size: e.size });
    return out;
  }

  /** Chunks found corrupt since start (by reads or the scrubber), reported to the name node. */
  badChunks(): string[] {
    return [...this.bad];
  }

  markBad(id: string, reason: string): void {
    if (!this.bad.has(id)) this.opts.logger.warn({ chunkId: id, reason }, 'chunk marked bad');
    this.bad.add(id);
  }

  /**
   * Starts a write stream into one chunk; the returned writer holds the chunk's
   * lock until `finish` or `abort`. Refuses a version lower than the stored one.
   */
  async openWriter(rawId: unknown, opts: WriteOptions): Promise<ChunkWriter> {
    const id = parseChunkId(rawId);
    if (!(opts.version > 0)) throw new DfsError('EINVAL', `chunk ${id}: write without a version`);
    if (!(opts.offset >= 0) || !Number.isSafeInteger(opts.offset) || opts.offset > MAX_CHUNK_BYTES) {
      throw new DfsError('EINVAL', `chunk ${id}: bad offset ${opts.offset}`);
    }
    const release = await this.lockFor(id).acquire();
    try {
      const p = chunkPaths(this.chunksDir, id);
      let entry = this.chunks.get(id);
      if (entry && opts.version < entry.version) {
        throw new DfsError(
          'ESTALE',
          `chunk ${id}: write version ${opts.version} is older than stored ${entry.version}`,
        );
      }
      if (!entry && !opts.create) throw new DfsError('ENOENT', `chunk ${id} does not exist here`);
      if (entry?.packedAt !== undefined) await this.unpack(id, p, entry);
      const fresh = !entry;
      if (!entry) {
        if (!this.dirs.has(p.dir)) {
          await fs.mkdir(p.dir, { recursive: true });
          this.dirs.add(p.dir);
        }
        entry = { version: opts.version, size: 0, crcs: new Uint32Array(0), generation: 0 };
      }
      // A new chunk written from its start is staged in memory; its file is created at close.
      const staged = fresh && opts.offset === 0 && !opts.replace;
      const fh = staged
        ? undefined
        : fresh
          ? await this.createFile(p.data)
          : await fs.open(p.data, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o644);
      const writer = new ChunkWriter(this, id, p, entry, fh, opts, release, fresh);
      this.chunks.set(id, entry);
      if (opts.replace) await writer.truncateTo(0);
      return writer;
    } catch (err) {
      release();
      throw asDfsError(err);
    }
  }

  /** Truncates (or extends with zeros) a chunk and gives it `newVersion`. */
  async truncate(rawId: unknown, version: number, newVersion: number, size: number): Promise<ChunkSummary> {
    const id = parseChunkId(rawId);
    if (!Number.isSafeInteger(size) || size < 0 || size > MAX_CHUNK_BYTES) {
      throw new DfsError('EINVAL', `chunk ${id}: bad size ${size}`);
    }
    const release = await this.lockFor(id).acquire();
    try {
      const entry = this.chunks.get(id);
      if (!entry) throw new DfsError('ENOENT', `chunk ${id} does not exist here`);
      if (entry.version < version || (newVersion > 0 && newVersion < entry.version)) {
        throw new DfsError('ESTALE', `chunk ${id}: stored version ${entry.version}, truncate expects ${version}`);
      }
      const p = chunkPaths(this.chunksDir, id);
      if (entry.packedAt !== undefined) await this.unpack(id, p, entry);
      const fh = await fs.open(p.data, 'r+');
      try {
        await this.resize(id, entry, fh, size);
        entry.version = Math.max(entry.version, newVersion);
        await this.persistMeta(p, entry, false);
      } finally {
        await fh.close();
      }
      return { chunkId: id, version: entry.version, size: entry.size };
    } finally {
      release();
    }
  }

  /** Deletes chunks; ids not held here are ignored. Returns how many were deleted. */
  async delete(rawIds: readonly unknown[]): Promise<number> {
    let deleted = 0;
    for (const raw of rawIds) {
      const id = parseChunkId(raw);
      const release = await this.lockFor(id).acquire();
      try {
        const entry = this.chunks.get(id);
        const p = chunkPaths(this.chunksDir, id);
        this.readHandles.drop(id);
        // Gone before its files are emptied and reused: a read still under way then fails its
        // checks as a deletion, not as corruption (readPiece).
        if (entry) {
          this.chunks.delete(id);
          this.usedBytes -= entry.size;
          deleted++;
        }
        this.bad.delete(id);
        // A packed chunk is its one file (writePacked makes no other, load() removes a pair beside
        // it; an unpack that failed part way leaves only a .data or .meta.tmp, which load() removes
        // too): its deletion skips two calls that could only find nothing. A pair may still have a
        // packed file beside it (an unpack whose last step failed), an unknown id any of the three.
        if (entry?.packedAt === undefined) {
          // Meta first: a crash between the two leaves an orphan .data, removed at the next start.
          await this.inodes.give(p.meta);
          await this.inodes.give(p.data);
        }
        await this.inodes.give(p.packed);
      } finally {
        release();
        this.dropLockIfIdle(id);
      }
    }
    return deleted;
  }

  /**
   * Verified ranged read: yields whole blocks (~1 MiB per piece) covering
   * [offset, offset + length) with their CRCs, each checked before it is
   * returned. A mismatch marks the chunk bad and throws EIO so the client reads
   * another replica. `length` 0 means to the end of the chunk.
   */
  async *read(rawId: unknown, version: number, offset: number, length: number): AsyncGenerator<ReadPiece> {
    const id = parseChunkId(rawId);
    const entry = this.chunks.get(id);
    if (!entry) throw new DfsError('ENOENT', `chunk ${id} does not exist here`);
    if (version > entry.version) {
      throw new DfsError('ESTALE', `chunk ${id}: replica has version ${entry.version}, reader wants ${version}`);
    }
    if (this.bad.has(id)) throw new DfsError('EIO', `chunk ${id} is corrupt on this node`);
    const size = entry.size;
    const { start, end } = alignedRange(offset, length > 0 ? length : size, size);
    // Nothing to read needs no file (a chunk being created has none until its writer closes).
    if (start >= end) {
      yield { offset: start, data: Buffer.alloc(0), crcs: [], chunkSize: size };
      return;
    }
    const staged = this.staging.get(id);
    if (staged) {
      // A new chunk still in memory: its bytes as they are now, copied out at once.
      const pieces: ReadPiece[] = [];
      for (let at = start; at < end; at += READ_PIECE_BYTES) {
        const len = Math.min(READ_PIECE_BYTES, end - at);
        const data = allocReadBuffer(len);
        staged.read(at, len).copy(data);
        const crcs = Array.from(entry.crcs.subarray(at / BLOCK_SIZE, at / BLOCK_SIZE + Math.ceil(len / BLOCK_SIZE)));
        pieces.push({ offset: at, data, crcs, chunkSize: size });
      }
      yield* pieces;
      return;
    }
    const p = chunkPaths(this.chunksDir, id);
    // The file and offset the bytes are at, taken together with the handle: unpacking moves them.
    const open = async (): Promise<{ handle: ReadHandle; base: number }> => {
      for (;;) {
        const base = entry.packedAt ?? 0;
        try {
          return { handle: await this.readHandles.acquire(id, entry.packedAt === undefined ? p.data : p.packed), base };
        } catch (err) {
          // Unpacked while the packed file was being opened: open the pair instead.
          if (base === 0 || entry.packedAt !== undefined || this.chunks.get(id) !== entry) throw err;
        }
      }
    };
    let { handle, base } = await open();
    try {
      for (let at = start; at < end;) {
        const len = Math.min(READ_PIECE_BYTES, end - at);
        let piece: ReadPiece;
        try {
          piece = await this.readPiece(id, entry, handle.fh, base, at, len, size);
        } catch (err) {
          if (err !== MOVED) throw err;
          handle.release();
          ({ handle, base } = await open());
          continue;
        }
        yield piece;
        at += len;
      }
    } finally {
      handle.release();
    }
  }

  /** Re-reads and verifies a whole chunk (the scrubber); returns bytes read. */
  async verify(id: string): Promise<number> {
    let bytes = 0;
    try {
      for await (const piece of this.read(id, 0, 0, 0)) bytes += piece.data.length;
    } catch (err) {
      const e = asDfsError(err);
      if (e.errno !== 'ENOENT') this.markBad(id, e.message);
    }
    return bytes;
  }

  // ---- internals shared with ChunkWriter ----

  /** Reserves room for `extra` bytes of growth or throws ENOSPC. */
  reserve(id: string, extra: number): void {
    if (extra <= 0) return;
    if (this.usedBytes + this.reserved + extra > this.capacityBytes) {
      throw new DfsError('ENOSPC', `chunk ${id}: no space left on this node (capacity ${this.capacityBytes} bytes)`);
    }
    this.reserved += extra;
  }

  unreserve(extra: number): void {
    if (extra > 0) this.reserved -= extra;
  }

  /** Applies one change's data to the file (or staged bytes) and updates size, CRCs and used bytes. */
  async applyChange(id: string, entry: ChunkEntry, target: fs.FileHandle | Staged, change: ChunkChange): Promise<void> {
    entry.generation++;
    try {
      if (target instanceof Staged) {
        if (change.data && change.data.length > 0) target.put(change.data, change.pos ?? 0);
        entry.crcs = await updateBlockCrcs(entry.crcs, change, async (at, len) => target.read(at, len));
      } else {
        if (change.data && change.data.length > 0) await writeFully(target, change.data, change.pos ?? 0);
        entry.crcs = await updateBlockCrcs(entry.crcs, change, (at, len) => readFully(target, at, len));
      }
      this.usedBytes += change.newSize - entry.size;
      entry.size = change.newSize;
    } finally {
      entry.generation++;
    }
  }

  async resize(id: string, entry: ChunkEntry, fh: fs.FileHandle, size: number): Promise<void> {
    const grow = size - entry.size;
    this.reserve(id, grow);
    try {
      entry.generation++;
      try {
        await fh.truncate(size);
      } finally {
        entry.generation++;
      }
      await this.applyChange(id, entry, fh, { oldSize: entry.size, newSize: size });
    } finally {
      this.unreserve(grow);
    }
  }

  /**
   * Replaces `<id>.meta` atomically; with `sync` the data, meta and directory
   * entry are on disk. The first meta of a new chunk has nothing to replace and
   * is written in place (two fewer file system calls on the small-file path): a
   * crash before its one write leaves an empty meta, which load() treats as the
   * unfinished create it is.
   */
  async persistMeta(
    p: ChunkPaths,
    entry: ChunkEntry,
    sync: boolean,
    dataFh?: fs.FileHandle,
    fresh = false,
  ): Promise<void> {
    if (sync && dataFh) await dataFh.datasync();
    const buf = this.metaBytes(entry);
    const fh = fresh ? await this.createFile(p.meta) : await fs.open(p.metaTmp, 'w', 0o644);
    try {
      await writeFully(fh, buf, 0);
      if (sync) await fh.datasync();
    } finally {
      await fh.close();
    }
    if (!fresh) await fs.rename(p.metaTmp, p.meta);
    if (sync) {
      const dir = await fs.open(p.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
  }

  /** A new, empty file at `target`: a pooled inode renamed there when there is one (inode-pool.ts). */
  async createFile(target: string): Promise<fs.FileHandle> {
    const flags = fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_TRUNC;
    const reused = this.inodes.take();
    if (reused === undefined) return fs.open(target, flags, 0o644);
    const fh = await fs.open(reused, flags, 0o644);
    try {
      await fs.rename(reused, target);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    return fh;
  }

  /**
   * Writes a small new chunk as one file: meta, then data. A crash part way
   * leaves a file whose meta or length does not check out, which load()
   * removes as the unfinished create it is (nothing was acknowledged).
   */
  async writePacked(p: ChunkPaths, entry: ChunkEntry, data: Buffer): Promise<void> {
    const meta = this.metaBytes(entry);
    const want = meta.length + data.length;
    const reused = this.inodes.take();
    if (reused !== undefined) {
      writePackedInline(reused, p.packed, [meta, data], want);
    } else {
      const fh = await fs.open(p.packed, 'w', 0o644);
      try {
        const { bytesWritten } = await fh.writev([meta, data], 0);
        if (bytesWritten !== want) throw shortWrite(p.packed, bytesWritten, want);
      } finally {
        await fh.close();
      }
    }
    entry.packedAt = meta.length;
  }

  /**
   * Turns a packed chunk into `<id>.data` + `<id>.meta` before it changes. The
   * pair is complete before the packed file goes: a crash in between leaves
   * both, and load() keeps the pair.
   */
  private async unpack(id: string, p: ChunkPaths, entry: ChunkEntry): Promise<void> {
    const base = entry.packedAt!;
    const fh = await fs.open(p.packed, 'r');
    let data: Buffer;
    try {
      data = await readFully(fh, base, entry.size);
    } finally {
      await fh.close();
    }
    if (data.length !== entry.size) throw new DfsError('EIO', `chunk ${id}: packed file shorter than its size`);
    if (!this.dirs.has(p.dir)) await fs.mkdir(p.dir, { recursive: true });
    await fs.writeFile(p.data, data, { mode: 0o644 });
    await fs.writeFile(p.metaTmp, this.metaBytes(entry), { mode: 0o644 });
    await fs.rename(p.metaTmp, p.meta);
    entry.packedAt = undefined;
    this.readHandles.drop(id);
    await this.inodes.give(p.packed);
  }

  /** Drops a new chunk whose writer failed before anything of it was acknowledged. */
  async forget(id: string, p: ChunkPaths, entry: ChunkEntry): Promise<void> {
    if (this.chunks.get(id) !== entry) return;
    this.chunks.delete(id);
    this.usedBytes -= entry.size;
    this.readHandles.drop(id);
    await this.inodes.give(p.meta).catch(() => undefined);
    await this.inodes.give(p.data).catch(() => undefined);
    await this.inodes.give(p.packed).catch(() => undefined);
  }

  metaBytes(entry: ChunkEntry): Buffer {
    return encodeMeta(entry, blockCount(entry.size));
  }

  clearBad(id: string): void {
    this.bad.delete(id);
  }

  private async readPiece(
    id: string,
    entry: ChunkEntry,
    fh: fs.FileHandle,
    base: number,
    at: number,
    len: number,
    size: number,
  ): Promise<ReadPiece> {
    const firstBlock = at / BLOCK_SIZE;
    // A concurrent mutation may land between reading the bytes and the CRCs:
    // the generation counter tells a race (retry) from real corruption.
    for (let attempt = 0; ; attempt++) {
      const gen = entry.generation;
      // Read straight into the buffer the reply will be sent from (data-messages.ts).
      const data = await this.readBytes(fh, base + at, len);
      const crcs = Array.from(entry.crcs.subarray(firstBlock, firstBlock + Math.ceil(len / BLOCK_SIZE)));
      const bad = data.length === len ? firstBadBlock(data, crcs) : 0;
      if (bad < 0) return { offset: at, data, crcs, chunkSize: size };
      // The chunk was unpacked (and maybe changed) since this handle was taken: read the new file.
      if ((entry.packedAt ?? 0) !== base) throw MOVED;
      if ((gen % 2 === 1 || entry.generation !== gen) && attempt < 20) {
        await new Promise((r) => setTimeout(r, 2));
        continue;
      }
      // Deleted while being read: its file may already be emptied for reuse.
      if (this.chunks.get(id) !== entry) throw new DfsError('ENOENT', `chunk ${id} was deleted while being read`);
      const where = at + Math.max(0, bad) * BLOCK_SIZE;
      this.markBad(id, `checksum mismatch at offset ${where}`);
      throw new DfsError('EIO', `chunk ${id}: checksum mismatch at offset ${where} (replica is corrupt)`);
    }
  }

  private async readBytes(fh: fs.FileHandle, position: number, length: number): Promise<Buffer> {
    const buf = allocReadBuffer(length);
    if (length <= INLINE_READ_BYTES && this.poolReads === 0) return readFullyInline(fh, position, length, buf);
    this.poolReads++;
    try {
      return await readFully(fh, position, length, buf);
    } finally {
      this.poolReads--;
    }
  }

  private lockFor(id: string): ChunkLock {
    let lock = this.locks.get(id);
    if (!lock) {
      lock = new ChunkLock();
      this.locks.set(id, lock);
    }
    return lock;
  }

  dropLockIfIdle(id: string): void {
    if (this.locks.get(id)?.idle) this.locks.delete(id);
  }

  /**
   * Loads every chunk: a `.meta` + `.data` pair or a packed `.chunk`. Drops
   * temp files and what a crash left of a create that was never acknowledged
   * (data without meta, an empty first meta, a packed file that does not
   * check out); where an unpack was interrupted, the complete pair wins.
   */
  private async load(): Promise<void> {
    const log = this.opts.logger;
    for (const sub of await fs.readdir(this.chunksDir)) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      const dir = path.join(this.chunksDir, sub);
      this.dirs.add(dir);
      const files = new Map<string, Set<string>>();
      for (const name of await fs.readdir(dir)) {
        const m = /^([0-9]+)\.(data|meta|meta\.tmp|chunk)$/.exec(name);
        if (!m) continue;
        if (m[2] === 'meta.tmp') {
          await fs.rm(path.join(dir, name), { force: true });
          continue;
        }
        let kinds = files.get(m[1]);
        if (!kinds) files.set(m[1], (kinds = new Set()));
        kinds.add(m[2]);
      }
      for (const [id, kinds] of files) {
        const p = chunkPaths(this.chunksDir, id);
        if (kinds.has('meta') && (await this.loadPair(id, p, kinds.has('data'), kinds.has('chunk')))) {
          if (kinds.has('chunk')) await fs.rm(p.packed, { force: true });
        } else if (kinds.has('chunk')) {
          await fs.rm(p.meta, { force: true });
          await fs.rm(p.data, { force: true });
          await this.loadPacked(id, p);
        } else if (kinds.has('data') && !kinds.has('meta')) {
          log.warn({ chunkId: id }, 'removing chunk data without meta (an unfinished create)');
          await fs.rm(p.data, { force: true });
        }
      }
    }
    log.info({ chunks: this.chunks.size, used: this.usedBytes }, 'chunk store loaded');
  }

  /** A `.meta` + `.data` pair; false when there is no complete pair (the packed file, if any, is the chunk). */
  private async loadPair(id: string, p: ChunkPaths, hasData: boolean, hasPacked: boolean): Promise<boolean> {
    const log = this.opts.logger;
    if (!hasData) {
      if (!hasPacked) log.warn({ chunkId: id }, 'removing chunk meta without data');
      await fs.rm(p.meta, { force: true });
      return false;
    }
    try {
      const raw = await fs.readFile(p.meta);
      if (raw.length === 0) {
        if (!hasPacked)
          log.warn({ chunkId: id }, 'removing a chunk whose first meta was never written (an unfinished create)');
        await fs.rm(p.meta, { force: true });
        await fs.rm(p.data, { force: true });
        return false;
      }
      const meta = decodeMeta(raw, `chunk ${id}`);
      this.chunks.set(id, { ...meta, generation: 0 });
      this.usedBytes += meta.size;
      const st = await fs.stat(p.data);
      if (st.size < meta.size) this.markBad(id, `data file shorter (${st.size}) than recorded size ${meta.size}`);
      return true;
    } catch (err) {
      // A torn meta beside a packed file is an interrupted unpack: the packed file is the chunk.
      if (hasPacked) return false;
      // Unreadable meta: keep the files for inspection, report nothing for it.
      log.error({ chunkId: id, err: asDfsError(err).message }, 'unreadable chunk meta, ignoring chunk');
      return true;
    }
  }

  private async loadPacked(id: string, p: ChunkPaths): Promise<void> {
    const fh = await fs.open(p.packed, 'r');
    try {
      const head = await readFully(fh, 0, META_HEADER_BYTES);
      const metaBytes = metaLength(head);
      const st = await fh.stat();
      const meta =
        metaBytes < 0 || st.size < metaBytes ? undefined : decodePacked(await readFully(fh, 0, metaBytes), id);
      if (!meta || st.size < metaBytes + meta.size) {
        // Written whole and synchronously before it was acknowledged: a torn one never was.
        this.opts.logger.warn({ chunkId: id }, 'removing a packed chunk that was never completely written');
        await fs.rm(p.packed, { force: true });
        return;
      }
      this.chunks.set(id, { ...meta, generation: 0, packedAt: metaBytes });
      this.usedBytes += meta.size;
    } finally {
      await fh.close();
    }
  }
}

function decodePacked(raw: Buffer, id: string): ChunkMeta | undefined {
  try {
    return decodeMeta(raw, `chunk ${id}`);
  } catch {
    return undefined;
  }
}

/**
 * One write stream into one chunk: sequential appends from the header's offset.
 * `write` calls must not overlap (the pipeline awaits each before the next).
 */
/** No chunk is larger than the name node's largest --chunk-size: offsets and sizes past it are hostile. */
export const MAX_CHUNK_BYTES = 4 * 1024 ** 3;

export class ChunkWriter {
  private pos: number;
  private closed = false;
  /** The bytes of a new chunk while they are few enough to stay in memory (no file yet). */
  private staged?: Staged;

  constructor(
    private readonly store: ChunkStore,
    readonly chunkId: string,
    private readonly paths: ChunkPaths,
    private readonly entry: ChunkEntry,
    private fh: fs.FileHandle | undefined,
    private readonly opts: WriteOptions,
    private readonly release: () => void,
    /** The chunk did not exist before this writer: its meta is written for the first time. */
    private readonly fresh = false,
  ) {
    this.pos = opts.offset;
    entry.version = Math.max(entry.version, opts.version);
    if (!fh) {
      this.staged = new Staged();
      store.staging.set(chunkId, this.staged);
    }
  }

  get position(): number {
    return this.pos;
  }

  async truncateTo(size: number): Promise<void> {
    await this.store.resize(this.chunkId, this.entry, await this.file(), size);
    if (size === 0) this.store.clearBad(this.chunkId);
  }

  /** Writes `data` at `at`, or right after the previous write (the stream's offset for the first). */
  async write(data: Buffer, at?: number): Promise<void> {
    if (this.closed) throw new DfsError('EIO', `chunk ${this.chunkId}: write after close`);
    if (data.length === 0) return;
    if (at !== undefined) this.pos = at;
    if (this.pos + data.length > MAX_CHUNK_BYTES) {
      throw new DfsError('EFBIG', `chunk ${this.chunkId}: write past ${MAX_CHUNK_BYTES} bytes`);
    }
    const oldSize = this.entry.size;
    const newSize = Math.max(oldSize, this.pos + data.length);
    const grow = newSize - oldSize;
    this.store.reserve(this.chunkId, grow);
    try {
      const target = this.staged && newSize <= STAGE_LIMIT ? this.staged : await this.file();
      await this.store.applyChange(this.chunkId, this.entry, target, { oldSize, newSize, pos: this.pos, data });
    } finally {
      this.store.unreserve(grow);
    }
    this.pos += data.length;
  }

  /** Records the new version, size and CRCs (fsync'd with `sync`), and releases the chunk. */
  async finish(sync: boolean): Promise<ChunkSummary> {
    await this.close(sync);
    return { chunkId: this.chunkId, version: this.entry.version, size: this.entry.size };
  }

  /** A failed stream: keep what was written consistent with its CRCs, release the chunk. */
  async abort(): Promise<void> {
    await this.close(false).catch(() => undefined);
  }

  /** The chunk's open file, created now (with the staged bytes) if it was still in memory. */
  private async file(): Promise<fs.FileHandle> {
    if (this.fh) return this.fh;
    // Only a new chunk is staged: its data file does not exist yet.
    const fh = await this.store.createFile(this.paths.data);
    try {
      await writeFully(fh, this.staged!.bytes(), 0);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
    this.fh = fh;
    this.staged = undefined;
    this.store.staging.delete(this.chunkId);
    return fh;
  }

  private async close(sync: boolean): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.staged && !sync) {
        await this.writeStaged(this.staged);
      } else {
        const fh = await this.file();
        await this.store.persistMeta(this.paths, this.entry, sync, fh, this.fresh);
      }
    } catch (err) {
      // Nothing of a new chunk was acknowledged: leave no half of it behind.
      if (this.fresh) await this.store.forget(this.chunkId, this.paths, this.entry);
      throw err;
    } finally {
      if (this.staged) this.store.staging.delete(this.chunkId);
      await this.fh?.close().catch(() => undefined);
      this.release();
      this.store.dropLockIfIdle(this.chunkId);
    }
  }

  /** A small new chunk as one packed file (ChunkStore.writePacked). */
  private async writeStaged(staged: Staged): Promise<void> {
    try {
      await this.store.writePacked(this.paths, this.entry, staged.bytes());
    } catch (err) {
      throw asDfsError(err);
    }
  }
}

/** The bytes of a new chunk before its file exists: at most STAGE_LIMIT, holes read as zeros. */
export class Staged {
  private buf = Buffer.alloc(0);
  private length = 0;

  put(data: Uint8Array, pos: number): void {
    const end = pos + data.length;
    if (end > STAGE_LIMIT) throw new Error(`staged chunk bytes past ${STAGE_LIMIT}`);
    if (end > this.buf.length) {
      const grown = Buffer.alloc(Math.min(STAGE_LIMIT, Math.max(end, this.buf.length * 2)));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    this.buf.set(data, pos);
    this.length = Math.max(this.length, end);
  }

  read(at: number, length: number): Buffer {
    return this.buf.subarray(at, Math.min(at + length, this.length));
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

async function writeFully(fh: fs.FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * A packed chunk written into a reused inode on the calling thread. Without an
 * inode to allocate, opening, writing at most 128 KiB into the page cache and
 * renaming take tens of microseconds in all, less than one of the three
 * thread-pool round trips they replace. The rename lands after the data; a
 * crash before it leaves the bytes in the pool, which reuses them with O_TRUNC.
 */
function writePackedInline(from: string, to: string, parts: Buffer[], want: number): void {
  const fd = openSync(from, 'w', 0o644);
  try {
    const n = writevSync(fd, parts, 0);
    // Regular files take a write of this size whole; anything else is not worth a second path.
    if (n !== want) throw shortWrite(to, n, want);
    renameSync(from, to);
  } finally {
    closeSync(fd);
  }
}

function shortWrite(file: string, written: number, want: number): DfsError {
  return new DfsError('EIO', `chunk file ${file}: short write (${written} of ${want} bytes)`);
}

/** readFully on the calling thread (see INLINE_READ_BYTES). */
function readFullyInline(fh: fs.FileHandle, position: number, length: number, buf: Buffer): Buffer {
  let done = 0;
  while (done < length) {
    const n = readSync(fh.fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Reads up to `length` bytes at `position`; shorter only at end of file. */
async function readFully(
  fh: fs.FileHandle,
  position: number,
  length: number,
  buf: Buffer = Buffer.allocUnsafe(length),
): Promise<Buffer> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}
