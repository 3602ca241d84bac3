import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DfsClient, DfsClientOptions } from '../../src/client/types';
import { DIST, TestCluster, waitFor } from '../helpers/cluster';
import { chunkDataPath, me, readFile, sha, writeFile } from './healing-helpers';

/**
 * Reads on the worker thread (src/client/read-offload.ts), as the mount does
 * them: the worker script only exists compiled, so these tests load the
 * client from dist/. The bytes must be the ones written, the worker must be
 * the one that served them, and a corrupt replica found on the worker must
 * still be skipped, reported and replaced.
 */

type CreateClient = (opts: DfsClientOptions) => DfsClient;
const { createClient } = require(path.join(DIST, 'client/index.js')) as { createClient: CreateClient };

/** The pool behind a client, for the worker's counter (not part of the public interface). */
function offloaded(client: DfsClient): number {
  return (client as unknown as { pool: { offloadedReads: number } }).pool.offloadedReads;
}

describe('client reads on a worker thread', () => {
  let cluster: TestCluster;
  let writer: DfsClient;
  const data = randomBytes(6 * 1024 * 1024 + 4321);

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2, chunkSize: '2MiB' }).start();
    writer = createClient({ namenode: cluster.address });
    await waitFor(
      '3 live data nodes',
      async () => (await writer.clusterStatus()).nodes.filter((n) => n.live).length === 3,
    );
    await writeFile(writer, '/w.bin', data);
  });

  afterAll(async () => {
    await writer?.close();
    await cluster?.stop();
  });

  it('returns the written bytes for sequential and random reads, served by the worker', async () => {
    const reader = createClient({ namenode: cluster.address, offloadReads: true });
    try {
      expect(sha(await readFile(reader, '/w.bin'))).toBe(sha(data));
      const h = await reader.open('/w.bin', { flags: constants.O_RDONLY }, me);
      for (const [at, len] of [
        [0, 4096],
        [2 * 1024 * 1024 - 100, 300],
        [5_000_000, 131_072],
        [data.length - 10, 4096],
      ]) {
        expect((await h.read(at, len)).equals(data.subarray(at, Math.min(at + len, data.length)))).toBe(true);
      }
      await h.close();
      expect(offloaded(reader)).toBeGreaterThan(0);
    } finally {
      await reader.close();
    }
  });

  it('serves a small random read on the calling thread and large ones on the worker', async () => {
    const reader = createClient({ namenode: cluster.address, offloadReads: true });
    try {
      const h = await reader.open('/w.bin', { flags: constants.O_RDONLY }, me);
      // One 64 KiB block, one session message: not worth two thread hops.
      expect((await h.read(5_000_000, 4096)).equals(data.subarray(5_000_000, 5_004_096))).toBe(true);
      expect(offloaded(reader)).toBe(0);
      await h.close();
      expect(sha(await readFile(reader, '/w.bin'))).toBe(sha(data));
      expect(offloaded(reader)).toBeGreaterThan(0);
    } finally {
      await reader.close();
    }
  });

  it('skips a corrupt replica found on the worker, reports it, and the name node replaces it', async () => {
    const info = await writer.fileInfo('/w.bin', me);
    const chunk = info.chunks[0];
    // The reader starts at replica (chunk index % replicas): the first one for chunk 0.
    const victimId = chunk.replicas[0].id;
    const victim = cluster.datanodes.find((d) => d.id === victimId)!;
    const file = chunkDataPath(victim.dataDir, chunk.chunkId);
    const bytes = fs.readFileSync(file);
    bytes[777] ^= 0xff;
    fs.writeFileSync(file, bytes);

    const reader = createClient({ namenode: cluster.address, offloadReads: true });
    try {
      expect(sha(await readFile(reader, '/w.bin'))).toBe(sha(data));
      expect(offloaded(reader)).toBeGreaterThan(0);
    } finally {
      await reader.close();
    }
    await waitFor(
      'corrupt replica replaced',
      async () => {
        const ids = (await writer.fileInfo('/w.bin', me)).chunks[0].replicas.map((r) => r.id);
        return ids.length === 2 && !ids.includes(victimId);
      },
      20_000,
      200,
    );
  });
});
