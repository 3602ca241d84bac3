import type { Histogram } from 'prom-client';
import { collectProcessMetrics, labelledStateGauge, promClient, sharedMetric, stateGauge } from '../common/metrics';
import type { NameNode } from './name-node';
import { census, dataNodeStatuses, type DataNodeState } from './status-page';

/**
 * The name node's gauges, read from its in-memory state when Prometheus
 * scrapes (RPC counters come from src/rpc/call.ts, process metrics from
 * prom-client's defaults).
 */
export function registerNameNodeMetrics(nn: NameNode): void {
  collectProcessMetrics();
  const c = () => census(nn);
  stateGauge('dfs_namenode_files', 'Regular files in the namespace', () => c().files);
  stateGauge('dfs_namenode_directories', 'Directories in the namespace', () => c().directories);
  stateGauge('dfs_namenode_symlinks', 'Symbolic links in the namespace', () => c().symlinks);
  stateGauge('dfs_namenode_chunks', 'Chunks the name node knows', () => c().chunks);
  stateGauge(
    'dfs_namenode_under_replicated_chunks',
    'Chunks with data and fewer live replicas than the replication factor (but at least one)',
    () => c().underReplicated,
  );
  stateGauge('dfs_namenode_missing_chunks', 'Chunks with data and no live replica', () => c().missing);
  stateGauge('dfs_namenode_live_datanodes', 'Data nodes heard from within --node-timeout', () => c().liveNodes);
  stateGauge(
    'dfs_namenode_dead_datanodes',
    'Known data nodes silent for longer than --node-timeout',
    () => c().deadNodes,
  );
  stateGauge('dfs_namenode_capacity_bytes', 'Capacity of the live data nodes', () => c().capacity);
  stateGauge('dfs_namenode_used_bytes', 'Bytes used on the live data nodes', () => c().used);
  stateGauge('dfs_namenode_replication', 'Replicas wanted per chunk', () => nn.settings.replication);
  stateGauge('dfs_namenode_safe_mode', '1 while in safe mode after a restart', () => (nn.inSafeMode() ? 1 : 0));
  labelledStateGauge('dfs_namenode_datanodes', 'Known data nodes by state', ['state'], () => {
    const counts = new Map<DataNodeState, number>([
      ['live', 0],
      ['dead', 0],
      ['decommissioning', 0],
      ['decommissioned', 0],
    ]);
    for (const n of dataNodeStatuses(nn)) counts.set(n.state, (counts.get(n.state) ?? 0) + 1);
    return [...counts].map(([state, n]): [{ state: string }, number] => [{ state }, n]);
  });
  journalFsyncSeconds();
}

let fsyncHistogram: Histogram | undefined;

function journalFsyncSeconds(): Histogram {
  fsyncHistogram ??= sharedMetric(
    'dfs_namenode_journal_fsync_seconds',
    (reg) =>
      new (promClient().Histogram)({
        name: 'dfs_namenode_journal_fsync_seconds',
        help: 'Journal group commits: time to make a batch of records durable (the _count is the number of commits)',
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
        registers: [reg],
      }),
  );
  return fsyncHistogram;
}

/** Called by the journal after each group commit (`started` from process.hrtime.bigint()). */
export function observeJournalFsync(started: bigint): void {
  journalFsyncSeconds().observe(Number(process.hrtime.bigint() - started) / 1e9);
}
