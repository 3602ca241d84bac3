import type { Logger } from '../common/logger';
import { unary } from '../rpc/call';
import type { DataNodeClients } from './datanode-clients';
import type { DataNodeRegistry } from './registry';

const BATCH = 1000;
/**
 * How long a new deletion waits for others to share its DeleteChunks call.
 * Sent at once, `rm -r` of 2,000 small files cost 4,000 unary calls, about a
 * millisecond of name node CPU per file; the space comes back a moment later.
 */
export const GATHER_MS = 100;

/**
 * Replicas to delete, per data node, retried until the node confirms. A node
 * that is dead keeps its entries; when it registers again its report is
 * reconciled, which finds the same replicas anyway.
 */
export class DeletionQueue {
  private readonly pending = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly registry: DataNodeRegistry,
    private readonly clients: DataNodeClients,
    /** Whether the chunk is (again) a valid replica on the node: then it must not be deleted. */
    private readonly isWanted: (node: string, chunkId: string) => boolean,
    private readonly log: Logger,
    private readonly intervalMs = 500,
    /** Safe mode: nothing is deleted until the data nodes have reported (the queue keeps its entries). */
    private readonly paused: () => boolean = () => false,
  ) {}

  get size(): number {
    let n = 0;
    for (const s of this.pending.values()) n += s.size;
    return n;
  }

  enqueue(node: string, chunkIds: Iterable<string>): void {
    let set = this.pending.get(node);
    if (!set) this.pending.set(node, (set = new Set()));
    for (const id of chunkIds) set.add(id);
    if (set.size === 0) this.pending.delete(node);
    else this.schedule(GATHER_MS);
  }

  /** The same chunk on several nodes (trimmed or corrupt replicas). */
  enqueueEach(nodes: Iterable<string>, chunkId: string): void {
    for (const node of nodes) this.enqueue(node, [chunkId]);
  }

  start(): void {
    this.schedule(this.intervalMs);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Runs a tick in `ms`, or at the already scheduled time when that comes first. */
  private schedule(ms: number): void {
    if (this.timer && ms > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.running || this.paused()) return this.schedule(this.intervalMs);
    this.running = true;
    try {
      await Promise.all([...this.pending.keys()].map((node) => this.flushNode(node)));
    } finally {
      this.running = false;
      if (this.pending.size > 0) this.schedule(this.intervalMs);
    }
  }

  private async flushNode(node: string): Promise<void> {
    const set = this.pending.get(node);
    const dn = this.registry.get(node);
    if (!set || !dn || !this.registry.isLive(node)) return;
    for (const id of [...set]) if (this.isWanted(node, id)) set.delete(id);
    const batch = [...set].slice(0, BATCH);
    if (batch.length === 0) {
      this.pending.delete(node);
      return;
    }
    try {
      const client = this.clients.get(dn.address);
      await unary(client, client.DeleteChunks, { chunkIds: batch }, { deadlineMs: 10_000, peer: `data node ${node}` });
      for (const id of batch) set.delete(id);
      if (set.size === 0) this.pending.delete(node);
      this.log.debug({ node, chunks: batch.length }, 'replicas deleted');
    } catch (err) {
      this.log.debug({ node, err }, 'DeleteChunks failed; will retry');
    }
  }
}
