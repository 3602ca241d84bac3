import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client';
import type { DfsClient } from '../../src/client/types';
import { startClientCluster } from '../helpers/client-cluster';
import type { TestCluster } from '../helpers/cluster';
import { nameNodeRequests } from '../helpers/rpc-requests';
import { sha } from './healing-helpers';

/**
 * The name node calls an open costs, counted on the name node's own request
 * metrics. Opening a file for reading looks its name up with LookupFile, which
 * also brings the first chunk locations: reading a small file costs one call,
 * not a Lookup at open and a GetChunks at the first read. Creating a file to
 * write it is CreateFile, which also prepares chunk 0: no PrepareWrite.
 */

const root = { uid: 0, gid: 0 };
const user = { uid: 1000, gid: 1000 };

async function counted<T>(
  cluster: TestCluster,
  fn: () => Promise<T>,
): Promise<{ value: T; calls: Map<string, number> }> {
  const before = await nameNodeRequests(cluster);
  const value = await fn();
  const after = await nameNodeRequests(cluster);
  const calls = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) calls.set(k, v - (before.get(k) ?? 0));
  return { value, calls };
}

describe('client: open brings the first chunk locations', () => {
  let cluster: TestCluster;
  let writer: DfsClient;
  const small = randomBytes(3000);

  beforeAll(async () => {
    ({ cluster, client: writer } = await startClientCluster({ dataNodes: 2, replication: 2 }));
    await writer.mkdir('/d', 0o755, root);
    for (const [p, mode] of [
      ['/d/small', 0o644],
      ['/d/private', 0o600],
    ] as const) {
      const h = await writer.open(p, { flags: constants.O_WRONLY | constants.O_CREAT, mode }, root);
      await h.write(0, small);
      await h.close();
    }
    await writer.symlink('small', '/d/link', root);
  });

  afterAll(async () => {
    await writer?.close();
    await cluster?.stop();
  });

  async function readWith(client: DfsClient, path: string): Promise<Buffer> {
    const h = await client.open(path, { flags: constants.O_RDONLY }, root);
    try {
      return await h.read(0, 1 << 20);
    } finally {
      await h.close();
    }
  }

  it('reads a small file with one LookupFile and no GetChunks', async () => {
    const reader = createClient({ namenode: cluster.address });
    try {
      await reader.stat('/d', root); // the walk to the parent is not what is counted
      const { value, calls } = await counted(cluster, () => readWith(reader, '/d/small'));
      expect(sha(value)).toBe(sha(small));
      expect(calls.get('LookupFile')).toBe(1);
      expect(calls.get('GetChunks') ?? 0).toBe(0);
      expect(calls.get('Lookup') ?? 0).toBe(0);
      // Through a symlink: the locations are those of the file it names.
      expect(sha(await readWith(reader, '/d/link'))).toBe(sha(small));
      // A handle that only writes asks for no locations.
      const { calls: w } = await counted(cluster, async () => {
        const h = await reader.open('/d/small', { flags: constants.O_WRONLY }, root);
        await h.close();
      });
      expect(w.get('LookupFile') ?? 0).toBe(0);
      expect(w.get('Lookup')).toBe(1);
    } finally {
      await reader.close();
    }
  });

  it('gives no locations (no read tokens) to a caller who may not read the file', async () => {
    const dir = await writer.stat('/d', root);
    const meta = (writer as unknown as { meta: { call<R>(m: string, r: object, idem: boolean): Promise<R> } }).meta;
    type Reply = { attr: { ino: string } | null; chunks: unknown[] };
    const ask = (caller: typeof root, name: string) =>
      meta.call<Reply>('LookupFile', { caller, parent: String(dir.ino), name, chunks: 32 }, true);
    expect((await ask(root, 'private')).chunks).toHaveLength(1);
    const refused = await ask(user, 'private');
    expect(refused.attr?.ino).toBe(String((await writer.stat('/d/private', root)).ino));
    expect(refused.chunks).toHaveLength(0);
    expect((await ask(user, 'small')).chunks).toHaveLength(1);
    // And the open itself still fails for that user, as it always did.
    await expect(writer.open('/d/private', { flags: constants.O_RDONLY }, user)).rejects.toMatchObject({
      errno: 'EACCES',
    });
  });
});

describe('client: a create that writes', () => {
  let cluster: TestCluster;
  let client: DfsClient;

  beforeAll(async () => {
    ({ cluster, client } = await startClientCluster({ dataNodes: 2, replication: 2 }));
    await client.mkdir('/w', 0o755, root);
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  const createAndWrite = async (path: string, data: Buffer, flags = constants.O_EXCL) => {
    const h = await client.open(path, { flags: constants.O_WRONLY | constants.O_CREAT | flags, mode: 0o644 }, root);
    await h.write(0, data);
    await h.close();
  };

  it('prepares the first chunk with the create: CreateFile and CommitWrite, no PrepareWrite', async () => {
    const data = randomBytes(1500);
    await client.stat('/w', root);
    const { calls } = await counted(cluster, () => createAndWrite('/w/one', data));
    expect(calls.get('CreateFile')).toBe(1);
    expect(calls.get('PrepareWrite') ?? 0).toBe(0);
    expect(calls.get('CommitWrite')).toBe(1);
    expect(calls.get('MakeNode') ?? 0).toBe(0);
    const other = createClient({ namenode: cluster.address });
    try {
      const h = await other.open('/w/one', { flags: constants.O_RDONLY }, root);
      expect(sha(await h.read(0, 1 << 20))).toBe(sha(data));
      await h.close();
    } finally {
      await other.close();
    }
  });

  it('writes through PrepareWrite when the create found the file, and keeps a file created but never written empty', async () => {
    await createAndWrite('/w/two', randomBytes(100));
    const again = randomBytes(700);
    const { calls } = await counted(cluster, () => createAndWrite('/w/two', again, constants.O_TRUNC));
    expect(calls.get('PrepareWrite')).toBe(1);
    const h = await client.open('/w/two', { flags: constants.O_RDONLY }, root);
    expect(sha(await h.read(0, 4096))).toBe(sha(again));
    await h.close();

    // touch: created for writing, closed without a write. Empty, readable, writable later, deletable.
    const t = await client.open('/w/touched', { flags: constants.O_WRONLY | constants.O_CREAT, mode: 0o644 }, root);
    await t.close();
    expect((await client.stat('/w/touched', root)).size).toBe(0);
    const later = randomBytes(2000);
    const w = await client.open('/w/touched', { flags: constants.O_WRONLY }, root);
    await w.write(100, later);
    await w.close();
    const r = await client.open('/w/touched', { flags: constants.O_RDONLY }, root);
    const back = await r.read(0, 4096);
    await r.close();
    expect(back.length).toBe(2100);
    expect(back.subarray(0, 100).equals(Buffer.alloc(100))).toBe(true);
    expect(back.subarray(100).equals(later)).toBe(true);
    await client.unlink('/w/touched', root);
  });
});
