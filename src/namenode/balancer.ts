import type { Logger } from '../common/logger';
import type { Chunk, ChunkMap } from './chunk-map';
import type { ChunkCopier } from './chunk-copier';
import type { Decommissions } from './decommission';
import type { DeletionQueue } from './deletion-queue';
import type { ReplicaHealth } from './replica-health';
import type { ClassPolicy } from './placement';
import type { DataNodeRegistry } from './registry';
import { matchReplicas } from './storage-class';

export interface BalancerDeps {
  chunks: ChunkMap;
  registry: DataNodeRegistry;
  drains: Decommissions;
  health: ReplicaHealth;
  copier: ChunkCopier;
  deletions: DeletionQueue;
  /** The replication factor when no `policy` is given. */
  wanted: number;
  /** Storage classes: a move must keep a chunk's replicas as well placed for its class as before. */
  policy?: ClassPolicy;
  isBeingWritten: (chunkId: string) => boolean;
  /** A chunk was copied to `node` (reports in flight must not undo it). */
  onCopied: (chunkId: string, node: string) => void;
  log: Logger;
}

export interface NodeUsageView {
  id: string;
  /** bytes / capacity, as a fraction. */
  utilization: number;
  bytes: number;
  capacity: number;
}

export interface BalanceView {
  running: boolean;
  balanced: boolean;
  /** Fractions (0.1 = 10 percent points). */
  band: number;
  spread: number;
  movedChunks: number;
  movedBytes: number;
  inFlight: number;
  bytesToMove: number;
  nodes: NodeUsageView[];
}

interface Move {
  chunk: Chunk;
  version: number;
  from: string;
  to: string;
}

/**
 * Evens out disk use: while the fullest and the emptiest live node differ by
 * more than `band` (percent points of their capacity), chunks move from the
 * fullest to the emptiest (copy, then the source replica is dropped and
 * deleted), through the shared copier so the same limits hold as for
 * re-replication, which goes first. Use is counted from the chunk map (the
 * replicas each node holds), so it does not lag behind the heartbeats, plus
 * the moves in flight. Runs by itself when `auto`, or once asked (`dfs
 * balance`) until balanced.
 */
export class Balancer {
  private requested = false;
  private running = false;
  private readonly moves = new Map<string, Move>();
  movedChunks = 0;
  movedBytes = 0;

  constructor(
    private readonly deps: BalancerDeps,
    private band: number,
    private readonly auto: boolean,
  ) {}

  /** `dfs balance`: run until balanced, optionally with another band. */
  request(band?: number): void {
    if (band !== undefined && band > 0) this.band = band;
    this.requested = true;
  }

  usage(): NodeUsageView[] {
    const { registry, drains, chunks } = this.deps;
    const pending = new Map<string, number>();
    for (const m of this.moves.values()) pending.set(m.to, (pending.get(m.to) ?? 0) + m.chunk.size);
    const out: NodeUsageView[] = [];
    for (const n of registry.live()) {
      if (drains.isOut(n.id) || n.capacity <= 0) continue;
      let bytes = pending.get(n.id) ?? 0;
      for (const id of chunks.onNode(n.id)) bytes += chunks.get(id)?.size ?? 0;
      out.push({ id: n.id, utilization: bytes / n.capacity, bytes, capacity: n.capacity });
    }
    return out.sort((a, b) => a.utilization - b.utilization);
  }

  status(): BalanceView {
    const nodes = this.usage();
    const spread = nodes.length > 1 ? nodes[nodes.length - 1].utilization - nodes[0].utilization : 0;
    const mean =
      nodes.reduce((s, n) => s + n.bytes, 0) /
      Math.max(
        1,
        nodes.reduce((s, n) => s + n.capacity, 0),
      );
    let bytesToMove = 0;
    if (spread > this.band) {
      for (const n of nodes) bytesToMove += Math.max(0, n.bytes - (mean + this.band / 2) * n.capacity);
    }
    return {
      running: this.running,
      balanced: spread <= this.band,
      band: this.band,
      spread,
      movedChunks: this.movedChunks,
      movedBytes: this.movedBytes,
      inFlight: this.moves.size,
      bytesToMove: Math.round(bytesToMove),
      nodes,
    };
  }

  /** One round; `replicationBusy`: re-replication has work, so no slot goes to balancing. Never throws. */
  tick(replicationBusy: boolean): void {
    try {
      if (!this.auto && !this.requested) {
        this.running = false;
        return;
      }
      const nodes = this.usage();
      const spread = nodes.length > 1 ? nodes[nodes.length - 1].utilization - nodes[0].utilization : 0;
      if (spread <= this.band) {
        if (this.running && this.moves.size === 0) {
          this.deps.log.info({ spread, band: this.band, moved: this.movedChunks }, 'cluster balanced');
          this.running = false;
          this.requested = false;
        }
        return;
      }
      if (!this.running) this.deps.log.info({ spread, band: this.band }, 'balancing: disk use spread too wide');
      this.running = true;
      if (!replicationBusy) this.schedule(nodes);
    } catch (err) {
      this.deps.log.error({ err }, 'balancer round failed');
    }
  }

  private schedule(nodes: NodeUsageView[]): void {
    const { copier } = this.deps;
    while (!copier.saturated()) {
      const ready = nodes.filter((n) => !copier.busy(n.id));
      if (ready.length < 2) return;
      const to = ready[0];
      const from = ready[ready.length - 1];
      if (from.utilization - to.utilization <= this.band) return;
      const chunk = this.pickChunk(from, to);
      if (!chunk) return;
      const move: Move = { chunk, version: chunk.version, from: from.id, to: to.id };
      const started = copier.start(
        {
          chunkId: chunk.id,
          version: chunk.version,
          size: chunk.size,
          source: from.id,
          target: to.id,
          reason: 'balance',
        },
        (ok) => this.moved(move, ok),
      );
      if (!started) return;
      this.moves.set(chunk.id, move);
      from.bytes -= chunk.size;
      from.utilization = from.bytes / from.capacity;
      to.bytes += chunk.size;
      to.utilization = to.bytes / to.capacity;
      nodes.sort((a, b) => a.utilization - b.utilization);
    }
  }

  /** A healthy chunk on `from` that `to` lacks and whose move does not overshoot (to would end fuller than from). */
  private pickChunk(from: NodeUsageView, to: NodeUsageView): Chunk | undefined {
    const { chunks, health, copier, isBeingWritten, policy } = this.deps;
    for (const id of chunks.onNode(from.id)) {
      const chunk = chunks.get(id);
      if (!chunk || chunk.size === 0 || chunk.replicas.has(to.id) || this.moves.has(id)) continue;
      if (copier.copying(id) || isBeingWritten(id)) continue;
      const counted = health.counted(chunk);
      const cls = policy?.classOf(chunk);
      if (!counted.includes(from.id) || counted.length < (cls?.replicas.length ?? this.deps.wanted)) continue;
      if (cls && policy) {
        const after = [...counted.filter((n) => n !== from.id), to.id];
        const before = matchReplicas(cls, counted, policy.labelsOf).matched.size;
        if (matchReplicas(cls, after, policy.labelsOf).matched.size < before) continue;
      }
      const fromAfter = (from.bytes - chunk.size) / from.capacity;
      const toAfter = (to.bytes + chunk.size) / to.capacity;
      if (toAfter <= fromAfter) return chunk;
    }
    return undefined;
  }

  private moved(move: Move, ok: boolean): void {
    this.moves.delete(move.chunk.id);
    if (!ok) return;
    const { chunks, deletions, log } = this.deps;
    const { chunk } = move;
    if (chunks.get(chunk.id) !== chunk || chunk.version !== move.version) {
      deletions.enqueue(move.to, [chunk.id]);
      return;
    }
    chunks.addReplica(chunk, move.to);
    this.deps.onCopied(chunk.id, move.to);
    chunks.removeReplica(chunk, move.from);
    deletions.enqueue(move.from, [chunk.id]);
    this.movedChunks++;
    this.movedBytes += chunk.size;
    log.debug({ chunk: chunk.id, from: move.from, to: move.to }, 'chunk moved');
  }
}
