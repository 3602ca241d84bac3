import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type DfsClient } from '../../src/client';
import { TestCluster, waitFor } from '../helpers/cluster';

/**
 * The spine end to end with real processes: a name node and 3 data nodes
 * (replication 2, 16 MiB chunks so files span many pipelines), driven
 * through the client library.
 */

const MiB = 1024 * 1024;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const WRITE = constants.O_WRONLY | constants.O_CREAT;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function writeFile(
  client: DfsClient,
  path: string,
  data: Buffer,
  step = MiB,
  during?: (at: number) => Promise<void>,
) {
  const h = await client.open(path, { flags: WRITE | constants.O_TRUNC }, me);
  for (let at = 0; at < data.length; at += step) {
    await h.write(at, data.subarray(at, Math.min(at + step, data.length)));
    if (during) await during(at + step);
  }
  await h.close();
}

async function readFile(client: DfsClient, path: string, step = MiB): Promise<Buffer> {
  const h = await client.open(path, { flags: constants.O_RDONLY }, me);
  const parts: Buffer[] = [];
  for (let at = 0; at < h.size; at += step) parts.push(await h.read(at, step));
  await h.close();
  return Buffer.concat(parts);
}

async function replicaSets(client: DfsClient, path: string) {
  const info = await client.fileInfo(path, me);
  return info.chunks.map((c) => c.replicas.map((r) => r.id));
}

describe('the cluster spine through the client library', () => {
  let cluster: TestCluster;
  let client: DfsClient;
  const big = randomBytes(200 * MiB);

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2, chunkSize: '16MiB', nodeTimeout: '3s' }).start();
    client = createClient({ namenode: cluster.address, metadataTimeoutMs: 15_000 });
    await waitFor(
      '3 live data nodes',
      async () => (await client.clusterStatus()).nodes.filter((n) => n.live).length === 3,
    );
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('stores 200 MiB byte-identical with every chunk on 2 distinct data nodes', async () => {
    await writeFile(client, '/big', big);
    const back = await readFile(client, '/big');
    expect(back.length).toBe(big.length);
    expect(sha(back)).toBe(sha(big));
    const sets = await replicaSets(client, '/big');
    expect(sets.length).toBe(Math.ceil(200 / 16));
    for (const ids of sets) {
      expect(ids.length).toBe(2);
      expect(new Set(ids).size).toBe(2);
    }
  });

  it('overwrites a range in the middle of a file and reads back the new bytes', async () => {
    const patch = randomBytes(3 * MiB + 12345);
    const at = 15 * MiB + 777; // crosses the chunk boundary at 16 MiB
    const h = await client.open('/big', { flags: constants.O_RDWR }, me);
    await h.write(at, patch);
    // The handle sees its own write before close.
    expect(sha(await h.read(at, patch.length))).toBe(sha(patch));
    await h.close();
    patch.copy(big, at);
    const back = await readFile(client, '/big');
    expect(back.length).toBe(big.length);
    expect(sha(back)).toBe(sha(big));
  });

  it('reads zeros in the hole of a sparse file', async () => {
    const h = await client.open('/sparse', { flags: WRITE }, me);
    await h.write(0, Buffer.from('head'));
    await h.write(40 * MiB, Buffer.from('tail'));
    expect(h.size).toBe(40 * MiB + 4);
    await h.close();
    const attr = await client.stat('/sparse', me);
    expect(attr.size).toBe(40 * MiB + 4);
    const r = await client.open('/sparse', { flags: constants.O_RDONLY }, me);
    expect((await r.read(0, 4)).toString()).toBe('head');
    const hole = await r.read(4, 20 * MiB);
    expect(hole.length).toBe(20 * MiB);
    expect(hole.every((b) => b === 0)).toBe(true);
    expect((await r.read(40 * MiB - 2, 100)).toString('latin1')).toBe('\0\0tail');
    await r.close();
  });

  it('keeps every file and byte after the name node is killed with SIGKILL and restarted', async () => {
    await client.mkdir('/dir', 0o755, me);
    await writeFile(client, '/dir/small', Buffer.from('acknowledged before the crash'));
    await cluster.namenode.proc.kill('SIGKILL');
    await cluster.namenode.start();
    client.invalidate();
    expect((await client.readdir('/', me)).map((e) => e.name)).toEqual(['big', 'dir', 'sparse']);
    expect((await readFile(client, '/dir/small')).toString()).toBe('acknowledged before the crash');
    const back = await waitFor('the big file readable again', async () => readFile(client, '/big'), 30_000, 500);
    expect(sha(back)).toBe(sha(big));
  });

  it('completes a large write when a data node dies in the middle of it, and heals the replicas', async () => {
    const data = randomBytes(160 * MiB);
    const victim = cluster.datanodes[1];
    let killed = false;
    await writeFile(client, '/survivor', data, MiB, async (at) => {
      if (!killed && at >= 40 * MiB) {
        killed = true;
        await victim.proc.kill('SIGKILL');
      }
    });
    expect(killed).toBe(true);
    expect(sha(await readFile(client, '/survivor'))).toBe(sha(data));
    const healed = await waitFor(
      'every chunk on 2 live data nodes',
      async () => {
        const sets = await replicaSets(client, '/survivor');
        return sets.every((ids) => ids.length === 2 && new Set(ids).size === 2 && !ids.includes(victim.id))
          ? sets
          : null;
      },
      60_000,
      500,
    );
    expect(healed.length).toBe(10);
    expect(sha(await readFile(client, '/survivor'))).toBe(sha(data));
  });
});
