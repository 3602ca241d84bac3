import { Command, InvalidArgumentError } from 'commander';
import { parseAddress, parseDuration, parseSize } from '../common/units';
import { DfsError } from '../rpc/errors';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_STREAMS_PER_CLIENT } from './limits';
import type { DataNodeSecurityFlags } from './security';

/** Everything the data node is configured with, parsed and checked once at start-up. */
export interface DataNodeConfig {
  namenode: string;
  host: string;
  port: number;
  httpPort?: number;
  dataDir: string;
  /** Bytes; undefined = the free space of the data dir's filesystem. */
  capacity?: number;
  /** undefined = the id stored in DATA_DIR/node-id (created on first start). */
  id?: string;
  labels: string[];
  syncOnClose: boolean;
  /** Background verification rate in bytes/s; 0 disables. */
  scrubRate: number;
  /** `--secret-file`, `--tls-*` (read by loadDataNodeSecurity; the secret never sits in the config). */
  security: DataNodeSecurityFlags;
  /** Concurrent WriteChunk/ReadChunk streams per client host. */
  streamsPerClient: number;
  /** A write stream silent this long is cancelled. */
  idleTimeoutMs: number;
}

/** Defaults in one place (DESIGN.md lists the flags). */
export const DEFAULTS = {
  namenode: '127.0.0.1:9000',
  host: '127.0.0.1',
  port: 9101,
  scrubRate: '4MiB',
} as const;

function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number 1-65535');
  return n;
}

function size(text: string): number {
  try {
    return parseSize(text);
  } catch (err) {
    throw new InvalidArgumentError((err as DfsError).detail);
  }
}

function nodeId(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(text)) {
    throw new InvalidArgumentError('expected 1-64 letters, digits, ".", "_" or "-"');
  }
  return text;
}

function duration(text: string): number {
  try {
    const ms = parseDuration(text);
    if (ms < 100) throw new DfsError('EINVAL', 'at least 100ms');
    return ms;
  } catch (err) {
    throw new InvalidArgumentError((err as DfsError).detail);
  }
}

function count(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('expected a number 1-100000');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Parses argv (and DFS_NAMENODE) into a config; bad values exit with a one-line error via commander. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): DataNodeConfig {
  const program = new Command('dfs-datanode')
    .description('dfs data node: stores chunks, serves reads, replicates through write pipelines')
    .option('--namenode <host:port>', `name node address (env DFS_NAMENODE, default ${DEFAULTS.namenode})`)
    .option('--host <host>', 'address to listen on', DEFAULTS.host)
    .option('--port <port>', 'gRPC port', port, DEFAULTS.port)
    .option('--http-port <port>', 'HTTP port for /metrics and /status (off by default)', port)
    .option('--data-dir <dir>', 'where chunks are stored (default ./.dfs/datanode-PORT)')
    .option('--capacity <size>', 'bytes this node may store, e.g. 10GiB (default: free disk space)', size)
    .option('--id <name>', 'node id (default: stored in DATA_DIR/node-id on first start)', nodeId)
    .option('--label <label>', 'a placement label (repeatable)', collect, [] as string[])
    .option('--sync-on-close', 'fsync every write before acknowledging it', false)
    .option(
      '--scrub-rate <size>',
      'background verification rate per second, each chunk counting as at least 64 KiB (0 = off)',
      size,
      parseSize(DEFAULTS.scrubRate),
    )
    .option('--secret-file <file>', 'cluster secret, mode 0600 (env DFS_SECRET_FILE)')
    .option('--tls-cert <file>', 'TLS certificate, PEM (env DFS_TLS_CERT); also the client certificate for mutual TLS')
    .option('--tls-key <file>', 'TLS private key, PEM (env DFS_TLS_KEY)')
    .option('--tls-ca <file>', 'CA that signs the cluster certificates (env DFS_TLS_CA)')
    .option(
      '--max-client-streams <n>',
      'concurrent read/write streams per client host',
      count,
      DEFAULT_STREAMS_PER_CLIENT,
    )
    .option('--idle-timeout <duration>', 'cancel a write stream silent this long', duration, DEFAULT_IDLE_TIMEOUT_MS)
    .showHelpAfterError(false)
    .allowExcessArguments(false);
  program.parse(argv);
  const o = program.opts<{
    namenode?: string;
    host: string;
    port: number;
    httpPort?: number;
    dataDir?: string;
    capacity?: number;
    id?: string;
    label: string[];
    syncOnClose: boolean;
    scrubRate: number;
    secretFile?: string;
    tlsCert?: string;
    tlsKey?: string;
    tlsCa?: string;
    maxClientStreams: number;
    idleTimeout: number;
  }>();
  const namenode = o.namenode ?? env.DFS_NAMENODE ?? DEFAULTS.namenode;
  const nn = parseAddress(namenode, 'name node address');
  if (o.capacity !== undefined && o.capacity <= 0) throw new DfsError('EINVAL', `bad --capacity: must be > 0`);
  return {
    namenode: `${nn.host.includes(':') ? `[${nn.host}]` : nn.host}:${nn.port}`,
    host: o.host,
    port: o.port,
    httpPort: o.httpPort,
    dataDir: o.dataDir ?? `./.dfs/datanode-${o.port}`,
    capacity: o.capacity,
    id: o.id,
    labels: o.label,
    syncOnClose: o.syncOnClose,
    scrubRate: o.scrubRate,
    security: { secretFile: o.secretFile, tlsCert: o.tlsCert, tlsKey: o.tlsKey, tlsCa: o.tlsCa },
    streamsPerClient: o.maxClientStreams,
    idleTimeoutMs: o.idleTimeout,
  };
}
