#!/usr/bin/env node
import fs from 'node:fs/promises';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { SERVER_OPTIONS } from '../rpc/call';
import { asDfsError } from '../rpc/errors';
import { nameNodeService } from '../rpc/load';
import { serverCredentials } from '../rpc/tls';
import {
  loadNameNodeSecurity,
  logSecurity,
  nameNodeGuard,
  type NameNodeSecurity,
  secureDataNodeChannels,
  type SecurityFlags,
} from './auth';
import { DEFAULTS, type NameNodeConfig, parseConfig, type RawOptions } from './config';
import { lockDataDir } from './data-dir-lock';
import { createHttpServer } from './http';
import { MetaStore } from './metadata-store';
import { NameNode } from './name-node';
import { nameNodeHandlers } from './service';

const log = createLogger('namenode');
// grpc-js writes its own diagnostics to stderr; route them into our logs so errors stay one clear line.
grpc.setLogger({
  error: (...args: unknown[]) => log.debug({ grpc: args.map(String).join(' ') }, 'grpc-js'),
  info: () => undefined,
  debug: () => undefined,
} as unknown as Console);

function fail(message: string): never {
  process.stderr.write(`dfs-namenode: ${message}\n`);
  process.exit(1);
}

async function checkDataDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    const probe = path.join(dir, `.write-test-${process.pid}`);
    await fs.writeFile(probe, 'ok');
    await fs.rm(probe);
  } catch (err) {
    fail(`data dir ${dir} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function bindGrpc(server: grpc.Server, host: string, port: number, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
}

async function run(cfg: NameNodeConfig, security: NameNodeSecurity): Promise<void> {
  await checkDataDir(cfg.dataDir);
  const unlock = await lockDataDir(cfg.dataDir).catch((err: unknown) => fail(asDfsError(err).detail));
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const store = await MetaStore.open(
    { dataDir: cfg.dataDir, chunkSize: cfg.chunkSize, checkpointEvery: cfg.checkpointEvery, rootOwner: owner },
    log,
  );
  const nn = new NameNode(
    store,
    {
      replication: cfg.replication,
      nodeTimeoutMs: cfg.nodeTimeoutMs,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      copy: {
        streamsPerNode: cfg.copyStreamsPerNode,
        maxStreams: cfg.copyStreams,
        bytesPerSecond: cfg.copyBandwidth,
      },
      balanceBand: cfg.balanceBand,
      dataDir: cfg.dataDir,
    },
    log,
  );

  secureDataNodeChannels(security);
  const server = new grpc.Server({ ...SERVER_OPTIONS, interceptors: [nameNodeGuard(security, log)] });
  server.addService(nameNodeService().NameNode.service, nameNodeHandlers(nn, log, security));
  try {
    await bindGrpc(server, cfg.host, cfg.port, serverCredentials(security.tls));
  } catch (err) {
    const msg = String((err as Error).message ?? err);
    fail(
      /EADDRINUSE|address already in use/i.test(msg)
        ? `port ${cfg.port} on ${cfg.host} is already in use (--port)`
        : `cannot listen on ${cfg.host}:${cfg.port}: ${msg}`,
    );
  }
  const httpServer = createHttpServer(() => true, nn);
  await new Promise<void>((resolve) => {
    httpServer.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'EADDRINUSE'
          ? `HTTP port ${cfg.httpPort} on ${cfg.host} is already in use (--http-port)`
          : `cannot listen on HTTP ${cfg.host}:${cfg.httpPort}: ${err.message}`,
      ),
    );
    httpServer.listen(cfg.httpPort, cfg.host, resolve);
  });
  nn.start();
  log.info(
    { address: `${cfg.host}:${cfg.port}`, http: cfg.httpPort, dataDir: cfg.dataDir, replication: cfg.replication },
    'name node ready',
  );
  logSecurity(security, log);

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: checkpointing');
    const forced = setTimeout(() => process.exit(1), 15_000);
    forced.unref();
    httpServer.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await nn.stop();
    await store.close();
    await unlock();
    log.flush?.();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

function main(): void {
  const program = new Command()
    .name('dfs-namenode')
    .description('dfs name node: namespace, chunk placement, data node registry')
    .option('--host <host>', 'address to listen on', DEFAULTS.host)
    .option('--port <port>', 'gRPC port', DEFAULTS.port)
    .option('--http-port <port>', 'HTTP port (/healthz)', DEFAULTS.httpPort)
    .option('--data-dir <dir>', 'metadata directory (journal, checkpoint)', DEFAULTS.dataDir)
    .option('--replication <n>', 'replicas per chunk', DEFAULTS.replication)
    .option('--chunk-size <size>', 'maximum chunk size (new clusters)', DEFAULTS.chunkSize)
    .option('--node-timeout <duration>', 'a data node silent this long is dead', DEFAULTS.nodeTimeout)
    .option(
      '--copy-streams-per-node <n>',
      're-replication/balancing copies a data node takes part in at once',
      DEFAULTS.copyStreamsPerNode,
    )
    .option('--copy-streams <n>', 're-replication/balancing copies in the cluster at once', DEFAULTS.copyStreams)
    .option(
      '--copy-bandwidth <size>',
      'cap on copy bandwidth per second, e.g. 100MiB (env DFS_COPY_BANDWIDTH; 0 = none)',
    )
    .option('--balance-band <pct>', 'allowed spread of disk use across nodes (env DFS_BALANCE_BAND; default 10%; off)')
    .option('--secret-file <file>', 'cluster secret (mode 0600; env DFS_SECRET_FILE): without it the cluster runs open')
    .option('--issue-token <name>', 'print a client token for NAME (signed with --secret-file) and exit')
    .option('--tls-cert <file>', 'TLS certificate (PEM; env DFS_TLS_CERT)')
    .option('--tls-key <file>', 'TLS private key (PEM; env DFS_TLS_KEY)')
    .option('--tls-ca <file>', 'CA that signs data node certificates (mutual TLS; env DFS_TLS_CA)')
    .showHelpAfterError()
    .parse();
  const flags = program.opts<{ issueToken?: string; secretFile?: string }>();
  let security: NameNodeSecurity;
  try {
    security = loadNameNodeSecurity(program.opts<SecurityFlags>());
    if (flags.issueToken !== undefined) {
      if (!security.keys) fail('--issue-token needs --secret-file');
      process.stdout.write(`${security.keys.issueClientToken(flags.issueToken)}\n`);
      process.exit(0);
    }
  } catch (err) {
    fail(asDfsError(err).detail);
  }
  let cfg: NameNodeConfig;
  try {
    cfg = parseConfig(program.opts<RawOptions>());
  } catch (err) {
    fail(asDfsError(err).detail);
  }
  run(cfg, security).catch((err: unknown) => fail(asDfsError(err).message));
}

main();
