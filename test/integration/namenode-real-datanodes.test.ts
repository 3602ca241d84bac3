import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS, unary } from '../../src/rpc/call';
import type { ClusterStatusReply__Output } from '../../src/rpc/gen/dfs/ClusterStatusReply';
import type { NameNodeClient } from '../../src/rpc/gen/dfs/NameNode';
import { nameNodeService } from '../../src/rpc/load';
import { TestCluster, waitFor } from '../helpers/cluster';

let cluster: TestCluster;
let client: NameNodeClient;

const status = () =>
  unary<object, ClusterStatusReply__Output>(client, client.ClusterStatus as never, {}, { deadlineMs: 5_000 });
const liveIds = async () =>
  (await status()).nodes
    .filter((n) => n.live)
    .map((n) => n.id)
    .sort();

beforeAll(async () => {
  cluster = await new TestCluster({ dataNodes: 2, nodeTimeout: '3s' }).start();
  client = new (nameNodeService().NameNode)(cluster.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

describe('name node with real data nodes', () => {
  it('sees the data nodes register, and again after the name node is killed and restarted', async () => {
    await waitFor('both data nodes live', async () => (await liveIds()).join() === 'dn1,dn2', 15_000);
    const s = await status();
    expect(Number(s.capacity)).toBeGreaterThan(0);
    await cluster.namenode.proc.kill('SIGKILL');
    await cluster.namenode.start();
    await waitFor('both data nodes live after restart', async () => (await liveIds()).join() === 'dn1,dn2', 15_000);
  });
});
