import http from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChunkStore } from './chunk-store';
import type { DataNodeStats } from './stats';

/** `--http-port`: Prometheus metrics at /metrics and a JSON status at /status. */
export function startMetricsServer(
  port: number,
  host: string,
  id: string,
  store: ChunkStore,
  stats: DataNodeStats,
): Promise<http.Server> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  gauge('dfs_datanode_used_bytes', 'Bytes of chunk data stored', () => store.used);
  gauge('dfs_datanode_capacity_bytes', 'Capacity in bytes', () => store.capacity);
  gauge('dfs_datanode_chunks', 'Chunks held', () => store.list().length);
  gauge('dfs_datanode_bad_chunks', 'Chunks found corrupt', () => store.badChunks().length);
  gauge('dfs_datanode_active_streams', 'Write streams in progress', () => stats.activeStreams);
  gauge('dfs_datanode_written_bytes', 'Bytes written since start', () => stats.bytesWritten);
  gauge('dfs_datanode_read_bytes', 'Bytes read since start', () => stats.bytesRead);
  gauge('dfs_datanode_replicated_bytes', 'Bytes pushed to other nodes since start', () => stats.bytesReplicated);

  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (req.url === '/status' || req.url === '/') {
      const body = { id, used: store.used, capacity: store.capacity, chunks: store.list().length, ...stats };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else {
      res.writeHead(404).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
