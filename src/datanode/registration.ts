import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { CHANNEL_OPTIONS, unary } from '../rpc/call';
import { bearerInterceptor } from '../rpc/auth';
import { asDfsError } from '../rpc/errors';
import type { NameNodeClient } from '../rpc/gen/dfs/NameNode';
import type { ChunkReplica } from '../rpc/gen/dfs/ChunkReplica';
import type { ChunkReportRequest } from '../rpc/gen/dfs/ChunkReportRequest';
import type { Empty__Output } from '../rpc/gen/dfs/Empty';
import type { HeartbeatRequest } from '../rpc/gen/dfs/HeartbeatRequest';
import type { HeartbeatReply__Output } from '../rpc/gen/dfs/HeartbeatReply';
import type { RegisterRequest } from '../rpc/gen/dfs/RegisterRequest';
import type { RegisterReply__Output } from '../rpc/gen/dfs/RegisterReply';
import { nameNodeService } from '../rpc/load';
import type { ClusterKeys } from '../rpc/tokens';
import type { ChunkStore } from './chunk-store';
import type { NodeIdentity } from './node-identity';
import type { DataNodeStats } from './stats';

export interface RegistrationOptions {
  namenode: string;
  self: NodeIdentity;
  labels: string[];
  store: ChunkStore;
  stats: DataNodeStats;
  logger: Logger;
  heartbeatMs?: number;
  /** Full chunk report period (also sent right away when new bad chunks appear). */
  reportMs?: number;
  /** The cluster secret's keys: every call carries a fresh membership proof (none: the cluster runs open). */
  keys?: ClusterKeys;
  /** TLS to the name node (presenting this node's certificate: mutual TLS), or plaintext. */
  credentials?: grpc.ChannelCredentials;
}

const RPC_DEADLINE_MS = 5_000;
const MAX_BACKOFF_MS = 5_000;

/**
 * Keeps this data node known to the name node: Register (with the full chunk
 * report) on start and whenever the name node forgot us (heartbeat reply
 * `reregister`) or was unreachable; a heartbeat every second; a periodic full
 * ChunkReport carrying any bad chunks. Never throws: a missing name node just
 * means retrying with backoff.
 */
export class Registration {
  private readonly client: NameNodeClient;
  private registered = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private backoffMs = 200;
  private failures = 0;
  private lastReport = 0;
  private reportedBad = 0;
  private heartbeatMs: number;
  private readonly reportMs: number;

  constructor(private readonly opts: RegistrationOptions) {
    const NameNode = nameNodeService().NameNode;
    const keys = opts.keys;
    this.client = new NameNode(opts.namenode, opts.credentials ?? grpc.credentials.createInsecure(), {
      ...CHANNEL_OPTIONS,
      interceptors: keys ? [bearerInterceptor(() => keys.nodeProof(opts.self.id))] : [],
    });
    this.heartbeatMs = opts.heartbeatMs ?? 1_000;
    this.reportMs = opts.reportMs ?? 30_000;
  }

  get isRegistered(): boolean {
    return this.registered;
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    this.client.close();
  }

  /** Sends a chunk report at the next tick (e.g. a read found a corrupt block). */
  reportSoon(): void {
    this.lastReport = 0;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let delay = this.heartbeatMs;
      try {
        await this.tick();
        this.backoffMs = 200;
        this.failures = 0;
      } catch (err) {
        const e = asDfsError(err);
        // Loud on the first failure and then every ~minute, not on every retry.
        const level = this.failures++ % 12 === 0 ? 'warn' : 'debug';
        if (e.errno === 'EACCES')
          this.opts.logger[level === 'warn' ? 'error' : level](
            { err: e.message, namenode: this.opts.namenode },
            'the name node refused this data node (same --secret-file as the name node? certificates?)',
          );
        else if (this.registered)
          this.opts.logger[level]({ err: e.message }, 'name node unreachable; will re-register');
        else
          this.opts.logger[level]({ err: e.message, namenode: this.opts.namenode }, 'cannot register with name node');
        this.registered = false;
        delay = this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, delay);
      });
    }
  }

  private async tick(): Promise<void> {
    const { store, self, stats } = this.opts;
    await store.refreshCapacity();
    if (!this.registered) {
      await this.register();
      return;
    }
    const reply = await unary<HeartbeatRequest, HeartbeatReply__Output>(
      this.client,
      this.client.heartbeat,
      { id: self.id, used: String(store.used), capacity: String(store.capacity), activeStreams: stats.activeStreams },
      { deadlineMs: RPC_DEADLINE_MS, peer: `name node ${this.opts.namenode}` },
    );
    if (reply.reregister) {
      this.opts.logger.info('name node asked to re-register');
      await this.register();
      return;
    }
    const bad = store.badChunks().length;
    if (Date.now() - this.lastReport >= this.reportMs || bad !== this.reportedBad) await this.chunkReport();
  }

  private async register(): Promise<void> {
    const { store, self, labels } = this.opts;
    const chunks = replicas(store);
    const reply = await unary<RegisterRequest, RegisterReply__Output>(
      this.client,
      this.client.register,
      {
        id: self.id,
        address: self.address,
        capacity: String(store.capacity),
        used: String(store.used),
        labels,
        chunks,
      },
      { deadlineMs: RPC_DEADLINE_MS * 4, peer: `name node ${this.opts.namenode}` },
    );
    if (reply.heartbeatIntervalMs > 0) this.heartbeatMs = reply.heartbeatIntervalMs;
    this.registered = true;
    this.lastReport = Date.now();
    this.opts.logger.info(
      { id: self.id, chunks: chunks.length, cluster: reply.clusterId },
      'registered with name node',
    );
    // Bad chunks are not in Register: send them right away.
    if (store.badChunks().length > 0) await this.chunkReport();
  }

  private async chunkReport(): Promise<void> {
    const { store, self } = this.opts;
    const bad = store.badChunks();
    await unary<ChunkReportRequest, Empty__Output>(
      this.client,
      this.client.chunkReport,
      { id: self.id, chunks: replicas(store), badChunks: bad },
      { deadlineMs: RPC_DEADLINE_MS * 4, peer: `name node ${this.opts.namenode}` },
    );
    this.lastReport = Date.now();
    this.reportedBad = bad.length;
  }
}

function replicas(store: ChunkStore): ChunkReplica[] {
  return store.list().map((c) => ({ chunkId: c.chunkId, version: String(c.version), size: String(c.size) }));
}
