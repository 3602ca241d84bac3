import { LRUCache } from 'lru-cache';
import type { Logger } from '../common/logger';
import { nextRequestId } from './request-id';
import { DfsError } from '../rpc/errors';
import type { ChunkLocation } from './attrs';
import { CRC_BLOCK_BYTES } from './chunk-ranges';
import type { DataNodePool } from './data-nodes';
import type { MetadataClient } from './metadata';
import { FetchTurns } from './fetch-turns';
import { ReadAheadWindow } from './read-ahead';
import type { Caller } from './types';
import { sliceParts } from './write-buffer';

/** Unit of fetching and caching for sequential reads: a chunk-aligned range read with one ReadChunk call. */
export const READ_UNIT_BYTES = 4 * 1024 * 1024;
/**
 * Unit for reads that are not part of a sequential stream: one checksum block,
 * the least a data node can verify, so a random 4 KiB read moves 64 KiB, not 4 MiB.
 */
export const RANDOM_UNIT_BYTES = CRC_BLOCK_BYTES;
export const LOCATION_BATCH = 32;
/**
 * Unit fetches one open file runs at once. Four kept a cold sequential read
 * through the mount at 183-219 MiB/s where two gave 149-178 (same cluster,
 * runs interleaved): the data node's disk and the read worker overlap more.
 */
const FETCHES_IN_FLIGHT = 4;

interface Unit {
  /** Pieces covering the unit's range in order (verified data, then zeros for holes). */
  parts: Buffer[];
  length: number;
}

/**
 * The read side of one open file: chunk locations (cached per handle,
 * refreshed on error), ranged verified reads from one replica per unit
 * (different units prefer different replicas), failover with bad-replica
 * reports, zeros for holes, and sequential read-ahead into a small cache
 * keyed by (chunk id, version, offset).
 */
export class FileReader {
  private locations = new Map<number, ChunkLocation | null>();
  private loading = new Map<number, Promise<void>>();
  private readonly units: LRUCache<string, Promise<Unit>>;
  private readonly window: ReadAheadWindow;
  private readonly unitBytes: number;
  private readonly turns = new FetchTurns(FETCHES_IN_FLIGHT);
  private closed = false;

  constructor(
    private readonly meta: MetadataClient,
    private readonly pool: DataNodePool,
    private readonly ino: number,
    private readonly caller: Caller,
    readonly chunkSize: number,
    readAheadBytes: number,
    private readonly readTimeoutMs: number,
    /** How long a read waits for a chunk without a readable replica to get one (a restarting cluster). */
    private readonly replicaWaitMs: number,
    private readonly log: Logger,
  ) {
    this.unitBytes = Math.min(READ_UNIT_BYTES, chunkSize);
    this.window = new ReadAheadWindow(Math.min(readAheadBytes, 2 * this.unitBytes), readAheadBytes);
    this.units = new LRUCache({
      maxSize: Math.max(2 * readAheadBytes, 4 * this.unitBytes),
      sizeCalculation: (_unit, key) => unitSizeOf(key),
    });
  }

  /** Locations of chunks [0, LOCATION_BATCH) fetched with the open (LookupFile), as loadLocations(0) keeps them. */
  seedLocations(chunks: readonly ChunkLocation[]): void {
    if (this.locations.size > 0 || this.loading.size > 0) return;
    for (let i = 0; i < LOCATION_BATCH; i++) this.locations.set(i, null);
    for (const c of chunks) this.locations.set(c.index, c);
  }

  /**
   * The handle was closed: read-ahead still queued is dropped, and fetches
   * under way end without trying other replicas, waiting for the cluster or
   * warning (their channels may be closing with the client).
   */
  close(): void {
    this.closed = true;
    this.units.clear();
  }

  /** Forgets chunk locations and cached data (after this handle wrote or truncated the file). */
  invalidate(): void {
    this.locations.clear();
    this.loading.clear();
    this.units.clear();
  }

  /** Reads [position, position + length) of a file of `fileSize` bytes; shorter only at end of file. */
  async read(position: number, length: number, fileSize: number): Promise<Buffer> {
    const end = Math.min(position + length, fileSize);
    if (end <= position) return Buffer.alloc(0);
    const ahead = this.window.onRead(position, end - position);
    // A read that does not look sequential still uses the large units it falls in when they are
    // already cached or on their way (a stream's reads out of order), rather than fetching again.
    const large = ahead !== null || (await this.inLargeUnits(position, end, fileSize));
    const unitBytes = large ? this.unitBytes : Math.min(RANDOM_UNIT_BYTES, this.unitBytes);
    const pieces: Buffer[] = [];
    const wanted: Promise<Unit>[] = [];
    const starts: number[] = [];
    for (let u = Math.floor(position / unitBytes) * unitBytes; u < end; u += unitBytes) {
      wanted.push(this.unit(u, fileSize, unitBytes));
      starts.push(u);
    }
    if (ahead) this.prefetch(ahead.start, Math.min(ahead.end, fileSize), fileSize);
    const got = await Promise.all(wanted);
    for (let i = 0; i < got.length; i++) {
      const from = Math.max(position, starts[i]) - starts[i];
      const to = Math.min(end, starts[i] + got[i].length) - starts[i];
      pieces.push(...sliceParts(got[i].parts, from, to));
    }
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, end - position);
  }

  private prefetch(start: number, end: number, fileSize: number): void {
    for (let u = Math.floor(start / this.unitBytes) * this.unitBytes; u < end; u += this.unitBytes) {
      this.unit(u, fileSize, this.unitBytes, true).catch(() => undefined);
    }
  }

  /** Whether every large unit covering [position, end) is cached or being fetched. */
  private async inLargeUnits(position: number, end: number, fileSize: number): Promise<boolean> {
    for (let u = Math.floor(position / this.unitBytes) * this.unitBytes; u < end; u += this.unitBytes) {
      if (!this.units.has((await this.unitKey(u, fileSize, this.unitBytes)).key)) return false;
    }
    return true;
  }

  private async unitKey(
    u: number,
    fileSize: number,
    unitBytes: number,
  ): Promise<{ key: string; index: number; length: number; loc: ChunkLocation | null }> {
    const index = Math.floor(u / this.chunkSize);
    const loc = await this.location(index);
    // A unit is cut at the file size it was fetched for, so its length is part of its key: when the
    // file grows (a write further on, in another chunk) a shorter cached unit must not end a read early.
    const length = Math.min(unitBytes, fileSize - u, (index + 1) * this.chunkSize - u);
    const key = `${loc ? `${loc.chunkId}:${loc.version}` : `hole:${index}`}:${u}:${length}`;
    return { key, index, length, loc };
  }

  /**
   * The unit of `unitBytes` starting at file offset `u` (from the cache, or
   * fetched). Fetches take turns, at most FETCHES_IN_FLIGHT at once, nearest
   * first and a demanded unit before any prefetched one: a read-ahead of
   * many units must not put the one the reader waits for at the back.
   */
  private async unit(u: number, fileSize: number, unitBytes: number, ahead = false): Promise<Unit> {
    const { key, index, length, loc } = await this.unitKey(u, fileSize, unitBytes);
    let p = this.units.get(key);
    if (!p) {
      p = this.turns.take(key, ahead).then(async (done) => {
        try {
          if (this.closed) throw new DfsError('EBADF', 'read-ahead of a closed file');
          return await this.fetch(index, u - index * this.chunkSize, length, loc);
        } finally {
          done();
        }
      });
      this.units.set(key, p);
      p.catch(() => this.units.delete(key));
    } else if (!ahead) {
      this.turns.hurry(key);
    }
    return p;
  }

  private async location(index: number): Promise<ChunkLocation | null> {
    if (this.locations.has(index)) return this.locations.get(index) ?? null;
    const batch = Math.floor(index / LOCATION_BATCH) * LOCATION_BATCH;
    let l = this.loading.get(batch);
    if (!l) {
      l = this.loadLocations(batch);
      this.loading.set(batch, l);
      l.catch(() => this.loading.delete(batch));
    }
    await l;
    return this.locations.get(index) ?? null;
  }

  private async loadLocations(first: number): Promise<void> {
    const r = await this.meta.getChunks(this.ino, first, LOCATION_BATCH, this.caller);
    for (let i = first; i < first + LOCATION_BATCH; i++) if (!this.locations.has(i)) this.locations.set(i, null);
    for (const c of r.chunks) this.locations.set(c.index, c);
  }

  /** Reads `length` bytes at `offset` in chunk `index`; bytes the chunk does not have read as zeros. */
  private async fetch(index: number, offset: number, length: number, first: ChunkLocation | null): Promise<Unit> {
    let loc = first;
    const parts: Buffer[] = [];
    const deadline = Date.now() + this.replicaWaitMs;
    for (let backoff = 100; loc; backoff = Math.min(backoff * 2, 1_000)) {
      const valid = Math.max(0, Math.min(length, loc.size - offset));
      if (valid === 0) break;
      try {
        parts.push(...(await this.fromReplicas(loc, offset, valid)));
        break;
      } catch (err) {
        // The replica set may have changed (re-replication, a new version), or the data nodes
        // have not re-registered with a restarted name node yet: ask again for a bounded while.
        if (this.closed || Date.now() + backoff > deadline) throw err;
        await new Promise((r) => setTimeout(r, backoff));
        this.locations.delete(index);
        this.loading.clear();
        loc = await this.location(index);
      }
    }
    const have = parts.reduce((n, b) => n + b.length, 0);
    if (have < length) parts.push(Buffer.alloc(length - have));
    return { parts, length };
  }

  /**
   * Tries each replica in turn. A sequential reader keeps to one replica per
   * chunk: alternating units between replicas made each data node's kernel
   * read ahead into the units the other one served (its device read-ahead is
   * megabytes), reading the file from disk twice. Small units spread over
   * the replicas.
   */
  private async fromReplicas(loc: ChunkLocation, offset: number, length: number): Promise<Buffer[]> {
    const n = loc.replicas.length;
    if (n === 0) throw new DfsError('EIO', `chunk ${loc.chunkId} (index ${loc.index}): no live replica`);
    const first = length > RANDOM_UNIT_BYTES ? loc.index % n : (loc.index + Math.floor(offset / RANDOM_UNIT_BYTES)) % n;
    let last: DfsError | undefined;
    for (let k = 0; k < n; k++) {
      const r = loc.replicas[(first + k) % n];
      try {
        return await this.fromReplica(loc, r, offset, length);
      } catch (err) {
        last = err as DfsError;
        if (this.closed) throw last;
        this.log.warn({ chunkId: loc.chunkId, node: r.id, err: last.message }, 'replica read failed; trying another');
      }
    }
    throw new DfsError('EIO', `chunk ${loc.chunkId} (index ${loc.index}): no replica could be read (${last?.message})`);
  }

  private async fromReplica(
    loc: ChunkLocation,
    r: { id: string; address: string },
    offset: number,
    length: number,
  ): Promise<Buffer[]> {
    const requestId = nextRequestId();
    const pieces = await this.pool.readVerified(
      r.address,
      {
        chunkId: loc.chunkId,
        version: String(loc.version),
        offset: String(offset),
        length: String(length),
        token: loc.token,
        requestId,
      },
      this.readTimeoutMs,
    );
    const out: Buffer[] = [];
    let expected = Math.floor(offset / CRC_BLOCK_BYTES) * CRC_BLOCK_BYTES;
    const end = offset + length;
    for (const m of pieces) {
      const at = m.offset;
      if (at !== expected)
        throw new DfsError('EIO', `chunk ${loc.chunkId} on ${r.id}: data at ${at}, expected ${expected}`);
      const bad = m.badBlock;
      if (bad >= 0) {
        const reason = `checksum mismatch in block ${at / CRC_BLOCK_BYTES + bad}`;
        this.meta.reportBadReplica(loc.chunkId, loc.version, r.id, reason, this.caller);
        throw new DfsError('EIO', `chunk ${loc.chunkId} on ${r.id}: ${reason}`);
      }
      const from = Math.max(offset, at) - at;
      const to = Math.min(end, at + m.data.length) - at;
      if (to > from) out.push(m.data.subarray(from, to));
      expected = at + m.data.length;
    }
    const got = Math.min(expected, end) - offset;
    if (got < length)
      throw new DfsError('EIO', `chunk ${loc.chunkId} on ${r.id}: ${got} of ${length} bytes at ${offset}`);
    return out;
  }
}

/** Cache keys end with the unit's length in bytes (see `unit`). */
function unitSizeOf(key: string): number {
  return Number(key.slice(key.lastIndexOf(':') + 1));
}
