import type { TestCluster } from './cluster';

/** Requests the name node has served so far, by method (its own /metrics counters). */
export async function nameNodeRequests(cluster: TestCluster): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${cluster.namenode.httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^dfs_rpc_requests_total\{service="NameNode",method="(\w+)"\} (\d+)/gm)) {
    out.set(m[1], Number(m[2]));
  }
  return out;
}
