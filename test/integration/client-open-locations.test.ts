import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client';
import type { DfsClient } from '../../src/client/types';
import { startClientCluster } from '../helpers/client-cluster';
import type { TestCluster } from '../helpers/cluster';
import { sha } from './healing-helpers';

/**
 * Opening a file for reading looks its name up with LookupFile, which also
 * brings the first chunk locations: reading a small file then costs one name
 * node call, not a Lookup at open and a GetChunks at the first read. Counted
 * on the name node's own request metrics.
 */

const root = { uid: 0, gid: 0 };
const user = { uid: 1000, gid: 1000 };

async function requests(cluster: TestCluster): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${cluster.namenode.httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^dfs_rpc_requests_total\{service="NameNode",method="(\w+)"\} (\d+)/gm)) {
    out.set(m[1], Number(m[2]));
  }
  return out;
}

async function counted<T>(
  cluster: TestCluster,
  fn: () => Promise<T>,
): Promise<{ value: T; calls: Map<string, number> }> {
  const before = await requests(cluster);
  const value = await fn();
  const after = await requests(cluster);
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
