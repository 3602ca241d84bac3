import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DfsClient } from '../../src/client';
import type { TestCluster } from '../helpers/cluster';
import { startClientCluster } from '../helpers/client-cluster';

/**
 * Several handles of one file in one client (as several fds of one file on a
 * mount): they share one writer and one size, so they never bump each
 * other's chunk versions, and each sees the others' writes as on a local
 * disk. Real processes, 1 MiB chunks, replication 2.
 */

const MiB = 1024 * 1024;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const RW = constants.O_RDWR | constants.O_CREAT;

async function contents(client: DfsClient, path: string): Promise<Buffer> {
  const h = await client.open(path, { flags: constants.O_RDONLY }, me);
  const parts: Buffer[] = [];
  for (let at = 0; at < h.size; at += MiB) parts.push(await h.read(at, MiB));
  await h.close();
  return Buffer.concat(parts);
}

describe('client library: several handles of one file', () => {
  let cluster: TestCluster;
  let client: DfsClient;

  beforeAll(async () => {
    ({ cluster, client } = await startClientCluster(
      { dataNodes: 2, replication: 2, chunkSize: '1MiB' },
      { metadataTimeoutMs: 8_000 },
    ));
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('two handles writing different ranges of one file: after both close the file is the union', async () => {
    const a = await client.open('/union', { flags: RW }, me);
    const b = await client.open('/union', { flags: RW }, me);
    // Interleaved, sharing chunks 0 and 1: with a writer per handle the second to close failed with ESTALE.
    await a.write(0, Buffer.alloc(MiB + 1000, 1));
    await b.write(MiB + 1000, Buffer.alloc(MiB, 2));
    await a.write(10, Buffer.alloc(10, 3));
    await b.write(2 * MiB + 1000, Buffer.alloc(100, 4));
    expect(a.size).toBe(2 * MiB + 1100);
    await a.close();
    await b.close();
    const want = Buffer.concat([Buffer.alloc(MiB + 1000, 1), Buffer.alloc(MiB, 2), Buffer.alloc(100, 4)]);
    want.fill(3, 10, 20);
    expect((await contents(client, '/union')).equals(want)).toBe(true);
  });

  it('truncate (by path and by another handle) then write then close keeps every byte', async () => {
    const a = await client.open('/trunc', { flags: RW | constants.O_APPEND }, me);
    await a.write(0, Buffer.from('first'));
    await client.setattr('/trunc', { size: 0 }, me);
    expect(a.size).toBe(0);
    await a.write(0, Buffer.alloc(MiB + 500, 5)); // past the first chunk
    const t = await client.open('/trunc', { flags: constants.O_WRONLY }, me);
    await t.truncate(MiB + 100);
    await t.close();
    expect(a.size).toBe(MiB + 100);
    await a.write(0, Buffer.alloc(100, 6)); // O_APPEND: at the shared end
    await a.close();
    const want = Buffer.concat([Buffer.alloc(MiB + 100, 5), Buffer.alloc(100, 6)]);
    expect((await contents(client, '/trunc')).equals(want)).toBe(true);
    expect((await client.stat('/trunc', me)).size).toBe(MiB + 200);
  });

  it("a handle opened earlier sees another handle's growth and data after its flush", async () => {
    const a = await client.open('/grow', { flags: RW }, me);
    const b = await client.open('/grow', { flags: constants.O_RDONLY }, me);
    expect(b.size).toBe(0);
    await a.write(0, Buffer.alloc(3 * MiB, 7));
    await a.flush();
    expect(b.size).toBe(3 * MiB);
    const tail = await b.read(3 * MiB - 10, 100);
    expect(tail.equals(Buffer.alloc(10, 7))).toBe(true);
    // Buffered (not yet flushed) writes are seen too, in size, stat and reads.
    await a.write(3 * MiB, Buffer.from('more'));
    expect(b.size).toBe(3 * MiB + 4);
    expect((await client.stat('/grow', me)).size).toBe(3 * MiB + 4);
    expect((await b.read(3 * MiB, 10)).toString()).toBe('more');
    await b.close();
    await a.close();
    expect((await contents(client, '/grow')).length).toBe(3 * MiB + 4);
  });

  it('a write right after a name node restart waits for the data nodes instead of failing with ENOSPC', async () => {
    await cluster.namenode.proc.kill('SIGKILL');
    await cluster.namenode.start();
    const h = await client.open('/after-restart', { flags: RW }, me);
    await h.write(0, Buffer.alloc(2 * MiB, 8));
    await h.close();
    expect((await contents(client, '/after-restart')).equals(Buffer.alloc(2 * MiB, 8))).toBe(true);
  });
});
