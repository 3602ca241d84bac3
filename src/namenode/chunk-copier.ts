import type { Logger } from '../common/logger';
import { newRequestId } from '../common/logger';
import { unary } from '../rpc/call';
import { asDfsError } from '../rpc/errors';
import type { DataNodeClients } from './datanode-clients';
import type { DataNodeRegistry } from './registry';

/** Limits on data node to data node copies, so foreground reads and writes keep going. */
export interface CopyLimits {
  /** Copies a node may take part in at once (as source or target). */
  streamsPerNode: number;
  /** Copies in the whole cluster at once. */
  maxStreams: number;
  /** Average copy bandwidth of the whole cluster in bytes/s; 0 = unlimited. */
  bytesPerSecond: number;
}

export interface CopyJob {
  chunkId: string;
  version: number;
  size: number;
  source: string;
  target: string;
  /** Why (re-replication, balance): for the logs. */
  reason: string;
}

/** A whole chunk copy gets this long plus one second per MiB before it is abandoned. */
const COPY_DEADLINE_BASE_MS = 30_000;

/**
 * Runs chunk copies (the source data node's ReplicateChunk to a target) within
 * the copy limits: a slot per node and in the cluster, and a byte budget that
 * paces copy starts to the bandwidth cap. The data nodes do the copying; the
 * target rebuilds every block CRC and checks the ones the source sends.
 */
export class ChunkCopier {
  private readonly perNode = new Map<string, number>();
  private readonly chunks = new Set<string>();
  private total = 0;
  /** With a bandwidth cap: when the budget allows the next copy to start. */
  private nextStartMs = 0;
  copiedChunks = 0;
  copiedBytes = 0;
  /** Called (on the next turn of the event loop) when a copy ends, so the next one starts without waiting for a tick. */
  onSlotFree: () => void = () => undefined;

  constructor(
    private readonly limits: CopyLimits,
    private readonly registry: DataNodeRegistry,
    private readonly clients: DataNodeClients,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  get inFlight(): number {
    return this.total;
  }

  /** No slot left in the cluster, or the bandwidth budget is spent for now. */
  saturated(): boolean {
    return this.total >= this.limits.maxStreams || this.nextStartMs > this.clock();
  }

  busy(node: string): boolean {
    return this.load(node) >= this.limits.streamsPerNode;
  }

  load(node: string): number {
    return this.perNode.get(node) ?? 0;
  }

  copying(chunkId: string): boolean {
    return this.chunks.has(chunkId);
  }

  /** Starts a copy if the limits allow; `done(ok)` is called when it ends. Never throws. */
  start(job: CopyJob, done: (ok: boolean) => void): boolean {
    if (this.saturated() || this.busy(job.source) || this.busy(job.target) || this.chunks.has(job.chunkId)) {
      return false;
    }
    const source = this.registry.get(job.source);
    const target = this.registry.get(job.target);
    if (!source || !target) return false;
    if (this.limits.bytesPerSecond > 0) {
      this.nextStartMs = Math.max(this.nextStartMs, this.clock()) + (job.size / this.limits.bytesPerSecond) * 1000;
    }
    this.total++;
    this.chunks.add(job.chunkId);
    for (const n of [job.source, job.target]) this.perNode.set(n, this.load(n) + 1);
    this.registry.noteAssigned([job.target]);
    const requestId = newRequestId();
    const started = this.clock();
    const client = this.clients.get(source.address);
    unary(
      client,
      client.ReplicateChunk,
      {
        chunkId: job.chunkId,
        version: String(job.version),
        target: { id: target.id, address: target.address },
        requestId,
      },
      { deadlineMs: COPY_DEADLINE_BASE_MS + job.size / 1024, peer: `data node ${job.source}` },
    ).then(
      () => {
        this.copiedChunks++;
        this.copiedBytes += job.size;
        this.log.info({ ...job, requestId, ms: this.clock() - started }, 'chunk copied');
        this.finish(job, done, true);
      },
      (err: unknown) => {
        this.log.warn({ ...job, requestId, err: asDfsError(err).message }, 'chunk copy failed');
        this.finish(job, done, false);
      },
    );
    return true;
  }

  private finish(job: CopyJob, done: (ok: boolean) => void, ok: boolean): void {
    this.total--;
    this.chunks.delete(job.chunkId);
    for (const n of [job.source, job.target]) {
      const left = this.load(n) - 1;
      if (left > 0) this.perNode.set(n, left);
      else this.perNode.delete(n);
    }
    try {
      done(ok);
    } catch (err) {
      this.log.error({ err, chunkId: job.chunkId }, 'chunk copy completion failed');
    }
    setImmediate(() => this.onSlotFree());
  }
}
