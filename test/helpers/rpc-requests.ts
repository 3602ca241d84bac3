import type { TestCluster } from './cluster';

/** Requests a dfs server has served so far, by method (its own /metrics counters on `httpPort`). */
export async function requestsServed(httpPort: number, service: 'NameNode' | 'DataNode'): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  const line = new RegExp(`^dfs_rpc_requests_total\\{service="${service}",method="(\\w+)"\\} (\\d+)`, 'gm');
  for (const m of text.matchAll(line)) out.set(m[1], Number(m[2]));
  return out;
}

/** Requests the name node has served so far, by method. */
export function nameNodeRequests(cluster: TestCluster): Promise<Map<string, number>> {
  return requestsServed(cluster.namenode.httpPort, 'NameNode');
}
