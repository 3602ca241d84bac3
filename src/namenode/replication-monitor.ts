import type { Logger } from '../common/logger';
import type { Chunk, ChunkMap } from './chunk-map';
import type { ChunkCopier } from './chunk-copier';
import type { CorruptReplicas } from './corrupt-replicas';
import type { Decommissions } from './decommission';
import type { DeletionQueue } from './deletion-queue';
import { type ClassPolicy, type PlacementCandidate, rankNodes } from './placement';
import type { ReplicaHealth } from './replica-health';
import { type ReplicationScan, scanReplication } from './replication-queue';
import type { DataNodeRegistry } from './registry';
import { events } from './events';
import { matchReplicas, placeForClass, placementState } from './storage-class';

export interface ReplicationDeps {
  chunks: ChunkMap;
  registry: DataNodeRegistry;
  health: ReplicaHealth;
  corrupt: CorruptReplicas;
  drains: Decommissions;
  copier: ChunkCopier;
  deletions: DeletionQueue;
  /** Each chunk's storage class (its replication factor and label constraints) and the nodes' labels. */
  policy: ClassPolicy;
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
 * data node, most endangered first, within the copier's limits; moves
 * misplaced chunks (replicas on nodes their storage class does not want: copy
 * to a matching node first, the trim then drops the copy that matches
 * nothing); trims over-replicated chunks (a returning node, a moved chunk),
 * dropping replicas the class does not need first, then those on the fullest
 * nodes; and marks drained nodes decommissioned.
 */
export class ReplicationMonitor {
  private dirty = true;
  private lastScanMs = 0;
  private scan: ReplicationScan = { under: [], missing: [], over: [], misplaced: [] };
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
    return this.scan.under.length === 0 && this.scan.misplaced.length === 0 && !this.dirty;
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
        const { chunks, health, isBeingWritten, policy } = this.deps;
        const nodes = this.deps.candidates().map((c) => c.id);
        this.scan = scanReplication(
          chunks.all(),
          (c) => this.wanted(c),
          health,
          (c) => isBeingWritten(c.id),
          (c, counted) => placementState(policy.classOf(c), counted, nodes, policy.labelsOf) === 'misplaced',
        );
        this.forgetOld(now);
      }
      this.copyUnderReplicated(now);
      this.moveMisplaced(now);
      this.trimOverReplicated();
      this.settleCorrupt();
      this.updateDrains();
    } catch (err) {
      this.deps.log.error({ err }, 'replication round failed');
    }
  }

  /** The replication factor of a chunk: the number of replicas its storage class wants. */
  wanted(chunk: Chunk): number {
    return this.deps.policy.classOf(chunk).replicas.length;
  }

  /** Chunks waiting to move to nodes their class wants. */
  get misplaced(): number {
    return this.scan.misplaced.length;
  }

  /** A copy slot came free: start the next copies from the current scan at once. Never throws. */
  pump(): void {
    try {
      this.copyUnderReplicated(this.clock());
      this.moveMisplaced(this.clock());
    } catch (err) {
      this.deps.log.error({ err }, 'replication round failed');
    }
  }

  private forgetOld(now: number): void {
    for (const [k, at] of this.recent) if (now - at >= RECENT_COPY_MS) this.recent.delete(k);
    for (const [k, until] of this.failedUntil) if (until <= now) this.failedUntil.delete(k);
  }

  private copyUnderReplicated(now: number): void {
    const { chunks, copier, health, isBeingWritten } = this.deps;
    for (const { chunk } of this.scan.under) {
      if (copier.saturated()) return;
      if (copier.copying(chunk.id) || (this.failedUntil.get(chunk.id) ?? 0) > now || isBeingWritten(chunk.id)) continue;
      if (chunks.get(chunk.id) !== chunk) continue; // deleted since the scan
      const counted = health.counted(chunk);
      const wanted = this.wanted(chunk);
      if (counted.length >= wanted) continue;
      // Below its replication factor any node will do (safety first); a matching one if there is one.
      this.copyTo(chunk, counted, false, `re-replication (${counted.length} of ${wanted} live)`);
    }
  }

  private moveMisplaced(now: number): void {
    const { chunks, copier, health, isBeingWritten } = this.deps;
    for (const chunk of this.scan.misplaced) {
      if (copier.saturated()) return;
      if (copier.copying(chunk.id) || (this.failedUntil.get(chunk.id) ?? 0) > now || isBeingWritten(chunk.id)) continue;
      if (chunks.get(chunk.id) !== chunk) continue;
      const counted = health.counted(chunk);
      if (counted.length < this.wanted(chunk)) continue; // re-replication's
      this.copyTo(chunk, counted, true, `storage class ${this.deps.policy.classOf(chunk).name}`);
    }
  }

  /** Starts one copy of `chunk` to the node its class most needs; `mustMatch`: only to a node that closes a constraint. */
  private copyTo(chunk: Chunk, counted: string[], mustMatch: boolean, reason: string): void {
    const { copier, health, corrupt, chunkSize, policy } = this.deps;
    const sources = health
      .sources(chunk)
      .filter((n) => !copier.busy(n))
      .sort((a, b) => copier.load(a) - copier.load(b));
    if (sources.length === 0) return;
    const candidates = this.deps.candidates();
    const exclude = new Set([...chunk.replicas, ...corrupt.nodes(chunk.id)]);
    for (const c of candidates) if (copier.busy(c.id)) exclude.add(c.id);
    const ranked = rankNodes(candidates, exclude, chunkSize);
    const placed = placeForClass(policy.classOf(chunk), counted, ranked, policy.labelsOf, 1);
    const [target] = placed.chosen;
    if (!target || (mustMatch && placed.satisfying === 0)) return;
    const version = chunk.version;
    copier.start({ chunkId: chunk.id, version, size: chunk.size, source: sources[0], target, reason }, (ok) =>
      this.copied(chunk, version, target, ok),
    );
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
    const { chunks, copier, health, deletions, registry, isBeingWritten, log, policy } = this.deps;
    const over = this.scan.over;
    this.scan.over = [];
    for (const chunk of over) {
      if (chunks.get(chunk.id) !== chunk || copier.copying(chunk.id) || isBeingWritten(chunk.id)) continue;
      const counted = health.counted(chunk);
      const extra = counted.length - this.wanted(chunk);
      if (extra <= 0) continue;
      // Keep the best placement: replicas the class needs stay, then those on the emptiest nodes.
      const fullness = (id: string): number => {
        const n = registry.get(id);
        return n && n.capacity > 0 ? n.used / n.capacity : 1;
      };
      const spare = new Set(matchReplicas(policy.classOf(chunk), counted, policy.labelsOf).spareNodes);
      const victims = counted
        .sort((a, b) => Number(spare.has(b)) - Number(spare.has(a)) || fullness(b) - fullness(a))
        .slice(0, extra);
      for (const v of victims) chunks.removeReplica(chunk, v);
      deletions.enqueueEach(victims, chunk.id);
      log.info({ chunk: chunk.id, removed: victims, kept: health.counted(chunk) }, 'over-replicated chunk trimmed');
    }
  }

  /** Once a chunk with a corrupt replica is fully replicated again, the corrupt copy goes. */
  private settleCorrupt(): void {
    const { chunks, corrupt, health, deletions } = this.deps;
    for (const id of corrupt.chunkIds()) {
      const chunk = chunks.get(id);
      if (!chunk) {
        corrupt.clear(id);
        continue;
      }
      if (health.counted(chunk).length < this.wanted(chunk)) continue;
      const bad = [...corrupt.nodes(id)];
      for (const n of bad) chunks.removeReplica(chunk, n);
      deletions.enqueueEach(bad, id);
      corrupt.clear(id);
    }
  }

  /** Chunks on a draining node that other nodes do not yet hold enough copies of. */
  remainingOn(node: string): number {
    const { chunks, health } = this.deps;
    let remaining = 0;
    for (const id of chunks.onNode(node)) {
      const chunk = chunks.get(id);
      if (chunk && chunk.size > 0 && health.counted(chunk).length < this.wanted(chunk)) remaining++;
    }
    return remaining;
  }

  private updateDrains(): void {
    for (const node of this.deps.drains.draining()) {
      if (this.remainingOn(node) === 0) this.deps.drains.finish(node);
    }
  }
}
