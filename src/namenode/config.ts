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

/** Parses and checks the flags once at start-up. */
export function parseConfig(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): NameNodeConfig {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) };
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
  };
}
