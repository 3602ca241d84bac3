import path from 'node:path';
import { parseDuration, parseSize } from '../common/units';
import { DfsError } from '../rpc/errors';

export interface NameNodeConfig {
  host: string;
  port: number;
  httpPort: number;
  dataDir: string;
  replication: number;
  chunkSize: number;
  nodeTimeoutMs: number;
  /** Journal records between checkpoints (DFS_CHECKPOINT_EVERY). */
  checkpointEvery: number;
  heartbeatIntervalMs: number;
  /** Chunk copies (re-replication, balancing) a data node takes part in at once. */
  copyStreamsPerNode: number;
  /** Chunk copies in the whole cluster at once. */
  copyStreams: number;
  /** Cap on the cluster's copy bandwidth, bytes/s (DFS_COPY_BANDWIDTH); 0 = unlimited. */
  copyBandwidth: number;
  /** Allowed spread of disk use across data nodes, as a fraction (DFS_BALANCE_BAND); 0 = no automatic balancing. */
  balanceBand: number;
}

/** Every flag's default, as text the way a user would type it (DESIGN.md). */
export const DEFAULTS = {
  host: '127.0.0.1',
  port: '9000',
  httpPort: '9870',
  dataDir: './.dfs/namenode',
  replication: '2',
  chunkSize: '64MiB',
  nodeTimeout: '30s',
  checkpointEvery: '100000',
  heartbeatInterval: '1s',
  copyStreamsPerNode: '2',
  copyStreams: '8',
  copyBandwidth: '0',
  balanceBand: '10%',
} as const;

export type RawOptions = Partial<Record<keyof typeof DEFAULTS, string>>;

const BLOCK = 64 * 1024;

function int(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new DfsError('EINVAL', `--${flag} must be an integer from ${min} to ${max}, not '${text}'`);
  }
  return n;
}

function flagged<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new DfsError('EINVAL', `--${flag}: ${err instanceof DfsError ? err.detail : String(err)}`);
  }
}

/** `10%`, `10` (percent points) or `off`/`0` -> a fraction. */
export function parseBand(text: string): number {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === 'none') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(t);
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct >= 0 && pct <= 100)) {
    throw new DfsError('EINVAL', `--balance-band must be a percentage from 0 to 100 (or 'off'), not '${text}'`);
  }
  return pct / 100;
}

/** Parses and checks the flags once at start-up. */
export function parseConfig(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): NameNodeConfig {
  const fromEnv: RawOptions = { copyBandwidth: env.DFS_COPY_BANDWIDTH, balanceBand: env.DFS_BALANCE_BAND };
  const given = (r: RawOptions) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== ''));
  const o = { ...DEFAULTS, ...given(fromEnv), ...given(raw) };
  const chunkSize = flagged('chunk-size', () => parseSize(o.chunkSize));
  if (chunkSize < BLOCK || chunkSize % BLOCK !== 0 || chunkSize > 4 * 1024 ** 3) {
    throw new DfsError('EINVAL', `--chunk-size must be a multiple of 64KiB up to 4GiB, not '${o.chunkSize}'`);
  }
  const nodeTimeoutMs = flagged('node-timeout', () => parseDuration(o.nodeTimeout));
  if (nodeTimeoutMs < 100) throw new DfsError('EINVAL', `--node-timeout must be at least 100ms`);
  if (o.host.trim() === '') throw new DfsError('EINVAL', '--host must not be empty');
  return {
    host: o.host,
    port: int(o.port, 'port', 0, 65535),
    httpPort: int(o.httpPort, 'http-port', 0, 65535),
    dataDir: path.resolve(o.dataDir),
    replication: int(o.replication, 'replication', 1, 16),
    chunkSize,
    nodeTimeoutMs,
    checkpointEvery: int(env.DFS_CHECKPOINT_EVERY ?? o.checkpointEvery, 'checkpoint-every', 1, 1e9),
    heartbeatIntervalMs: flagged('heartbeat-interval', () => parseDuration(o.heartbeatInterval)),
    copyStreamsPerNode: int(o.copyStreamsPerNode, 'copy-streams-per-node', 1, 64),
    copyStreams: int(o.copyStreams, 'copy-streams', 1, 1024),
    copyBandwidth: flagged('copy-bandwidth', () => parseSize(o.copyBandwidth)),
    balanceBand: parseBand(o.balanceBand),
  };
}
