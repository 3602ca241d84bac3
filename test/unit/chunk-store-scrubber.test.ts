import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ChunkStore } from '../../src/datanode/chunk-store';
import { MIN_CHUNK_CHARGE, Scrubber } from '../../src/datanode/scrubber';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-scrub-'));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('scrubber', () => {
  it('finds a silently corrupted chunk in the background and reports it as bad', async () => {
    const logger = pino({ level: 'silent' });
    const store = await ChunkStore.open(dir, { logger, capacity: 1 << 30 });
    for (const id of ['1', '2', '3']) {
      const w = await store.openWriter(id, { version: 1, offset: 0, create: true });
      await w.write(randomBytes(300_000));
      await w.finish(false);
    }
    const file = path.join(dir, 'chunks', '02', '2.data');
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('rot'), 0, 3, 200_000);
    fs.closeSync(fd);
    let told = 0;
    const scrubber = new Scrubber({ store, logger, bytesPerSecond: 64 << 20, onBad: () => told++ });
    expect(await scrubber.pass()).toBe(1);
    expect(store.badChunks()).toEqual(['2']);
    expect(
      store
        .list()
        .map((c) => c.chunkId)
        .sort(),
    ).toEqual(['1', '3']);
    expect(told).toBe(1);
  });

  it('paces a pass over small chunks by their number, not only their bytes', async () => {
    const logger = pino({ level: 'silent' });
    const store = await ChunkStore.open(dir, { logger, capacity: 1 << 30 });
    const chunks = 12;
    for (let i = 1; i <= chunks; i++) {
      const w = await store.openWriter(String(i), { version: 1, offset: 0, create: true });
      await w.write(randomBytes(1024));
      await w.finish(false);
    }
    // Two blocks a second per chunk: 12 chunks charged one block each take 0.5 s.
    const scrubber = new Scrubber({ store, logger, bytesPerSecond: 2 * chunks * MIN_CHUNK_CHARGE });
    const started = Date.now();
    expect(await scrubber.pass()).toBe(0);
    const elapsedMs = Date.now() - started;
    // Counting bytes alone, the pass would be 64 times under budget and never wait.
    expect(elapsedMs).toBeGreaterThanOrEqual(450);
    expect(scrubber.progress()).toMatchObject({ passes: 1, passChunksDone: chunks, bytesVerified: chunks * 1024 });
  });
});
