import http from 'node:http';
import type { Counter } from 'prom-client';
import { collectProcessMetrics, metricsRegistry, promClient, serveMetrics, stateGauge } from '../common/metrics';
import type { ChunkStore } from './chunk-store';
import type { DataNodeStats } from './stats';

/** Where the background scrubber is (optional: it may be disabled with --scrub-rate 0). */
export interface ScrubProgress {
  /** Completed passes over every chunk. */
  passes: number;
  /** Chunks verified in the current pass, and how many it covers. */
  passChunksDone: number;
  passChunks: number;
  /** Bytes re-read and verified since start. */
  bytesVerified: number;
}

export interface MetricsSources {
  scrub?: () => ScrubProgress;
}

/**
 * A counter that follows a running total kept elsewhere (the data path bumps
 * plain numbers in DataNodeStats; prom-client sees them at scrape time).
 */
function followingCounter(name: string, help: string, total: () => number): Counter {
  const reg = metricsRegistry();
  reg.removeSingleMetric(name);
  let seen = 0;
  return new (promClient().Counter)({
    name,
    help,
    registers: [reg],
    collect() {
      const now = total();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

function registerDataNodeMetrics(store: ChunkStore, stats: DataNodeStats, sources: MetricsSources): void {
  collectProcessMetrics();
  stateGauge('dfs_datanode_used_bytes', 'Bytes of chunk data stored', () => store.used);
  stateGauge('dfs_datanode_capacity_bytes', 'Capacity in bytes', () => store.capacity);
  stateGauge('dfs_datanode_chunks', 'Chunk replicas stored', () => store.list().length);
  stateGauge(
    'dfs_datanode_bad_chunks',
    'Replicas that failed checksum verification (read or scrub) and await repair',
    () => store.badChunks().length,
  );
  stateGauge('dfs_datanode_active_streams', 'Write streams in progress', () => stats.activeStreams);
  followingCounter('dfs_datanode_written_bytes_total', 'Chunk bytes written to local disk', () => stats.bytesWritten);
  followingCounter('dfs_datanode_read_bytes_total', 'Chunk bytes sent to readers', () => stats.bytesRead);
  followingCounter(
    'dfs_datanode_replicated_bytes_total',
    'Chunk bytes pushed to other data nodes (re-replication)',
    () => stats.bytesReplicated,
  );
  const scrub = sources.scrub;
  if (scrub) {
    followingCounter(
      'dfs_datanode_scrub_passes_total',
      'Completed scrubber passes over every chunk',
      () => scrub().passes,
    );
    followingCounter(
      'dfs_datanode_scrub_bytes_total',
      'Bytes re-read and verified by the scrubber',
      () => scrub().bytesVerified,
    );
    stateGauge('dfs_datanode_scrub_pass_progress_ratio', 'Fraction of the current scrub pass done', () => {
      const p = scrub();
      return p.passChunks > 0 ? p.passChunksDone / p.passChunks : 0;
    });
  }
}

/** `--http-port`: Prometheus metrics at /metrics and a JSON status at /status. */
export function startMetricsServer(
  port: number,
  host: string,
  id: string,
  store: ChunkStore,
  stats: DataNodeStats,
  sources: MetricsSources = {},
): Promise<http.Server> {
  registerDataNodeMetrics(store, stats, sources);
  const server = http.createServer((req, res) => {
    const url = req.url?.split('?')[0];
    if (url === '/metrics') {
      serveMetrics(res);
    } else if (url === '/status' || url === '/') {
      const body = {
        id,
        used: store.used,
        capacity: store.capacity,
        chunks: store.list().length,
        badChunks: store.badChunks().length,
        ...stats,
        scrub: sources.scrub?.(),
      };
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
