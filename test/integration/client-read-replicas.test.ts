import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type DfsClient } from '../../src/client';
import { freePort, TestCluster, waitFor } from '../helpers/cluster';
import { requestsServed } from '../helpers/rpc-requests';
import { me, sha, writeFile } from './healing-helpers';

const MiB = 1024 * 1024;

/**
 * Which replica a read goes to, counted on the data nodes' own /metrics: a
 * sequential read keeps to one replica per chunk (alternating made both data
 * nodes read the whole chunk from disk, each kernel reading ahead into the
 * other's units), while small random reads spread over the replicas.
 */
describe('client reads: choice of replica', () => {
  let cluster: TestCluster;
  let client: DfsClient;
  const httpPorts = new Map<string, number>();
  const data = randomBytes(16 * MiB);

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 0, replication: 2, chunkSize: '16MiB' }).start();
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dn = await cluster.addDataNode({ extraArgs: ['--http-port', String(port)] });
      httpPorts.set(dn.id, port);
    }
    client = createClient({ namenode: cluster.address });
    await waitFor(
      '3 live data nodes',
      async () => (await client.clusterStatus()).nodes.filter((n) => n.live).length === 3,
    );
    await writeFile(client, '/one-chunk.bin', data);
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  /** Calls of `method` each data node served, by node id. */
  async function served(method: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const [id, port] of httpPorts) out.set(id, (await requestsServed(port, 'DataNode')).get(method) ?? 0);
    return out;
  }

  function delta(before: Map<string, number>, after: Map<string, number>): number[] {
    return [...after].map(([id, n]) => n - (before.get(id) ?? 0)).filter((n) => n > 0);
  }

  it('reads a chunk sequentially from one replica', async () => {
    const before = await served('ReadChunk');
    const reader = createClient({ namenode: cluster.address });
    try {
      const h = await reader.open('/one-chunk.bin', { flags: constants.O_RDONLY }, me);
      const parts: Buffer[] = [];
      for (let at = 0; at < data.length; at += 128 * 1024) parts.push(await h.read(at, 128 * 1024));
      await h.close();
      expect(sha(Buffer.concat(parts))).toBe(sha(data));
    } finally {
      await reader.close();
    }
    // Four 4 MiB units, every one from the same node.
    const calls = delta(before, await served('ReadChunk'));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeGreaterThanOrEqual(4);
  });

  it('spreads small random reads over the replicas', async () => {
    const before = await served('ReadSmall');
    const reader = createClient({ namenode: cluster.address });
    try {
      const h = await reader.open('/one-chunk.bin', { flags: constants.O_RDONLY }, me);
      // Far apart, so no read looks sequential: each is one 64 KiB block.
      for (const block of [41, 7, 200, 90, 150, 11, 60, 120]) {
        const at = block * 64 * 1024 + 100;
        expect((await h.read(at, 4096)).equals(data.subarray(at, at + 4096))).toBe(true);
      }
      await h.close();
    } finally {
      await reader.close();
    }
    const calls = delta(before, await served('ReadSmall'));
    expect(calls).toHaveLength(2);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(8);
  });
});
