import type { Logger } from '../common/logger';
import type { Chunk, ChunkMap } from './chunk-map';
import type { ChunkCopier } from './chunk-copier';
import type { CorruptReplicas } from './corrupt-replicas';
import type { Decommissions } from './decommission';
import type { DeletionQueue } from './deletion-queue';
import { choosePlacement, type PlacementCandidate } from './placement';
import type { ReplicaHealth } from './replica-health';
import { type ReplicationScan, scanReplication } from './replication-queue';
import type { DataNodeRegistry } from './registry';
import { events } from './events';

export interface ReplicationDeps {
  chunks: ChunkMap;
  registry: DataNodeRegistry;
  health: ReplicaHealth;
  corrupt: CorruptReplicas;
  drains: Decommissions;
  copier: ChunkCopier;
  deletions: DeletionQueue;
  wanted: number;
  chunkSize: number;
  /** Nodes that may receive a chunk (live, not draining). */
  candidates: () => PlacementCandidate[];
  /** A chunk with a writer between PrepareWrite and CommitWrite: its replica set is the writer's business. */
  isBeingWritten: (chunkId: string) => boolean;
  log: Logger;
}

/** Even without an event, the whole chunk map is re-checked this often. */
const FULL_SCAN_MS = 5_000;
/** A chunk whose copy failed waits this long before the next attempt (the node may be dying). */
const RETRY_AFTER_FAILURE_MS = 3_000;
/** A fresh copy is kept even if a report that was on its way during the copy does not list it. */
const RECENT_COPY_MS = 30_000;

/**
 * Keeps every chunk at its replication factor without operator action:
 * rescans the chunk map on every event that can change a replica count
 * (node death, a report, a bad replica, a failed truncate, a decommission)
 * and at least every few seconds; copies under-replicated chunks data node to
 * data node, most endangered first, within the copier's limits; trims
 * over-replicated chunks (a returning node), keeping the replicas on the
 * emptiest nodes; and marks drained nodes decommissioned.
 */
export class ReplicationMonitor {
  private dirty = true;
  private lastScanMs = 0;
  private scan: ReplicationScan = { under: [], missing: [], over: [] };
  private readonly failedUntil = new Map<string, number>();
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly deps: ReplicationDeps,
    private readonly clock: () => number = Date.now,
  ) {}

  markDirty(): void {
    this.dirty = true;
  }

  /** Chunks waiting for another replica (copies in flight included). */
  get queued(): number {
    return this.scan.under.length;
  }

  /** Nothing to copy: the balancer may use the copy slots. */
  get idle(): boolean {
    return this.scan.under.length === 0 && !this.dirty;
  }

  noteCopy(chunkId: string, node: string): void {
    this.recent.set(`${chunkId}@${node}`, this.clock());
  }

  /** A copy just made: a report sent before it finished must not remove it. */
  recentlyCopied(chunkId: string, node: string): boolean {
    const at = this.recent.get(`${chunkId}@${node}`);
    return at !== undefined && this.clock() - at < RECENT_COPY_MS;
  }

  /** One round: rescan if needed, start copies, trim extras, update drains. Never throws. */
  tick(): void {
    const now = this.clock();
    try {
      if (this.dirty || now - this.lastScanMs >= FULL_SCAN_MS) {
        this.dirty = false;
        this.lastScanMs = now;
        const { chunks, wanted, health, isBeingWritten } = this.deps;
        this.scan = scanReplication(chunks.all(), wanted, health, (c) => isBeingWritten(c.id));
        this.forgetOld(now);
      }
      this.copyUnderReplicated(now);
      this.trimOverReplicated();
      this.settleCorrupt();
      this.updateDrains();
    } catch (err) {
      this.deps.log.error({ err }, 'replication round failed');
    }
  }

  /** A copy slot came free: start the next copies from the current scan at once. Never throws. */
  pump(): void {
    try {
      this.copyUnderReplicated(this.clock());
    } catch (err) {
      this.deps.log.error({ err }, 'replication round failed');
    }
  }

  private forgetOld(now: number): void {
    for (const [k, at] of this.recent) if (now - at >= RECENT_COPY_MS) this.recent.delete(k);
    for (const [k, until] of this.failedUntil) if (until <= now) this.failedUntil.delete(k);
  }

  private copyUnderReplicated(now: number): void {
    const { chunks, copier, health, corrupt, wanted, chunkSize, isBeingWritten } = this.deps;
    for (const { chunk } of this.scan.under) {
      if (copier.saturated()) return;
      if (copier.copying(chunk.id) || (this.failedUntil.get(chunk.id) ?? 0) > now || isBeingWritten(chunk.id)) continue;
      if (chunks.get(chunk.id) !== chunk) continue; // deleted since the scan
      const counted = health.counted(chunk);
      if (counted.length >= wanted) continue;
      const sources = health
        .sources(chunk)
        .filter((n) => !copier.busy(n))
        .sort((a, b) => copier.load(a) - copier.load(b));
      if (sources.length === 0) continue;
      const candidates = this.deps.candidates();
      const exclude = new Set([...chunk.replicas, ...corrupt.nodes(chunk.id)]);
      for (const c of candidates) if (copier.busy(c.id)) exclude.add(c.id);
      const [target] = choosePlacement(candidates, 1, exclude, chunkSize);
      if (!target) continue;
      const version = chunk.version;
      copier.start(
        {
          chunkId: chunk.id,
          version,
          size: chunk.size,
          source: sources[0],
          target,
          reason: `re-replication (${counted.length} of ${wanted} live)`,
        },
        (ok) => this.copied(chunk, version, target, ok),
      );
    }
  }

  private copied(chunk: Chunk, version: number, target: string, ok: boolean): void {
    this.dirty = true;
    if (!ok) {
      this.failedUntil.set(chunk.id, this.clock() + RETRY_AFTER_FAILURE_MS);
      return;
    }
    const { chunks, deletions } = this.deps;
    if (chunks.get(chunk.id) === chunk && chunk.version === version) {
      chunks.addReplica(chunk, target);
      this.noteCopy(chunk.id, target);
      events.record('chunk-re-replicated', `chunk ${chunk.id} copied to ${target}`, { node: target, chunk: chunk.id });
    } else {
      // Written, truncated or deleted while it was copied: the copy is stale.
      deletions.enqueue(target, [chunk.id]);
    }
  }

  private trimOverReplicated(): void {
    const { chunks, copier, health, wanted, deletions, registry, isBeingWritten, log } = this.deps;
    const over = this.scan.over;
    this.scan.over = [];
    for (const chunk of over) {
      if (chunks.get(chunk.id) !== chunk || copier.copying(chunk.id) || isBeingWritten(chunk.id)) continue;
      const counted = health.counted(chunk);
      const extra = counted.length - wanted;
      if (extra <= 0) continue;
      // Keep the best placement: the replicas on the emptiest nodes stay.
      const fullness = (id: string): number => {
        const n = registry.get(id);
        return n && n.capacity > 0 ? n.used / n.capacity : 1;
      };
      const victims = counted.sort((a, b) => fullness(b) - fullness(a)).slice(0, extra);
      for (const v of victims) chunks.removeReplica(chunk, v);
      deletions.enqueueEach(victims, chunk.id);
      log.info({ chunk: chunk.id, removed: victims, kept: health.counted(chunk) }, 'over-replicated chunk trimmed');
    }
  }

  /** Once a chunk with a corrupt replica is fully replicated again, the corrupt copy goes. */
  private settleCorrupt(): void {
    const { chunks, corrupt, health, wanted, deletions } = this.deps;
    for (const id of corrupt.chunkIds()) {
      const chunk = chunks.get(id);
      if (!chunk) {
        corrupt.clear(id);
        continue;
      }
      if (health.counted(chunk).length < wanted) continue;
      const bad = [...corrupt.nodes(id)];
      for (const n of bad) chunks.removeReplica(chunk, n);
      deletions.enqueueEach(bad, id);
      corrupt.clear(id);
    }
  }

  /** Chunks on a draining node that other nodes do not yet hold enough copies of. */
  remainingOn(node: string): number {
    const { chunks, health, wanted } = this.deps;
    let remaining = 0;
    for (const id of chunks.onNode(node)) {
      const chunk = chunks.get(id);
      if (chunk && chunk.size > 0 && health.counted(chunk).length < wanted) remaining++;
    }
    return remaining;
  }

  private updateDrains(): void {
    for (const node of this.deps.drains.draining()) {
      if (this.remainingOn(node) === 0) this.deps.drains.finish(node);
    }
  }
}
