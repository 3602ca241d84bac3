import net from 'node:net';
import path from 'node:path';
import type { Caller, DfsClient } from '../client/types';
import { parseAddress } from '../common/units';
import type { Logger } from '../common/logger';
import { DfsError } from '../rpc/errors';
import { CwdStore } from './cwd-store';
import { CliError } from './errors';
import type { ClientSecurityFlags } from '../client/credentials';

/** Global options, parsed once by main.ts and handed to every command. */
export interface GlobalOptions {
  namenode: string;
  json: boolean;
  yes: boolean;
  /** `--token-file`, `--tls-*`: files, read when the client connects. */
  security: ClientSecurityFlags;
}

const VERBOSE_LEVELS = new Set(['info', 'debug', 'trace']);

/** How long to wait for the name node's port before calling it unreachable. */
const PROBE_TIMEOUT_MS = 3_000;

/**
 * What a command may use: the client (connected lazily, so `--help` and
 * purely local commands never need a cluster), the caller identity, cluster
 * path resolution against the stored current directory, and the flags.
 */
export class CliContext {
  readonly caller: Caller;
  readonly cwdStore: CwdStore;
  private clientPromise?: Promise<DfsClient>;
  private connected?: DfsClient;

  constructor(
    readonly opts: GlobalOptions,
    readonly log: Logger,
  ) {
    // The CLI acts as the user who runs it, exactly like a local `cp` would.
    this.caller = {
      uid: process.getuid?.() ?? 0,
      gid: process.getgid?.() ?? 0,
      groups: process.getgroups?.() ?? [],
    };
    this.cwdStore = new CwdStore(opts.namenode, this.caller.uid);
    securityFlags = opts.security;
  }

  get json(): boolean {
    return this.opts.json;
  }

  /** Whether to draw progress bars: only for a person watching a terminal. */
  get interactiveOutput(): boolean {
    return !this.opts.json && process.stdout.isTTY === true && process.stderr.isTTY === true;
  }

  get cwd(): string {
    return this.cwdStore.get();
  }

  /** Absolute, normalized cluster path: relative ones resolve against the current directory. */
  resolve(p: string): string {
    if (p.includes('\0')) throw new CliError(`invalid path '${p.replace(/\0/g, '\\0')}'`, 1, 'EINVAL');
    const joined = p.startsWith('/') ? p : path.posix.join(this.cwd, p);
    const normalized = path.posix.normalize(joined);
    return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
  }

  client(): Promise<DfsClient> {
    this.clientPromise ??= this.connect();
    return this.clientPromise;
  }

  private async connect(): Promise<DfsClient> {
    // A quick TCP probe turns "name node not running" into an immediate, precise
    // message instead of a gRPC deadline several seconds later.
    await probeNameNode(this.opts.namenode);
    // The library's own logs would add lines to the CLI's one-line error (it reports
    // every failure itself); they show only when the user asks for verbose logs.
    if (!VERBOSE_LEVELS.has((process.env.DFS_LOG_LEVEL ?? '').toLowerCase())) process.env.DFS_LOG_LEVEL = 'silent';
    // Loaded on first use: `--help`, usage errors and `pwd` never pay for gRPC's start-up.
    const { createClient } = await import('../client');
    const { loadClientSecurity } = await import('../client/credentials');
    const client = createClient({ namenode: this.opts.namenode, ...loadClientSecurity(this.opts.security) });
    this.connected = client;
    return client;
  }

  /**
   * A transport-level failure in the middle of a command may mean the name node
   * went away; re-probe so the message says so rather than a bare EIO.
   */
  async explain(err: unknown): Promise<unknown> {
    if (!(err instanceof DfsError) || !['EIO', 'ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH'].includes(err.errno)) {
      return err;
    }
    try {
      await probeNameNode(this.opts.namenode);
      return err;
    } catch (probeErr) {
      return probeErr instanceof CliError ? probeErr : err;
    }
  }

  async close(): Promise<void> {
    await this.connected?.close();
  }
}

/** This run's `--token-file`/`--tls-*` (set by the CliContext), for admin calls made outside the client library. */
let securityFlags: ClientSecurityFlags = {};

export function cliSecurityFlags(): ClientSecurityFlags {
  return securityFlags;
}

/** Resolves when a TCP connection to the name node's address succeeds. */
export async function probeNameNode(address: string): Promise<void> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseAddress(address, 'name node address'));
  } catch (err) {
    throw new CliError(err instanceof DfsError ? err.detail : String(err), 2, 'EINVAL');
  }
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (reason: string): void => {
      socket.destroy();
      reject(unreachableError(address, reason));
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => fail(`no answer within ${PROBE_TIMEOUT_MS / 1000}s`));
    socket.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'ECONNREFUSED' ? 'connection refused' : e.message),
    );
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

/** The unreachable-name-node message: which address, why, and how to point elsewhere. */
export function unreachableError(address: string, reason: string): CliError {
  return new CliError(
    `cannot reach the name node at ${address} (${reason}); is the cluster running? ` +
      `(set --namenode HOST:PORT or DFS_NAMENODE)`,
    1,
    'EHOSTUNREACH',
  );
}
