import type http from 'node:http';
import type * as Prom from 'prom-client';

/**
 * Prometheus metrics: one registry per process. prom-client is loaded on first
 * use only: src/rpc/call.ts imports this module, and the `dfs` CLI (which never
 * serves metrics) should not pay ~50 ms of start-up for it.
 */
let prom: typeof Prom | undefined;
let registry: Prom.Registry | undefined;
let processMetrics = false;

export function promClient(): typeof Prom {
  prom ??= require('prom-client') as typeof Prom;
  return prom;
}

/** This process's registry (every dfs metric registers here). */
export function metricsRegistry(): Prom.Registry {
  registry ??= new (promClient().Registry)();
  return registry;
}

/** Adds Node's default process metrics (CPU, memory, event loop lag, GC) once; servers call it at start-up. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  promClient().collectDefaultMetrics({ register: metricsRegistry() });
}

/** A gauge read from live state at scrape time: no bookkeeping on the hot paths. */
export function stateGauge(name: string, help: string, read: () => number): Prom.Gauge {
  const reg = metricsRegistry();
  // A second server object in the same process (tests) replaces the first one's reader.
  reg.removeSingleMetric(name);
  return new (promClient().Gauge)({
    name,
    help,
    registers: [reg],
    collect() {
      this.set(read());
    },
  });
}

/** Like `stateGauge`, for one value per label set (e.g. data nodes by state). */
export function labelledStateGauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => Iterable<[Partial<Record<L, string>>, number]>,
): Prom.Gauge<L> {
  const reg = metricsRegistry();
  reg.removeSingleMetric(name);
  return new (promClient().Gauge<L>)({
    name,
    help,
    labelNames,
    registers: [reg],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/** Returns the existing metric called `name`, or registers the one `make` builds (idempotent across callers). */
export function sharedMetric<M extends Prom.Metric>(name: string, make: (reg: Prom.Registry) => M): M {
  const reg = metricsRegistry();
  return (reg.getSingleMetric(name) as M | undefined) ?? make(reg);
}

// ---- RPCs ---------------------------------------------------------------

/** Upper bounds (seconds) from an in-memory lookup to a 64 MiB chunk transfer. */
const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface RpcSeries {
  requests: Prom.Counter.Internal;
  duration: Prom.Histogram.Internal<'service' | 'method'>;
}

interface RpcMetrics {
  requests: Prom.Counter<'service' | 'method'>;
  errors: Prom.Counter<'service' | 'method' | 'errno'>;
  duration: Prom.Histogram<'service' | 'method'>;
  /** Per-path children, so a call costs no label hashing. */
  series: Map<string, RpcSeries>;
}

let rpc: RpcMetrics | undefined;

function rpcMetrics(): RpcMetrics {
  if (rpc) return rpc;
  const p = promClient();
  const registers = [metricsRegistry()];
  rpc = {
    requests: new p.Counter({
      name: 'dfs_rpc_requests_total',
      help: 'RPCs served, by service and method',
      labelNames: ['service', 'method'] as const,
      registers,
    }),
    errors: new p.Counter({
      name: 'dfs_rpc_errors_total',
      help: 'RPCs that failed, by service, method and errno',
      labelNames: ['service', 'method', 'errno'] as const,
      registers,
    }),
    duration: new p.Histogram({
      name: 'dfs_rpc_duration_seconds',
      help: 'Time to serve an RPC (streams: until the last message), by service and method',
      labelNames: ['service', 'method'] as const,
      buckets: RPC_BUCKETS,
      registers,
    }),
    series: new Map(),
  };
  return rpc;
}

/** `/dfs.NameNode/Lookup` -> service `NameNode`, method `Lookup`. */
export function splitRpcPath(path: string): { service: string; method: string } {
  const m = /^\/(?:[\w.]*\.)?(\w+)\/(\w+)$/.exec(path);
  return m ? { service: m[1], method: m[2] } : { service: 'unknown', method: path || 'unknown' };
}

/**
 * Counts one RPC as it starts; call the returned function once when it ends,
 * with the errno it failed with (undefined on success).
 */
export function startRpc(path: string): (errno?: string) => void {
  const m = rpcMetrics();
  let s = m.series.get(path);
  if (!s) {
    const { service, method } = splitRpcPath(path);
    s = { requests: m.requests.labels(service, method), duration: m.duration.labels(service, method) };
    m.series.set(path, s);
  }
  s.requests.inc();
  const series = s;
  const started = process.hrtime.bigint();
  let ended = false;
  return (errno) => {
    if (ended) return;
    ended = true;
    series.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    if (errno !== undefined) {
      const { service, method } = splitRpcPath(path);
      m.errors.labels(service, method, errno).inc();
    }
  };
}

// ---- HTTP -----------------------------------------------------------------

/** Answers a `GET /metrics` scrape from this process's registry. */
export function serveMetrics(res: http.ServerResponse): void {
  const reg = metricsRegistry();
  reg.metrics().then(
    (body) => {
      res.writeHead(200, { 'content-type': reg.contentType, 'cache-control': 'no-store' });
      res.end(body);
    },
    (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`metrics collection failed: ${String(err)}\n`);
    },
  );
}
