import net from 'node:net';
import os from 'node:os';
import type http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { instrumentStreams, SERVER_OPTIONS } from '../rpc/call';
import { channelCredentials, serverCredentials } from '../rpc/tls';
import { DfsError } from '../rpc/errors';
import { ChunkStore, SPARE_INODES } from './chunk-store';
import type { DataNodeConfig } from './config';
import { prepareDataDir, resolveNodeId } from './data-dir';
import { startMetricsServer } from './metrics-http';
import { PeerClients } from './peer-clients';
import type { PipelineContext } from './pipeline';
import { Registration } from './registration';
import { Scrubber } from './scrubber';
import { streamLimit } from './limits';
import { ChunkAccess, loadDataNodeSecurity } from './security';
import { dataNodeHandlers } from './service';
import { newStats } from './stats';
import { DATANODE_SERVER_OPTIONS } from './server-options';
import { dataNodeServiceDefinition } from './wire-passthrough';

export interface RunningDataNode {
  id: string;
  address: string;
  stop(): Promise<void>;
}

/** Wires the store, the gRPC service, registration, the scrubber and metrics; returns once serving. */
export async function startDataNode(config: DataNodeConfig, logger: Logger): Promise<RunningDataNode> {
  // Fail fast, before touching any chunk, when the port is taken or a secret/certificate is unreadable.
  const security = loadDataNodeSecurity(config.security);
  await probePort(config.host, config.port);
  const dataDir = await prepareDataDir(config.dataDir);
  const id = await resolveNodeId(dataDir, config.id);
  const log = logger.child({ node: id });
  const store = await ChunkStore.open(dataDir, { capacity: config.capacity, logger: log, spareInodes: SPARE_INODES });
  const advertisedHost = config.host === '0.0.0.0' || config.host === '::' ? os.hostname() : config.host;
  const self = {
    id,
    address: `${advertisedHost.includes(':') ? `[${advertisedHost}]` : advertisedHost}:${config.port}`,
  };
  const stats = newStats();
  const peers = new PeerClients(channelCredentials(security.tls));
  const ctx: PipelineContext = {
    store,
    self,
    peers,
    logger: log,
    syncOnClose: config.syncOnClose,
    stats,
    access: new ChunkAccess(security.keys, log),
    idleTimeoutMs: config.idleTimeoutMs,
  };

  const server = new grpc.Server({
    ...SERVER_OPTIONS,
    ...DATANODE_SERVER_OPTIONS,
    interceptors: [streamLimit(config.streamsPerClient, log)],
  });
  const definition = dataNodeServiceDefinition();
  server.addService(definition, instrumentStreams(definition, dataNodeHandlers(ctx)));
  await bind(server, config.host, config.port, serverCredentials(security.tls));

  let http: http.Server | undefined;
  if (config.httpPort) {
    // The scrubber is created below, before any scrape can arrive (no await in between).
    const sources = { scrub: () => scrubber.progress() };
    http = await startMetricsServer(config.httpPort, config.host, id, store, stats, sources).catch(
      (err: NodeJS.ErrnoException) => {
        server.forceShutdown();
        throw err.code === 'EADDRINUSE'
          ? new DfsError('EINVAL', `HTTP port ${config.httpPort} on ${config.host} is already in use`)
          : err;
      },
    );
  }

  const registration = new Registration({
    namenode: config.namenode,
    self,
    labels: config.labels,
    store,
    stats,
    logger: log,
    keys: security.keys,
    credentials: channelCredentials(security.tls),
  });
  const scrubber = new Scrubber({
    store,
    logger: log,
    bytesPerSecond: config.scrubRate,
    onBad: () => registration.reportSoon(),
  });
  registration.start();
  scrubber.start();
  log.info(
    { address: self.address, dataDir, namenode: config.namenode, capacity: store.capacity },
    'data node serving',
  );
  if (!security.keys) log.warn('no --secret-file: this data node serves any client that reaches it (open cluster)');

  return {
    id,
    address: self.address,
    async stop() {
      scrubber.stop();
      registration.stop();
      http?.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      peers.close();
      store.close();
    },
  };
}

/** Fails with a one-line error if the port is taken (grpc-js alone would also log its own multi-line one). */
function probePort(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new DfsError('EBUSY', `port ${port} on ${host} is already in use`)
          : new DfsError('EINVAL', `cannot listen on ${host}:${port} (${err.code ?? err.message})`),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function bind(server: grpc.Server, host: string, port: number, creds: grpc.ServerCredentials): Promise<void> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(target, creds, (err) => {
      if (!err) return resolve();
      const inUse = /EADDRINUSE|address already in use/i.test(err.message);
      reject(
        new DfsError(
          inUse ? 'EBUSY' : 'EINVAL',
          inUse ? `port ${port} on ${host} is already in use` : `cannot listen on ${target}: ${err.message}`,
        ),
      );
    }),
  );
}
