import { createClient } from '../../src/client';
import type { DfsClient, DfsClientOptions } from '../../src/client/types';
import { type ClusterOptions, TestCluster, waitFor } from './cluster';

/** A started TestCluster, a client library instance on it, and every data node live. */
export async function startClientCluster(
  opts: ClusterOptions,
  clientOpts: Partial<DfsClientOptions> = {},
): Promise<{ cluster: TestCluster; client: DfsClient }> {
  const cluster = await new TestCluster(opts).start();
  const client = createClient({ namenode: cluster.address, ...clientOpts });
  const want = cluster.datanodes.length;
  await waitFor(
    `${want} live data nodes`,
    async () => (await client.clusterStatus()).nodes.filter((n) => n.live).length === want,
  );
  return { cluster, client };
}
