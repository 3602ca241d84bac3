import { describe, expect, it } from 'vitest';
import { metricsRegistry, splitRpcPath, startRpc, stateGauge } from '../../src/common/metrics';
import { EventLog } from '../../src/namenode/events';

async function sample(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = metricsRegistry().getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value;
}

describe('rpc metrics', () => {
  it('names service and method from the gRPC path', () => {
    expect(splitRpcPath('/dfs.NameNode/Lookup')).toEqual({ service: 'NameNode', method: 'Lookup' });
    expect(splitRpcPath('/Plain/Call')).toEqual({ service: 'Plain', method: 'Call' });
    expect(splitRpcPath('garbage')).toEqual({ service: 'unknown', method: 'garbage' });
  });

  it('counts requests, errors by errno and durations, once per call', async () => {
    const path = '/dfs.Probe/Count';
    startRpc(path)();
    const failing = startRpc(path);
    failing('ENOENT');
    failing('EIO'); // a second end is ignored
    expect(await sample('dfs_rpc_requests_total', { service: 'Probe', method: 'Count' })).toBe(2);
    expect(await sample('dfs_rpc_errors_total', { method: 'Count', errno: 'ENOENT' })).toBe(1);
    expect(await sample('dfs_rpc_errors_total', { method: 'Count', errno: 'EIO' })).toBeUndefined();
    const text = await metricsRegistry().getSingleMetricAsString('dfs_rpc_duration_seconds');
    expect(text).toMatch(/dfs_rpc_duration_seconds_count\{service="Probe",method="Count"\} 2/);
  });
});

describe('state gauges', () => {
  it('read live state at scrape time, and a re-registration replaces the reader', async () => {
    let value = 3;
    stateGauge('dfs_test_value', 'test', () => value);
    expect(await sample('dfs_test_value')).toBe(3);
    value = 5;
    expect(await sample('dfs_test_value')).toBe(5);
    stateGauge('dfs_test_value', 'test', () => 42);
    expect(await sample('dfs_test_value')).toBe(42);
    expect(await metricsRegistry().metrics()).toContain('dfs_test_value 42');
  });
});

describe('event log', () => {
  it('keeps the newest events, newest first, within its capacity', () => {
    let now = 1000;
    const log = new EventLog(3, () => now++);
    expect(log.recent()).toEqual([]);
    for (const n of ['a', 'b', 'c', 'd', 'e']) log.record('node-registered', `${n} registered`, { node: n });
    expect(log.recent().map((e) => e.node)).toEqual(['e', 'd', 'c']);
    expect(log.recent(2).map((e) => e.seq)).toEqual([5, 4]);
    expect(log.recent(1)[0]).toEqual({
      seq: 5,
      timeMs: 1004,
      kind: 'node-registered',
      message: 'e registered',
      node: 'e',
    });
    expect(log.total).toBe(5);
  });
});
