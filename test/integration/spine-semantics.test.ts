import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DfsClient } from '../../src/client';
import type { DfsError } from '../../src/rpc/errors';
import type { TestCluster } from '../helpers/cluster';
import { startClientCluster } from '../helpers/client-cluster';

/** POSIX-facing behaviour of the client library against real processes (small chunks, 2 data nodes). */

const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const RW = constants.O_RDWR | constants.O_CREAT;

async function contents(client: DfsClient, path: string): Promise<string> {
  const h = await client.open(path, { flags: constants.O_RDONLY }, me);
  const b = await h.read(0, h.size + 10);
  await h.close();
  return b.toString();
}

describe('client library file semantics', () => {
  let cluster: TestCluster;
  let client: DfsClient;

  beforeAll(async () => {
    ({ cluster, client } = await startClientCluster(
      { dataNodes: 2, replication: 2, chunkSize: '1MiB' },
      { metadataTimeoutMs: 3_000 },
    ));
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('appends with O_APPEND and replaces contents with O_TRUNC', async () => {
    let h = await client.open('/log', { flags: RW }, me);
    await h.write(0, Buffer.from('one\n'));
    await h.close();
    h = await client.open('/log', { flags: constants.O_WRONLY | constants.O_APPEND }, me);
    await h.write(0, Buffer.from('two\n'));
    expect(h.size).toBe(8);
    await h.close();
    expect(await contents(client, '/log')).toBe('one\ntwo\n');
    h = await client.open('/log', { flags: constants.O_WRONLY | constants.O_TRUNC }, me);
    await h.write(0, Buffer.from('new'));
    await h.close();
    expect(await contents(client, '/log')).toBe('new');
  });

  it('truncates through a handle, shrinking and extending with zeros across chunks', async () => {
    const h = await client.open('/t', { flags: RW }, me);
    await h.write(0, Buffer.alloc(3 * 1024 * 1024, 7));
    await h.truncate(1024 * 1024 + 10);
    expect(h.size).toBe(1024 * 1024 + 10);
    await h.truncate(2 * 1024 * 1024);
    const tail = await h.read(1024 * 1024, 1024 * 1024);
    expect(tail.subarray(0, 10).every((b) => b === 7)).toBe(true);
    expect(tail.subarray(10).every((b) => b === 0)).toBe(true);
    await h.fsync();
    await h.close();
    expect((await client.stat('/t', me)).size).toBe(2 * 1024 * 1024);
  });

  it('reads its own unflushed writes and reports the buffered size', async () => {
    const h = await client.open('/own', { flags: RW }, me);
    await h.write(5, Buffer.from('world'));
    await h.write(0, Buffer.from('hello'));
    expect(h.size).toBe(10);
    expect((await h.read(0, 100)).toString()).toBe('helloworld');
    await h.close();
  });

  it('sees a renamed directory at its new path at once', async () => {
    await client.mkdir('/a', 0o755, me);
    await client.mkdir('/a/b', 0o755, me);
    const h = await client.open('/a/b/f', { flags: RW }, me);
    await h.write(0, Buffer.from('x'));
    await h.close();
    expect((await client.stat('/a/b/f', me)).size).toBe(1);
    await client.rename('/a', '/z', me);
    await expect(client.stat('/a/b/f', me)).rejects.toMatchObject({ errno: 'ENOENT' });
    expect((await client.stat('/z/b/f', me)).size).toBe(1);
    const names = (await client.readdir('/z/b', me)).map((e) => e.name);
    expect(names).toEqual(['f']);
  });

  it('gives clear errnos for bad input', async () => {
    await expect(client.stat('/missing/file', me)).rejects.toMatchObject({ errno: 'ENOENT' });
    await expect(client.open('/z', { flags: constants.O_RDONLY }, me)).rejects.toMatchObject({ errno: 'EISDIR' });
    await expect(client.mkdir('/' + 'n'.repeat(300), 0o755, me)).rejects.toMatchObject({ errno: 'ENAMETOOLONG' });
    await expect(client.stat('relative', me)).rejects.toMatchObject({ errno: 'EINVAL' });
    const h = await client.open('/log', { flags: constants.O_RDONLY }, me);
    await expect(h.write(0, Buffer.from('x'))).rejects.toMatchObject({ errno: 'EBADF' });
    await h.close();
    await expect(h.read(0, 1)).rejects.toMatchObject({ errno: 'EBADF' });
  });

  it('fails in bounded time while the name node is down and works again once it is back', async () => {
    await cluster.namenode.proc.kill('SIGKILL');
    client.invalidate();
    const t = Date.now();
    const err = (await client.stat('/log', me).catch((e: unknown) => e)) as DfsError;
    expect(['EIO', 'ETIMEDOUT']).toContain(err.errno);
    expect(Date.now() - t).toBeLessThan(6_000);
    await cluster.namenode.start();
    expect(await contents(client, '/log')).toBe('new');
  });
});

describe('client library on a full cluster', () => {
  let cluster: TestCluster;
  let client: DfsClient;

  beforeAll(async () => {
    ({ cluster, client } = await startClientCluster(
      {
        dataNodes: 2,
        replication: 2,
        chunkSize: '1MiB',
        dataNode: { capacity: '4MiB' },
      },
      { metadataTimeoutMs: 5_000 },
    ));
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('reports ENOSPC by the close at the latest when the cluster is full, and keeps running', async () => {
    const h = await client.open('/too-big', { flags: RW }, me);
    const err = await (async () => {
      for (let at = 0; at < 16 * 1024 * 1024; at += 1024 * 1024) await h.write(at, Buffer.alloc(1024 * 1024, 1));
      await h.close();
    })().catch((e: unknown) => e as DfsError);
    expect(err).toMatchObject({ errno: 'ENOSPC' });
    // The cluster still answers, and small files still fit.
    expect((await client.statfs()).capacity).toBeGreaterThan(0);
  });
});
