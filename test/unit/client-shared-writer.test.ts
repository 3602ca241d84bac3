import { constants } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChunkLocation } from '../../src/client/attrs';
import type { DataNodePool } from '../../src/client/data-nodes';
import { DfsFileHandle } from '../../src/client/file-handle';
import type { MetadataClient } from '../../src/client/metadata';
import { OpenFileTable, RwLock } from '../../src/client/open-file';
import { resolveOptions } from '../../src/client/options';
import type { Caller, FileAttr, SetAttrChanges } from '../../src/client/types';
import { DfsError } from '../../src/rpc/errors';
import { blockCrcs, BLOCK_SIZE } from '../../src/rpc/checksum';
import { readVerified } from '../../src/client/verified-read';
import type { ReadChunkRequest } from '../../src/rpc/gen/dfs/ReadChunkRequest';
import type { DataParts } from '../../src/rpc/data-messages';
import type { CommittedChunk } from '../../src/rpc/gen/dfs/CommittedChunk';
import { CopySlab } from '../../src/client/copy-slab';

/**
 * The shared per-inode state of the client (open-file.ts) against an
 * in-memory name node and data node that enforce chunk ids and versions as
 * the real ones do (PrepareWrite bumps, a stale version is refused, a commit
 * of a removed chunk is ESTALE).
 */

const CHUNK = 256 * 1024;
const INO = 7;
const me: Caller = { uid: 1000, gid: 1000 };
const RW = constants.O_RDWR;

interface FakeChunk {
  id: string;
  version: number;
  size: number;
}

class FakeCluster {
  size = 0;
  generation = 0;
  nextId = 1;
  prepares = 0;
  chunks = new Map<number, FakeChunk>();
  /** Data node side: chunk id -> stored version and bytes. */
  stored = new Map<string, { version: number; data: Buffer }>();
  failWrites?: DfsError;
  /** Writes into these chunk indexes fail with ENOSPC (a node full for some chunks only). */
  readonly failChunks = new Set<number>();

  attr(): FileAttr {
    return {
      ino: INO,
      mode: 0o100644,
      uid: me.uid,
      gid: me.gid,
      size: this.size,
      nlink: 1,
      atimeMs: 0,
      mtimeMs: 0,
      ctimeMs: 0,
      rdev: 0,
      generation: this.generation,
      storageClass: '',
      replication: 1,
    };
  }

  location(index: number, c: FakeChunk): ChunkLocation {
    return {
      index,
      chunkId: c.id,
      version: c.version,
      size: c.size,
      replicas: [{ id: 'n1', address: 'a1' }],
      token: '',
    };
  }

  readonly meta = {
    prepareWrite: async (_ino: number, index: number): Promise<ChunkLocation> => {
      this.prepares++;
      let c = this.chunks.get(index);
      if (c) c.version++;
      else this.chunks.set(index, (c = { id: String(this.nextId++), version: 1, size: 0 }));
      return this.location(index, c);
    },
    commitWrite: async (_ino: number, chunks: CommittedChunk[], minSize: number): Promise<FileAttr> => {
      for (const cc of chunks) {
        const c = this.chunks.get(Number(cc.index));
        if (!c || c.id !== cc.chunkId)
          throw new DfsError('ESTALE', `chunk ${String(cc.chunkId)} is not chunk ${String(cc.index)}`);
        if (Number(cc.version) < c.version) throw new DfsError('ESTALE', `version ${String(cc.version)} is older`);
        c.size = Number(cc.size);
      }
      this.size = Math.max(this.size, minSize);
      this.generation++;
      return this.attr();
    },
    setAttr: async (_ino: number, changes: SetAttrChanges): Promise<FileAttr> => {
      const size = changes.size;
      if (size === undefined) return this.attr();
      for (const [index, c] of [...this.chunks]) {
        const start = index * CHUNK;
        if (start >= size) {
          this.chunks.delete(index);
          this.stored.delete(c.id);
        } else if (start + c.size > size) {
          c.version++;
          c.size = size - start;
          const s = this.stored.get(c.id);
          if (s) this.stored.set(c.id, { version: c.version, data: s.data.subarray(0, c.size) });
        }
      }
      if (size !== this.size) this.generation++;
      this.size = size;
      return this.attr();
    },
    getChunks: async (_ino: number, first: number, count: number) => ({
      attr: this.attr(),
      chunks: [...this.chunks].filter(([i]) => i >= first && i < first + count).map(([i, c]) => this.location(i, c)),
      chunkSize: CHUNK,
    }),
    reportBadReplica: () => undefined,
  };

  readonly pool = {
    writeChunk: async (
      _address: string,
      header: { chunkId: string; version: string; offset: string },
      messages: DataParts[],
    ): Promise<{ written: string[]; size: string }> => {
      await new Promise((r) => setTimeout(r, 1));
      if (this.failWrites) throw this.failWrites;
      for (const [index, c] of this.chunks) {
        if (c.id === header.chunkId && this.failChunks.has(index)) throw new DfsError('ENOSPC', `chunk ${index}: full`);
      }
      const version = Number(header.version);
      const s = this.stored.get(header.chunkId) ?? { version, data: Buffer.alloc(0) };
      if (version < s.version) throw new DfsError('ESTALE', `version ${version} < ${s.version}`);
      // As a data node does: each message goes where it says, or right after the previous one.
      let data = Buffer.from(s.data);
      let pos = Number(header.offset);
      for (const m of messages) {
        if (m.offset !== undefined) pos = m.offset;
        const bytes = Buffer.concat(m.parts, m.length);
        const end = pos + bytes.length;
        if (data.length < end) data = Buffer.concat([data, Buffer.alloc(end - data.length)]);
        bytes.copy(data, pos);
        pos = end;
      }
      this.stored.set(header.chunkId, { version, data });
      return { written: ['n1'], size: String(data.length) };
    },
    readChunk: async (_address: string, req: { chunkId: string; version: string; offset: string; length: string }) => {
      const s = this.stored.get(req.chunkId);
      if (!s || s.version !== Number(req.version)) throw new DfsError('ESTALE', `chunk ${req.chunkId} version`);
      const start = Math.floor(Number(req.offset) / BLOCK_SIZE) * BLOCK_SIZE;
      const end = Math.min(
        s.data.length,
        Math.ceil((Number(req.offset) + Number(req.length)) / BLOCK_SIZE) * BLOCK_SIZE,
      );
      const data = s.data.subarray(start, end);
      return [{ offset: String(start), data, crcs: blockCrcs(data), chunkSize: String(s.data.length) }];
    },
    // The real pool's in-process path: the fake's messages, checked block by block.
    readVerified: (address: string, req: ReadChunkRequest, deadlineMs: number) =>
      readVerified(this.pool as unknown as Pick<DataNodePool, 'readChunk'>, address, req, deadlineMs),
  };

  /** The file as the name node and data nodes have it (committed sizes only). */
  contents(): Buffer {
    const out = Buffer.alloc(this.size);
    for (const [index, c] of this.chunks) {
      const s = this.stored.get(c.id);
      s?.data.subarray(0, Math.min(c.size, out.length - index * CHUNK)).copy(out, index * CHUNK);
    }
    return out;
  }
}

function setup() {
  const cluster = new FakeCluster();
  const opts = resolveOptions({ namenode: '127.0.0.1:1', segmentBytes: 64 * 1024, writeBufferBytes: 512 * 1024 });
  const log = pino({ level: 'silent' });
  const meta = cluster.meta as unknown as MetadataClient;
  const pool = cluster.pool as unknown as DataNodePool;
  const table = new OpenFileTable({ meta, pool, slab: new CopySlab(), opts, log });
  const open = (flags = RW): DfsFileHandle => {
    const file = table.acquire(cluster.attr(), CHUNK);
    return new DfsFileHandle('/f', file, table, flags, meta, pool, me, opts, log);
  };
  return { cluster, table, open };
}

const fill = (n: number, byte: number): Buffer => Buffer.alloc(n, byte);

describe('client: handles of one inode share one writer', () => {
  it('two handles writing different ranges of the same chunks commit the union, one PrepareWrite per chunk', async () => {
    const { cluster, open, table } = setup();
    const a = open();
    const b = open();
    await a.write(0, fill(300_000, 1));
    await b.write(300_000, fill(300_000, 2));
    await a.write(100_000, fill(1000, 3));
    expect(a.size).toBe(600_000);
    expect(b.size).toBe(600_000);
    await a.close();
    await b.close();
    expect(table.size).toBe(0);
    const want = Buffer.concat([fill(300_000, 1), fill(300_000, 2)]);
    fill(1000, 3).copy(want, 100_000);
    expect(cluster.contents().equals(want)).toBe(true);
    expect(cluster.prepares).toBe(3); // chunks 0, 1, 2: never re-prepared by the other handle
  });

  it('keeps its own copy of written data: a caller (FUSE) may reuse its buffer once write returns', async () => {
    const { cluster, open } = setup();
    const h = open();
    const buf = Buffer.alloc(128 * 1024);
    for (let i = 0; i < 8; i++) {
      buf.fill(i + 1);
      await h.write(i * buf.length, buf);
    }
    buf.fill(0xee);
    await h.close();
    const want = Buffer.concat(Array.from({ length: 8 }, (_, i) => fill(128 * 1024, i + 1)));
    expect(cluster.contents().equals(want)).toBe(true);
  });

  it('a handle opened earlier sees growth and data written by another handle', async () => {
    const { open } = setup();
    const a = open();
    const b = open(constants.O_RDONLY);
    await a.write(0, fill(10, 9));
    expect(b.size).toBe(10);
    expect((await b.read(0, 100)).equals(fill(10, 9))).toBe(true);
    await a.flush();
    await a.write(10, fill(5, 8));
    expect(b.size).toBe(15);
    expect((await b.read(8, 100)).equals(Buffer.from([9, 9, 8, 8, 8, 8, 8]))).toBe(true);
    await a.close();
    await b.close();
  });

  it('truncate through one handle, then a write through another past a chunk, commits without ESTALE', async () => {
    const { cluster, open } = setup();
    const a = open(RW | constants.O_APPEND);
    const t = open();
    await a.write(0, fill(1000, 1));
    await t.truncate(0);
    expect(a.size).toBe(0);
    await t.close();
    await a.write(0, fill(CHUNK + 5000, 2)); // O_APPEND: at the shared end, 0
    expect(a.size).toBe(CHUNK + 5000);
    await a.close();
    expect(cluster.contents().equals(fill(CHUNK + 5000, 2))).toBe(true);
  });

  it('a truncate down is seen at once by every handle, buffered bytes past it are dropped', async () => {
    const { cluster, open } = setup();
    const a = open();
    const b = open();
    await a.write(0, fill(3 * CHUNK, 4));
    await a.flush();
    await b.write(2 * CHUNK, fill(CHUNK, 5));
    await a.truncate(CHUNK + 10);
    expect(a.size).toBe(CHUNK + 10);
    expect(b.size).toBe(CHUNK + 10);
    await b.write(CHUNK + 20, fill(10, 6));
    expect(a.size).toBe(CHUNK + 30);
    await a.close();
    await b.close();
    const want = Buffer.concat([fill(CHUNK + 10, 4), fill(10, 0), fill(10, 6)]);
    expect(cluster.contents().equals(want)).toBe(true);
  });

  it('appends from two handles land one after the other', async () => {
    const { cluster, open } = setup();
    const a = open(RW | constants.O_APPEND);
    const b = open(RW | constants.O_APPEND);
    await Promise.all([a.write(0, fill(100, 1)), b.write(0, fill(100, 2)), a.write(0, fill(100, 3))]);
    await Promise.all([a.close(), b.close()]);
    const got = cluster.contents();
    expect(got.length).toBe(300);
    expect(new Set([got[0], got[100], got[200]])).toEqual(new Set([1, 2, 3]));
  });

  it('a write failure is reported once to every writable handle, not to readers', async () => {
    const { cluster, open } = setup();
    const a = open();
    const b = open();
    const r = open(constants.O_RDONLY);
    cluster.failWrites = new DfsError('ENOSPC', 'full');
    await a.write(0, fill(10, 1));
    await expect(a.flush()).rejects.toMatchObject({ errno: 'ENOSPC' });
    await expect(a.flush()).resolves.toBeUndefined();
    cluster.failWrites = undefined;
    await expect(b.close()).rejects.toMatchObject({ errno: 'ENOSPC' });
    await r.close();
    await a.close();
  });

  it('after a failed chunk the file ends where the failure began, even if a later chunk was acknowledged', async () => {
    const { cluster, open } = setup();
    const a = open();
    cluster.failChunks.add(1);
    await a.write(0, fill(3 * CHUNK + 100, 7)); // chunks 0..3; chunk 1 fails, 2 and 3 succeed
    await expect(a.close()).rejects.toMatchObject({ errno: 'ENOSPC' });
    // Never a size over bytes no replica holds: chunk 1 has none, so the file is chunk 0 alone.
    expect(cluster.size).toBe(CHUNK);
    expect(cluster.contents().equals(fill(CHUNK, 7))).toBe(true);
  });

  it('a flush running while another handle writes does not forget the newer write', async () => {
    const { cluster, open } = setup();
    const a = open();
    const b = open();
    await a.write(0, fill(100, 1));
    const flushing = a.flush();
    await b.write(CHUNK, fill(100, 2));
    await flushing;
    await b.close();
    await a.close();
    const want = Buffer.alloc(CHUNK + 100);
    want.fill(1, 0, 100);
    want.fill(2, CHUNK);
    expect(cluster.contents().equals(want)).toBe(true);
  });
});

describe('client: the per-inode lock', () => {
  it('runs shared holders together and an exclusive one alone, in arrival order', async () => {
    const lock = new RwLock();
    const events: string[] = [];
    const hold = (name: string, ms: number) => async () => {
      events.push(`+${name}`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`-${name}`);
    };
    await Promise.all([
      lock.shared(hold('r1', 20)),
      lock.shared(hold('r2', 5)),
      lock.exclusive(hold('x', 5)),
      lock.shared(hold('r3', 1)),
    ]);
    expect(events).toEqual(['+r1', '+r2', '-r2', '-r1', '+x', '-x', '+r3', '-r3']);
  });
});
