import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type DfsClient } from '../../src/client';
import { type DataNodeProc, freePort, TestCluster, waitFor } from '../helpers/cluster';

/**
 * Prometheus metrics from real processes: a name node and 3 data nodes (each
 * with --http-port), some client traffic, then scrapes of /metrics.
 */

const MiB = 1024 * 1024;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (enough of it for dfs's metrics). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of every sample called `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return parse(await res.text());
}

describe('Prometheus metrics', () => {
  let cluster: TestCluster;
  let client: DfsClient;
  const httpPorts = new Map<DataNodeProc, number>();
  const data = randomBytes(3 * MiB + 12345);

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 0, replication: 2, chunkSize: '1MiB', nodeTimeout: '2s' }).start();
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      httpPorts.set(await cluster.addDataNode({ extraArgs: ['--http-port', String(port)] }), port);
    }
    client = createClient({ namenode: cluster.address, metadataTimeoutMs: 15_000 });
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('counts live data nodes, capacity and process metrics on the name node', async () => {
    const samples = await waitFor('3 live data nodes in /metrics', async () => {
      const s = await scrape(cluster.namenode.httpPort);
      return total(s, 'dfs_namenode_live_datanodes') === 3 ? s : undefined;
    });
    expect(total(samples, 'dfs_namenode_dead_datanodes')).toBe(0);
    expect(total(samples, 'dfs_namenode_datanodes', { state: 'live' })).toBe(3);
    expect(total(samples, 'dfs_namenode_capacity_bytes')).toBeGreaterThan(0);
    expect(
      total(samples, 'dfs_rpc_requests_total', { service: 'NameNode', method: 'Register' }),
    ).toBeGreaterThanOrEqual(3);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total')).toBe(true);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('counts requests by method, errors by errno, namespace and journal activity', async () => {
    await client.mkdir('/m', 0o755, me);
    const h = await client.open('/m/f', { flags: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC }, me);
    await h.write(0, data);
    await h.close();
    const r = await client.open('/m/f', { flags: constants.O_RDONLY }, me);
    expect((await r.read(0, data.length)).equals(data)).toBe(true);
    await r.close();
    await expect(client.stat('/m/no-such-file', me)).rejects.toMatchObject({ errno: 'ENOENT' });

    const s = await scrape(cluster.namenode.httpPort);
    const served = (method: string) => total(s, 'dfs_rpc_requests_total', { service: 'NameNode', method });
    expect(served('MakeNode')).toBeGreaterThanOrEqual(1); // mkdir
    expect(served('CreateFile')).toBe(1); // the create, which also prepared chunk 0
    expect(served('PrepareWrite')).toBeGreaterThanOrEqual(3); // chunks 1-3
    expect(served('CommitWrite')).toBeGreaterThanOrEqual(1);
    expect(served('LookupFile')).toBeGreaterThanOrEqual(1); // the read's open, with its chunk locations
    expect(total(s, 'dfs_rpc_errors_total', { service: 'NameNode', errno: 'ENOENT' })).toBeGreaterThanOrEqual(1);
    expect(total(s, 'dfs_rpc_errors_total', { service: 'NameNode', method: 'MakeNode' })).toBe(0);
    expect(total(s, 'dfs_rpc_duration_seconds_count', { service: 'NameNode', method: 'PrepareWrite' })).toBe(
      served('PrepareWrite'),
    );
    // Namespace gauges come from a census the name node caches for 500 ms between scrapes.
    const census = await waitFor('the namespace census to include /m/f', async () => {
      const now = await scrape(cluster.namenode.httpPort);
      return total(now, 'dfs_namenode_files') === 1 ? now : undefined;
    });
    expect(total(census, 'dfs_namenode_directories')).toBe(2); // / and /m
    expect(total(census, 'dfs_namenode_chunks')).toBe(4);
    expect(total(census, 'dfs_namenode_missing_chunks')).toBe(0);
    expect(total(s, 'dfs_namenode_journal_fsync_seconds_count')).toBeGreaterThan(0);
  });

  it('counts bytes, chunks and streaming calls on the data nodes', async () => {
    const all = await Promise.all([...httpPorts.values()].map((p) => scrape(p)));
    const sum = (name: string, labels: Record<string, string> = {}) =>
      all.reduce((n, s) => n + total(s, name, labels), 0);
    // Replication 2: every byte is written on two nodes.
    expect(sum('dfs_datanode_written_bytes_total')).toBe(2 * data.length);
    expect(sum('dfs_datanode_read_bytes_total')).toBeGreaterThanOrEqual(data.length);
    expect(sum('dfs_datanode_chunks')).toBe(8);
    expect(sum('dfs_datanode_used_bytes')).toBeGreaterThanOrEqual(2 * data.length);
    expect(sum('dfs_datanode_bad_chunks')).toBe(0);
    for (const s of all) expect(total(s, 'dfs_datanode_capacity_bytes')).toBeGreaterThan(0);
    // Each chunk: one call from the client plus one forwarded down the pipeline; the three whole
    // 1 MiB chunks as WriteChunk streams, the 12,345-byte last one as WriteSmall session messages.
    expect(sum('dfs_rpc_requests_total', { service: 'DataNode', method: 'WriteChunk' })).toBe(6);
    expect(sum('dfs_rpc_errors_total', { service: 'DataNode', method: 'WriteChunk' })).toBe(0);
    expect(sum('dfs_rpc_requests_total', { service: 'DataNode', method: 'WriteSmall' })).toBe(2);
    expect(sum('dfs_rpc_errors_total', { service: 'DataNode', method: 'WriteSmall' })).toBe(0);
    // Three whole 1 MiB chunks come as streams; the 12,345-byte last one as a message on a read session.
    expect(sum('dfs_rpc_requests_total', { service: 'DataNode', method: 'ReadChunk' })).toBeGreaterThanOrEqual(3);
    expect(sum('dfs_rpc_requests_total', { service: 'DataNode', method: 'ReadSmall' })).toBeGreaterThanOrEqual(1);
    expect(sum('dfs_rpc_errors_total', { service: 'DataNode', method: 'ReadSmall' })).toBe(0);
    expect(sum('dfs_rpc_duration_seconds_count', { service: 'DataNode', method: 'WriteChunk' })).toBe(6);
  });

  it('counts a killed data node as dead', async () => {
    await cluster.datanodes[2].proc.kill('SIGKILL');
    const s = await waitFor('a dead data node in /metrics', async () => {
      const samples = await scrape(cluster.namenode.httpPort);
      return total(samples, 'dfs_namenode_dead_datanodes') === 1 ? samples : undefined;
    });
    expect(total(s, 'dfs_namenode_live_datanodes')).toBe(2);
    expect(total(s, 'dfs_namenode_datanodes', { state: 'dead' })).toBe(1);
  });
});
