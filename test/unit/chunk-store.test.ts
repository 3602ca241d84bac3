import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_SIZE, blockCrcs } from '../../src/rpc/checksum';
import { ChunkStore, INLINE_READ_BYTES, STAGE_LIMIT } from '../../src/datanode/chunk-store';
import { ReadHandles } from '../../src/datanode/read-handles';
import { InodePool } from '../../src/datanode/inode-pool';
import { decodeMeta } from '../../src/datanode/chunk-meta';
import { blockThreadPool, settlesWithin } from '../helpers/thread-pool';

const B = BLOCK_SIZE;
const logger = pino({ level: 'silent' });

let dir: string;
let store: ChunkStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-chunk-store-'));
  store = await ChunkStore.open(dir, { logger, capacity: 64 * 1024 * 1024 });
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function write(id: string, data: Buffer, opts: { offset?: number; version?: number; create?: boolean } = {}) {
  const w = await store.openWriter(id, {
    version: opts.version ?? 1,
    offset: opts.offset ?? 0,
    create: opts.create ?? true,
  });
  try {
    // Messages that do not line up with blocks, as a client may send them.
    for (let at = 0; at < data.length; at += 100_000) await w.write(data.subarray(at, at + 100_000));
    return await w.finish(false);
  } catch (err) {
    await w.abort();
    throw err;
  }
}

async function readAll(id: string, offset = 0, length = 0): Promise<{ data: Buffer; start: number }> {
  const parts: Buffer[] = [];
  let start = -1;
  for await (const p of store.read(id, 0, offset, length)) {
    if (start < 0) start = p.offset;
    expect(p.crcs).toEqual(blockCrcs(p.data));
    parts.push(p.data);
  }
  return { data: Buffer.concat(parts), start };
}

function metaOf(id: string) {
  const sub = (BigInt(id) % 256n).toString(16).padStart(2, '0');
  return decodeMeta(fs.readFileSync(path.join(dir, 'chunks', sub, `${id}.meta`)), id);
}

describe('chunk store', () => {
  it('stores data with one CRC per 64 KiB block and reads it back verified', async () => {
    const data = randomBytes(5 * B + 123);
    const s = await write('42', data);
    expect(s).toEqual({ chunkId: '42', version: 1, size: data.length });
    expect((await readAll('42')).data.equals(data)).toBe(true);
    expect(Array.from(metaOf('42').crcs)).toEqual(blockCrcs(data));
    expect(store.used).toBe(data.length);
    expect(fs.existsSync(path.join(dir, 'chunks', '2a', '42.data'))).toBe(true);
  });

  it('overwriting in the middle changes only the CRCs of the touched blocks', async () => {
    const data = randomBytes(8 * B);
    await write('7', data);
    const before = Array.from(metaOf('7').crcs);
    const patch = randomBytes(B + 10);
    await write('7', patch, { offset: 3 * B + 100, version: 2, create: false });
    const after = Array.from(metaOf('7').crcs);
    const changed = after.map((c, i) => (c !== before[i] ? i : -1)).filter((i) => i >= 0);
    expect(changed).toEqual([3, 4]);
    patch.copy(data, 3 * B + 100);
    expect((await readAll('7')).data.equals(data)).toBe(true);
    expect(store.stat('7')).toEqual({ chunkId: '7', version: 2, size: 8 * B });
  });

  it('reads holes left by a write past the end as zeros', async () => {
    await write('9', Buffer.from('head'));
    const tail = randomBytes(10);
    await write('9', tail, { offset: 3 * B + 1, version: 1, create: false });
    const { data } = await readAll('9');
    expect(data.length).toBe(3 * B + 11);
    expect(data.subarray(0, 4).toString()).toBe('head');
    expect(data.subarray(4, 3 * B + 1).every((b) => b === 0)).toBe(true);
    expect(data.subarray(3 * B + 1).equals(tail)).toBe(true);
  });

  it('returns whole blocks covering a ranged read', async () => {
    const data = randomBytes(4 * B);
    await write('11', data);
    const { data: got, start } = await readAll('11', B + 5, 10);
    expect(start).toBe(B);
    expect(got.equals(data.subarray(B, 2 * B))).toBe(true);
  });

  it('refuses a write whose version is older than the stored one (ESTALE)', async () => {
    await write('5', randomBytes(100), { version: 3 });
    await expect(write('5', randomBytes(10), { version: 2, create: false })).rejects.toThrow(/ESTALE/);
    await expect(write('5', randomBytes(10), { version: 3, create: false })).resolves.toMatchObject({ version: 3 });
  });

  it('refuses a non-create write to a missing chunk (ENOENT)', async () => {
    await expect(write('6', randomBytes(10), { create: false })).rejects.toThrow(/ENOENT/);
    expect(store.stat('6')).toBeUndefined();
  });

  it('refuses ids that are not plain numbers, never touching a path', async () => {
    for (const id of ['../x', '1/../../etc', '', '-1', '0', '1e3', 'abc', '18446744073709551616', '12/']) {
      await expect(store.openWriter(id, { version: 1, offset: 0, create: true })).rejects.toThrow(/EINVAL/);
      expect(() => store.stat(id)).toThrow(/EINVAL/);
    }
    await expect(store.delete(['../../x'])).rejects.toThrow(/EINVAL/);
    // Only the pool of reusable files, made at open, and nothing in it.
    expect(fs.readdirSync(path.join(dir, 'chunks'))).toEqual(['free']);
    expect(fs.readdirSync(path.join(dir, 'chunks', 'free'))).toEqual([]);
  });

  it('detects a corrupt block on read, fails the read and records the chunk as bad', async () => {
    const data = randomBytes(3 * B);
    await write('13', data);
    const file = path.join(dir, 'chunks', '0d', '13.data');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([data[B + 17] ^ 0x55]), 0, 1, B + 17);
    fs.closeSync(fd);
    await expect(readAll('13')).rejects.toThrow(/EIO.*checksum mismatch at offset 65536/);
    expect(store.badChunks()).toEqual(['13']);
    expect(store.list().map((c) => c.chunkId)).not.toContain('13');
  });

  it('truncates (shrink and extend) with a new version and correct CRCs', async () => {
    const data = randomBytes(3 * B + 50);
    await write('21', data);
    expect(await store.truncate('21', 1, 2, B + 10)).toEqual({ chunkId: '21', version: 2, size: B + 10 });
    expect((await readAll('21')).data.equals(data.subarray(0, B + 10))).toBe(true);
    await store.truncate('21', 2, 3, 2 * B + 1);
    const { data: grown } = await readAll('21');
    expect(grown.subarray(0, B + 10).equals(data.subarray(0, B + 10))).toBe(true);
    expect(grown.subarray(B + 10).every((b) => b === 0)).toBe(true);
    expect(store.stat('21')).toEqual({ chunkId: '21', version: 3, size: 2 * B + 1 });
    expect(store.used).toBe(2 * B + 1);
    await expect(store.truncate('21', 1, 1, 0)).rejects.toThrow(/ESTALE/);
  });

  it('deletes chunks and frees their space', async () => {
    await write('30', randomBytes(1000));
    await write('31', randomBytes(1000));
    expect(await store.delete(['30', '31', '999'])).toBe(2);
    expect(store.list()).toEqual([]);
    expect(store.used).toBe(0);
  });

  it('refuses a write that would exceed the capacity (ENOSPC)', async () => {
    const small = await ChunkStore.open(path.join(dir, 'small'), { logger, capacity: 2 * B });
    const w = await small.openWriter('1', { version: 1, offset: 0, create: true });
    await w.write(randomBytes(B));
    await expect(w.write(randomBytes(2 * B))).rejects.toThrow(/ENOSPC/);
    await w.abort();
    expect(small.used).toBe(B);
  });

  it('writes the first meta of a new chunk in place and replaces an existing one atomically', async () => {
    await write('90', randomBytes(STAGE_LIMIT + 1)); // too big to be packed: a .data + .meta pair
    const metaPath = (await fs.promises.readdir(path.join(dir, 'chunks'), { recursive: true }))
      .map(String)
      .find((f) => f.endsWith('90.meta'));
    expect(metaPath).toBeDefined();
    const full = path.join(dir, 'chunks', metaPath!);
    const inodeBefore = fs.statSync(full).ino;
    await write('90', randomBytes(10), { version: 2 });
    // Rewritten through a temp file and a rename: a new inode, never a half-written meta.
    expect(fs.statSync(full).ino).not.toBe(inodeBefore);
    expect(decodeMeta(fs.readFileSync(full), 'chunk 90').version).toBe(2);
  });

  it('keeps chunks, versions and sizes across a restart and drops unfinished creates', async () => {
    const data = randomBytes(2 * B + 3);
    await write('77', data, { version: 4 });
    fs.writeFileSync(path.join(dir, 'chunks', '4d', '333.data'), 'orphan');
    // A new chunk's first meta is written in place: a crash before that write leaves it empty.
    fs.mkdirSync(path.join(dir, 'chunks', '4e'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'chunks', '4e', '334.data'), 'half-made');
    fs.writeFileSync(path.join(dir, 'chunks', '4e', '334.meta'), '');
    const reopened = await ChunkStore.open(dir, { logger });
    expect(reopened.list()).toEqual([{ chunkId: '77', version: 4, size: data.length }]);
    expect(fs.existsSync(path.join(dir, 'chunks', '4d', '333.data'))).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'chunks', '4e'))).toEqual([]);
    const parts: Buffer[] = [];
    for await (const p of reopened.read('77', 4, 0, 0)) parts.push(p.data);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
  });

  it('holds a small new chunk in memory until close, then writes it as one packed file', async () => {
    const w = await store.openWriter('500', { version: 1, offset: 0, create: true });
    const a = randomBytes(B / 2);
    await w.write(a);
    // An overwrite inside, then a write past a hole: the staged bytes behave as a file would.
    await w.write(Buffer.from('patched'), 10);
    await w.write(Buffer.from('tail'), B + 100);
    const expected = Buffer.alloc(B + 104);
    a.copy(expected);
    Buffer.from('patched').copy(expected, 10);
    Buffer.from('tail').copy(expected, B + 100);
    const sub = path.join(dir, 'chunks', (500 % 256).toString(16).padStart(2, '0'));
    expect(fs.existsSync(sub) ? fs.readdirSync(sub) : []).toEqual([]);
    // A reader meanwhile gets the bytes written so far, verified, as from a file.
    expect((await readAll('500')).data.equals(expected)).toBe(true);
    expect((await readAll('500', B + 50, 10)).start).toBe(B);
    await w.finish(false);
    expect(fs.readdirSync(sub)).toEqual(['500.chunk']);
    const packed = fs.readFileSync(path.join(sub, '500.chunk'));
    const meta = decodeMeta(packed.subarray(0, packed.length - expected.length), 'chunk 500');
    expect(Array.from(meta.crcs)).toEqual(blockCrcs(expected));
    expect(packed.subarray(packed.length - expected.length).equals(expected)).toBe(true);
    expect((await readAll('500')).data.equals(expected)).toBe(true);
    expect(store.used).toBe(expected.length);
    const reopened = await ChunkStore.open(dir, { logger });
    expect(reopened.stat('500')).toEqual({ chunkId: '500', version: 1, size: expected.length });
    const parts: Buffer[] = [];
    for await (const p of reopened.read('500', 1, 0, 0)) parts.push(p.data);
    expect(Buffer.concat(parts).equals(expected)).toBe(true);
    reopened.close();
  });

  it('unpacks a packed chunk into a .data + .meta pair before it changes', async () => {
    const data = randomBytes(5000);
    await write('600', data);
    await write('601', data);
    const sub = (id: number) => path.join(dir, 'chunks', (id % 256).toString(16).padStart(2, '0'));
    await readAll('600'); // a read handle on the packed file is open now
    const w = await store.openWriter('600', { version: 2, offset: 100, create: false });
    await w.write(Buffer.from('changed'));
    await w.finish(false);
    expect(fs.readdirSync(sub(600)).sort()).toEqual(['600.data', '600.meta']);
    const changed = Buffer.from(data);
    Buffer.from('changed').copy(changed, 100);
    expect((await readAll('600')).data.equals(changed)).toBe(true);
    expect(await store.truncate('601', 1, 2, 10)).toEqual({ chunkId: '601', version: 2, size: 10 });
    expect((await readAll('601')).data.equals(data.subarray(0, 10))).toBe(true);
    const reopened = await ChunkStore.open(dir, { logger });
    expect(reopened.stat('600')).toEqual({ chunkId: '600', version: 2, size: data.length });
    expect(reopened.stat('601')).toEqual({ chunkId: '601', version: 2, size: 10 });
    reopened.close();
  });

  it('after a crash keeps the complete pair over the packed file, the packed file over a torn pair, and drops a torn packed file', async () => {
    const sub = (id: number) => path.join(dir, 'chunks', (id % 256).toString(16).padStart(2, '0'));
    const file = (id: number, ext: string) => path.join(sub(id), `${id}.${ext}`);
    // 610: the unpack finished its pair, the crash came before the packed file went.
    await write('610', randomBytes(3000));
    const oldPacked = fs.readFileSync(file(610, 'chunk'));
    const newer = randomBytes(3000);
    await write('610', newer, { version: 2, create: false });
    fs.writeFileSync(file(610, 'chunk'), oldPacked);
    // 611: the crash came part way through the pair.
    const kept = randomBytes(2000);
    await write('611', kept);
    fs.writeFileSync(file(611, 'meta'), '');
    fs.writeFileSync(file(611, 'data'), kept.subarray(0, 100));
    // 612: the packed file itself was cut short.
    await write('612', randomBytes(2000));
    fs.truncateSync(file(612, 'chunk'), 40);

    const reopened = await ChunkStore.open(dir, { logger });
    const read = async (id: string) => {
      const parts: Buffer[] = [];
      for await (const p of reopened.read(id, 0, 0, 0)) parts.push(p.data);
      return Buffer.concat(parts);
    };
    expect(reopened.stat('610')).toEqual({ chunkId: '610', version: 2, size: 3000 });
    expect((await read('610')).equals(newer)).toBe(true);
    expect(
      fs
        .readdirSync(sub(610))
        .filter((f) => f.startsWith('610.'))
        .sort(),
    ).toEqual(['610.data', '610.meta']);
    expect((await read('611')).equals(kept)).toBe(true);
    expect(fs.readdirSync(sub(611)).filter((f) => f.startsWith('611.'))).toEqual(['611.chunk']);
    expect(reopened.stat('612')).toBeUndefined();
    expect(fs.readdirSync(sub(612)).filter((f) => f.startsWith('612.'))).toEqual([]);
    reopened.close();
  });

  it('moves a new chunk to its file once it outgrows memory, and fsyncs it through the file', async () => {
    const data = randomBytes(STAGE_LIMIT + 3 * B + 17);
    expect((await write('501', data)).size).toBe(data.length);
    expect((await readAll('501')).data.equals(data)).toBe(true);
    const w = await store.openWriter('502', { version: 1, offset: 0, create: true });
    await w.write(Buffer.from('small and synced'));
    await w.finish(true);
    expect((await readAll('502')).data.toString()).toBe('small and synced');
  });

  it('leaves nothing of a new chunk whose files cannot be written', async () => {
    const sub = path.join(dir, 'chunks', (503 % 256).toString(16).padStart(2, '0'));
    fs.mkdirSync(path.join(sub, '503.chunk'), { recursive: true }); // a directory where the file must go
    const w = await store.openWriter('503', { version: 1, offset: 0, create: true });
    await w.write(randomBytes(1000));
    await expect(w.finish(false)).rejects.toThrow(/EISDIR/);
    expect(store.stat('503')).toBeUndefined();
    expect(store.used).toBe(0);
    // The chunk is free again: a later write of it goes through.
    fs.rmSync(path.join(sub, '503.chunk'), { recursive: true });
    expect((await write('503', Buffer.from('again'))).size).toBe(5);
  });

  it('keeps a chunk file open between reads and lets go of it when the chunk is deleted', async () => {
    const data = randomBytes(2 * B);
    await write('510', data);
    const handles = (store as unknown as { readHandles: ReadHandles }).readHandles;
    await readAll('510');
    await readAll('510', B, 10);
    expect(handles.size).toBe(1);
    await store.delete(['510']);
    expect(handles.size).toBe(0);
    await expect(readAll('510')).rejects.toThrow(/ENOENT/);
  });
});

describe('reused inodes', () => {
  const fileOf = (id: string, kind: 'chunk' | 'data' | 'meta') =>
    path.join(dir, 'chunks', (BigInt(id) % 256n).toString(16).padStart(2, '0'), `${id}.${kind}`);
  const pooled = () => fs.readdirSync(path.join(dir, 'chunks', 'free'));

  it("makes a deleted chunk's emptied file the next new chunk's file, and never loads it as a chunk", async () => {
    await write('600', randomBytes(1000));
    const ino = fs.statSync(fileOf('600', 'chunk')).ino;
    await store.delete(['600']);
    expect(pooled()).toHaveLength(1);
    expect(fs.statSync(path.join(dir, 'chunks', 'free', pooled()[0])).size).toBe(0);
    store.close();
    store = await ChunkStore.open(dir, { logger, capacity: 64 * 1024 * 1024 });
    expect(store.list()).toEqual([]);
    expect(store.inodes.size).toBe(1);

    const data = randomBytes(3000);
    await write('601', data);
    expect(fs.statSync(fileOf('601', 'chunk')).ino).toBe(ino);
    expect(pooled()).toEqual([]);
    expect((await readAll('601')).data.equals(data)).toBe(true);
    store.close();
    store = await ChunkStore.open(dir, { logger, capacity: 64 * 1024 * 1024 });
    expect(store.list()).toEqual([{ chunkId: '601', version: 1, size: 3000 }]);
    expect((await readAll('601')).data.equals(data)).toBe(true);
  });

  it('reuses a pooled file that a crash left with bytes in it as if it were empty', async () => {
    await write('620', randomBytes(1000));
    await store.delete(['620']);
    fs.writeFileSync(path.join(dir, 'chunks', 'free', pooled()[0]), randomBytes(200_000)); // written, never renamed
    store.close();
    store = await ChunkStore.open(dir, { logger, capacity: 64 * 1024 * 1024 });
    const data = randomBytes(500);
    await write('621', data);
    expect(pooled()).toEqual([]);
    expect(fs.statSync(fileOf('621', 'chunk')).size).toBeLessThan(1000);
    store.close();
    store = await ChunkStore.open(dir, { logger, capacity: 64 * 1024 * 1024 });
    expect((await readAll('621')).data.equals(data)).toBe(true);
  });

  it('makes spare files ahead once creates draw on an empty pool, and stops when closed', async () => {
    const spare = await ChunkStore.open(path.join(dir, 'spare'), { logger, spareInodes: 8 });
    const free = path.join(dir, 'spare', 'chunks', 'free');
    expect(fs.readdirSync(free)).toEqual([]); // nothing made before it is needed
    const w = await spare.openWriter('630', { version: 1, offset: 0, create: true });
    await w.write(randomBytes(100));
    await w.finish(false);
    for (let i = 0; i < 200 && spare.inodes.size < 8; i++) await new Promise((r) => setTimeout(r, 10));
    expect(spare.inodes.size).toBe(8);
    const inos = new Set(fs.readdirSync(free).map((f) => fs.statSync(path.join(free, f)).ino));
    const w2 = await spare.openWriter('631', { version: 1, offset: 0, create: true });
    await w2.write(randomBytes(100));
    await w2.finish(false);
    const sub = path.join(dir, 'spare', 'chunks', (631 % 256).toString(16).padStart(2, '0'));
    expect(inos.has(fs.statSync(path.join(sub, '631.chunk')).ino)).toBe(true);
    spare.close();
  });

  it('unlinks what a full pool has no room for', async () => {
    const pool = await InodePool.open(path.join(dir, 'pool'), 1, logger);
    for (const f of ['a', 'b']) fs.writeFileSync(path.join(dir, f), 'x');
    await pool.give(path.join(dir, 'a'));
    await pool.give(path.join(dir, 'b'));
    await pool.give(path.join(dir, 'missing'));
    expect(pool.size).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'pool'))).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, 'a')) || fs.existsSync(path.join(dir, 'b'))).toBe(false);
  });

  it('fails a read under way when its chunk is deleted and the file reused, without calling the chunk corrupt', async () => {
    const size = 3 * 1024 * 1024;
    await write('700', randomBytes(size));
    const ino = fs.statSync(fileOf('700', 'data')).ino;
    const pieces = store.read('700', 0, 0, 0)[Symbol.asyncIterator]();
    expect((await pieces.next()).done).toBe(false); // the read holds the file open
    await store.delete(['700']);
    await write('701', randomBytes(size));
    expect(fs.statSync(fileOf('701', 'data')).ino).toBe(ino); // the scenario under test happened
    await expect(pieces.next()).rejects.toThrow(/ENOENT.*deleted while being read/);
    expect(store.badChunks()).toEqual([]);
  });
});

describe('small reads', () => {
  it('serves a small read on the event loop, without waiting for a busy thread pool', async () => {
    const data = randomBytes(2 * INLINE_READ_BYTES);
    await write('520', data);
    await readAll('520', 0, 10); // opens the chunk file, which goes through the pool
    const release = await blockThreadPool(dir);
    try {
      const read = readAll('520', 3 * B, 100);
      expect(await settlesWithin(read, 2000)).toBe(true);
      expect((await read).data).toEqual(data.subarray(3 * B, 4 * B));
    } finally {
      await release();
    }
  });

  it('sends large reads, and small ones that find a read under way, to the thread pool', async () => {
    const data = randomBytes(4 * INLINE_READ_BYTES);
    await write('521', data);
    await readAll('521', 0, 10);
    const release = await blockThreadPool(dir);
    let reads: Promise<unknown> | undefined;
    try {
      const large = readAll('521', 0, 2 * INLINE_READ_BYTES);
      const small = readAll('521', 3 * B, 100);
      reads = Promise.all([large, small]);
      // Both wait for the pool.
      expect(await settlesWithin(large, 300)).toBe(false);
      expect(await settlesWithin(small, 1)).toBe(false);
    } finally {
      await release();
    }
    await reads;
    expect((await readAll('521', 3 * B, 100)).data).toEqual(data.subarray(3 * B, 4 * B));
  });
});

describe('read handles', () => {
  it('closes a handle dropped while a read uses it only when that read releases it', async () => {
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'contents');
    const handles = new ReadHandles(2);
    const a = await handles.acquire('1', file);
    const again = await handles.acquire('1', file);
    expect(again.fh).toBe(a.fh);
    again.release();
    handles.drop('1');
    const buf = Buffer.alloc(8);
    expect((await a.fh.read(buf, 0, 8, 0)).bytesRead).toBe(8);
    a.release();
    await new Promise((r) => setTimeout(r, 20));
    expect(a.fh.fd).toBe(-1);
    // A failed open is not remembered.
    await expect(handles.acquire('2', path.join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
    expect(handles.size).toBe(0);
  });
});
