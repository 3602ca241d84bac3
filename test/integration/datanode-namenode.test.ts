import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, waitFor } from '../helpers/cluster';
import { CHANNEL_OPTIONS } from '../../src/rpc/call';
import type { ClusterStatusReply__Output } from '../../src/rpc/gen/dfs/ClusterStatusReply';
import type { NameNodeClient } from '../../src/rpc/gen/dfs/NameNode';
import { nameNodeService } from '../../src/rpc/load';
import { unaryCall } from './datanode-helpers';

describe('data nodes with the real name node', () => {
  let cluster: TestCluster;
  let nn: NameNodeClient;
  const status = () => unaryCall<ClusterStatusReply__Output>((cb) => nn.clusterStatus({}, cb));
  const live = async () =>
    (await status()).nodes
      .filter((n) => n.live)
      .map((n) => n.id)
      .sort();

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, nodeTimeout: '3s' }).start();
    const NameNode = nameNodeService().NameNode;
    nn = new NameNode(cluster.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  });

  afterAll(async () => {
    nn?.close();
    await cluster?.stop();
  });

  it('registers every data node with its address and capacity', async () => {
    await waitFor('3 live data nodes', async () => (await live()).length === 3);
    const nodes = (await status()).nodes;
    for (const dn of cluster.datanodes) {
      const n = nodes.find((x) => x.id === dn.id);
      expect(n?.address).toBe(dn.address);
      expect(Number(n?.capacity)).toBeGreaterThan(0);
    }
  });

  it('re-registers with a name node that restarted', async () => {
    await cluster.namenode.proc.kill('SIGKILL');
    await cluster.namenode.start();
    await waitFor('data nodes back after name node restart', async () => (await live()).length === 3, 20_000);
  });

  it('comes back live after kill -9 and restart of a data node', async () => {
    const dn = cluster.datanodes[1];
    await dn.proc.kill('SIGKILL');
    await dn.start();
    await waitFor('restarted node live', async () => (await live()).includes(dn.id));
    expect(await live()).toEqual(['dn1', 'dn2', 'dn3']);
  });
});
