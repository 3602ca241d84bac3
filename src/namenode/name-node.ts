import type { Logger } from '../common/logger';
import { unary } from '../rpc/call';
import { DfsError } from '../rpc/errors';
import { Balancer, type BalanceView } from './balancer';
import type { Chunk } from './chunk-map';
import { ChunkCopier, type CopyLimits } from './chunk-copier';
import { CorruptReplicas } from './corrupt-replicas';
import { DataNodeClients } from './datanode-clients';
import { Decommissions, type DrainState } from './decommission';
import { DeletionQueue } from './deletion-queue';
import { type Caller, type Inode, isDir, isRegular } from './inode';
import type { Effects } from './meta-state';
import type { MetaStore } from './metadata-store';
import { MAX_FILE_SIZE, type ReadDirPage, type SetAttrChanges } from './namespace';
import { isOwnerOrRoot, MAY_READ, MAY_WRITE, mayAccess } from './permissions';
import { choosePlacement, type PlacementCandidate } from './placement';
import type { MetaRecord } from './records';
import { reconcileReport, type ReportedReplica } from './reconcile';
import { DataNodeRegistry, type Registration } from './registry';
import { ReplicaHealth } from './replica-health';
import { ReplicationMonitor } from './replication-monitor';
import { SafeMode } from './safe-mode';
import { events } from './events';

export interface NameNodeSettings {
  replication: number;
  nodeTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Limits on re-replication and balancing copies (DEFAULT_COPY_LIMITS when absent). */
  copy?: CopyLimits;
  /** Allowed spread of disk use across nodes (fraction); 0 = balance only when asked. Default 0.1. */
  balanceBand?: number;
  /** The name node's data dir, for state beyond the metadata (decommissions); none in unit tests. */
  dataDir?: string;
}

export const DEFAULT_COPY_LIMITS: CopyLimits = { streamsPerNode: 2, maxStreams: 8, bytesPerSecond: 0 };

export type NodeState = 'live' | 'dead' | DrainState;

export interface DecommissionView {
  id: string;
  state: NodeState;
  chunks: number;
  remaining: number;
}

export interface ReplicaRef {
  id: string;
  address: string;
}

export interface ChunkView {
  index: number;
  chunkId: string;
  version: number;
  size: number;
  replicas: ReplicaRef[];
}

export interface StatFsView {
  capacity: number;
  used: number;
  available: number;
  files: number;
  blockSize: number;
  maxName: number;
  chunkSize: number;
}

export interface CommittedChunkInput {
  index: number;
  chunkId: string;
  version: number;
  size: number;
  replicas: string[];
}

export interface FsckProblemView {
  path: string;
  chunkId: string;
  index: number;
  problem: 'missing' | 'corrupt' | 'under-replicated';
  live: number;
  wanted: number;
}

/** A writer that never commits stops protecting its chunk's older replicas after this long. */
const WRITE_LEASE_MS = 10 * 60_000;
const TRUNCATE_DEADLINE_MS = 10_000;
/** Longest a read waits for replicas right after a restart, before data nodes have re-registered. */
const SAFE_MODE_WAIT_MS = 8_000;
/** Safe mode lasts at least this long (bounded by the node timeout), so every replica can report. */
const SAFE_MODE_GRACE_MS = 3_000;

/**
 * The name node's domain operations: namespace calls (plan + durable apply),
 * chunk allocation and commit, the data node registry and its reports. The
 * gRPC service only translates messages to and from these methods.
 */
export class NameNode {
  readonly registry: DataNodeRegistry;
  readonly deletions: DeletionQueue;
  readonly drains: Decommissions;
  readonly corrupt = new CorruptReplicas();
  readonly health: ReplicaHealth;
  readonly copier: ChunkCopier;
  readonly replication: ReplicationMonitor;
  readonly balancer: Balancer;
  private readonly clients = new DataNodeClients();
  /** Chunks with a writer between PrepareWrite and CommitWrite, with their lease expiry. */
  private readonly writing = new Map<string, number>();
  private readonly safeMode: SafeMode;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly store: MetaStore,
    readonly settings: NameNodeSettings,
    private readonly log: Logger,
  ) {
    this.registry = new DataNodeRegistry(settings.nodeTimeoutMs, log);
    this.safeMode = new SafeMode(
      store.state.chunks.size > 0,
      settings.nodeTimeoutMs,
      Math.min(settings.nodeTimeoutMs, SAFE_MODE_GRACE_MS),
      log,
    );
    this.deletions = new DeletionQueue(
      this.registry,
      this.clients,
      (node, id) => this.isWantedReplica(node, id),
      log,
      500,
      () => this.inSafeMode(),
    );
    this.drains = new Decommissions(settings.dataDir, log);
    this.health = new ReplicaHealth(this.registry, this.drains, this.corrupt);
    this.copier = new ChunkCopier(settings.copy ?? DEFAULT_COPY_LIMITS, this.registry, this.clients, log);
    const isBeingWritten = (id: string): boolean => (this.writing.get(id) ?? 0) > Date.now();
    this.replication = new ReplicationMonitor({
      chunks: this.chunks,
      registry: this.registry,
      health: this.health,
      corrupt: this.corrupt,
      drains: this.drains,
      copier: this.copier,
      deletions: this.deletions,
      wanted: settings.replication,
      chunkSize: this.chunkSize,
      candidates: () => this.candidates(),
      isBeingWritten,
      log,
    });
    this.copier.onSlotFree = () => {
      if (this.inSafeMode()) return;
      this.replication.pump();
      this.balancer.tick(!this.replication.idle);
    };
    const band = settings.balanceBand ?? 0.1;
    this.balancer = new Balancer(
      {
        chunks: this.chunks,
        registry: this.registry,
        drains: this.drains,
        health: this.health,
        copier: this.copier,
        deletions: this.deletions,
        wanted: settings.replication,
        isBeingWritten,
        onCopied: (chunkId, node) => this.replication.noteCopy(chunkId, node),
        log,
      },
      band > 0 ? band : 0.1,
      band > 0,
    );
  }

  private get ns() {
    return this.store.state.namespace;
  }

  private get chunks() {
    return this.store.state.chunks;
  }

  get chunkSize(): number {
    return this.store.state.chunkSize;
  }

  start(): void {
    this.deletions.start();
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(100, Math.min(500, this.settings.nodeTimeoutMs / 3)));
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.deletions.stop();
    this.clients.close();
  }

  /** The name node's clock tick: liveness, then (out of safe mode) re-replication, trimming and balancing. */
  private sweep(): void {
    if (this.registry.sweep().length > 0) this.replication.markDirty();
    const now = Date.now();
    for (const [id, expires] of this.writing) {
      if (expires < now) {
        this.writing.delete(id);
        this.replication.markDirty();
      }
    }
    if (this.inSafeMode()) return;
    this.replication.tick();
    this.balancer.tick(!this.replication.idle);
  }

  private async commit(rec: MetaRecord): Promise<Effects> {
    const effects = await this.store.mutate(rec);
    for (const chunk of effects.freed) this.deleteReplicas(chunk.id, chunk.replicas);
    if (effects.dropped) {
      this.deleteReplicas(effects.dropped.chunkId, effects.dropped.nodes);
      this.replication.markDirty();
    }
    return effects;
  }

  private deleteReplicas(chunkId: string, nodes: Iterable<string>): void {
    for (const node of nodes) this.deletions.enqueue(node, [chunkId]);
  }

  /** A queued deletion is cancelled when the node holds the chunk's current version again. */
  private isWantedReplica(node: string, chunkId: string): boolean {
    return this.chunks.get(chunkId)?.replicas.has(node) ?? false;
  }

  // ---- namespace ------------------------------------------------------

  lookup(caller: Caller, parent: number, name: string): Inode {
    return this.ns.lookup(caller, parent, name);
  }

  getAttr(ino: number): Inode {
    return this.ns.get(ino);
  }

  resolvePath(caller: Caller, path: string, follow: boolean): Inode {
    return this.ns.resolvePath(caller, path, follow);
  }

  async makeNode(
    caller: Caller,
    parent: number,
    name: string,
    mode: number,
    rdev: number,
    target: string,
    exclusive: boolean,
  ): Promise<Inode> {
    const plan = this.ns.planMknod(caller, parent, name, mode, rdev, target, exclusive, Date.now());
    if ('existing' in plan) return plan.existing;
    await this.commit(plan);
    return this.ns.get(plan.ino);
  }

  async link(caller: Caller, ino: number, newParent: number, newName: string): Promise<Inode> {
    await this.commit(this.ns.planLink(caller, ino, newParent, newName, Date.now()));
    return this.ns.get(ino);
  }

  async unlink(caller: Caller, parent: number, name: string): Promise<void> {
    await this.commit(this.ns.planUnlink(caller, parent, name, Date.now()));
  }

  async removeDir(caller: Caller, parent: number, name: string): Promise<void> {
    await this.commit(this.ns.planRmdir(caller, parent, name, Date.now()));
  }

  async rename(caller: Caller, parent: number, name: string, newParent: number, newName: string, flags: number) {
    const rec = this.ns.planRename(caller, parent, name, newParent, newName, flags, Date.now());
    if (rec) await this.commit(rec);
  }

  async setAttr(caller: Caller, ino: number, changes: SetAttrChanges): Promise<Inode> {
    const effects = await this.commit(this.ns.planSetAttr(caller, ino, changes, Date.now()));
    if (effects.truncated) await this.truncateReplicas(effects.truncated.chunk, effects.truncated.oldVersion);
    return this.ns.get(ino);
  }

  /**
   * The chunk at the new end of file was cut (new version and size are already
   * journaled): cut its replicas too. A replica that fails leaves the replica
   * set and is deleted; re-replication restores the count.
   */
  private async truncateReplicas(chunk: Chunk, oldVersion: number): Promise<void> {
    const failed: string[] = [];
    await Promise.all(
      [...chunk.replicas].map(async (node) => {
        const dn = this.registry.get(node);
        if (!dn || !this.registry.isLive(node)) return; // stale by version: reconciled when it reports
        try {
          const client = this.clients.get(dn.address);
          await unary(
            client,
            client.TruncateChunk,
            { chunkId: chunk.id, version: oldVersion, newVersion: chunk.version, size: chunk.size },
            { deadlineMs: TRUNCATE_DEADLINE_MS, peer: `data node ${node}` },
          );
        } catch (err) {
          this.log.warn({ node, chunk: chunk.id, err }, 'TruncateChunk failed; dropping the replica');
          failed.push(node);
        }
      }),
    );
    if (failed.length > 0 && this.chunks.get(chunk.id)) {
      await this.commit({ op: 'dropReplicas', chunkId: chunk.id, nodes: failed });
    }
  }

  readDir(caller: Caller, ino: number, after: string, limit: number): ReadDirPage {
    return this.ns.readDir(caller, ino, after, Math.min(Math.max(limit || 1000, 1), 10_000));
  }

  readLink(ino: number): string {
    return this.ns.readLink(ino);
  }

  async setXattr(caller: Caller, ino: number, name: string, value: Buffer, flags: number): Promise<void> {
    await this.commit(this.ns.planSetXattr(caller, ino, name, value, flags, Date.now()));
  }

  getXattr(caller: Caller, ino: number, name: string): Buffer {
    return this.ns.getXattr(caller, ino, name);
  }

  listXattr(caller: Caller, ino: number): string[] {
    return this.ns.listXattr(caller, ino);
  }

  async removeXattr(caller: Caller, ino: number, name: string): Promise<void> {
    await this.commit(this.ns.planRemoveXattr(caller, ino, name, Date.now()));
  }

  async initialize(caller: Caller): Promise<StatFsView> {
    const effects = await this.commit(this.ns.planInitialize(caller, Date.now()));
    this.log.warn({ uid: caller.uid, chunksFreed: effects.freed.length }, 'file system initialized');
    events.record('initialized', `file system initialized by uid ${caller.uid} (${effects.freed.length} chunks freed)`);
    return this.statFs();
  }

  statFs(): StatFsView {
    let capacity = 0;
    let used = 0;
    for (const n of this.registry.live()) {
      capacity += n.capacity;
      used += n.used;
    }
    return {
      capacity,
      used,
      available: Math.max(0, capacity - used),
      files: this.ns.fileCount,
      blockSize: 4096,
      maxName: 255,
      chunkSize: this.chunkSize,
    };
  }

  // ---- data path ------------------------------------------------------

  private writableFile(caller: Caller, ino: number, what: string): Inode {
    const inode = this.ns.get(ino);
    if (isDir(inode)) throw new DfsError('EISDIR', `inode ${ino} is a directory (${what})`);
    if (!isRegular(inode)) throw new DfsError('EINVAL', `inode ${ino} is not a regular file (${what})`);
    // Open-time checks are the mount's; here the owner (who may have created it read-only) or a writer.
    if (!isOwnerOrRoot(inode, caller) && !mayAccess(inode, caller, MAY_WRITE)) {
      throw new DfsError('EACCES', `no write permission on inode ${ino} (${what})`);
    }
    return inode;
  }

  /** Replicas a reader or writer may use: live and not known corrupt (unless all are); draining nodes last. */
  private liveReplicas(chunk: Chunk): ReplicaRef[] {
    const ids = this.health.readable(chunk);
    ids.sort((a, b) => Number(this.drains.isOut(a)) - Number(this.drains.isOut(b)));
    return ids.map((id) => ({ id, address: this.registry.get(id)?.address ?? '' }));
  }

  private view(chunk: Chunk, replicas: ReplicaRef[]): ChunkView {
    return { index: chunk.index, chunkId: chunk.id, version: chunk.version, size: chunk.size, replicas };
  }

  private refs(ids: readonly string[]): ReplicaRef[] {
    return ids.map((id) => ({ id, address: this.registry.get(id)?.address ?? '' }));
  }

  /**
   * Right after a restart the data nodes have not re-registered yet: wait
   * (bounded) for a replica of a chunk that has data instead of answering "none".
   */
  private async awaitReplicas(chunk: Chunk): Promise<ReplicaRef[]> {
    let live = this.liveReplicas(chunk);
    const deadline = Date.now() + SAFE_MODE_WAIT_MS;
    while (live.length === 0 && chunk.size > 0 && this.inSafeMode() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      live = this.liveReplicas(chunk);
    }
    return live;
  }

  /** Safe mode (safe-mode.ts): after a restart, until every chunk with data has a live replica or `nodeTimeout` passes. */
  inSafeMode(): boolean {
    return this.safeMode.active(() => this.countProblems().missing);
  }

  async getChunks(
    caller: Caller,
    ino: number,
    first: number,
    count: number,
  ): Promise<{ inode: Inode; chunks: ChunkView[] }> {
    const inode = this.ns.get(ino);
    if (isDir(inode)) throw new DfsError('EISDIR', `inode ${ino} is a directory (get chunks)`);
    if (!isOwnerOrRoot(inode, caller) && !mayAccess(inode, caller, MAY_READ) && !mayAccess(inode, caller, MAY_WRITE)) {
      throw new DfsError('EACCES', `no read permission on inode ${ino}`);
    }
    const end = count > 0 ? first + count : Infinity;
    const views: ChunkView[] = [];
    for (const chunk of this.chunks.ofFile(ino)) {
      if (chunk.index < first || chunk.index >= end) continue;
      const live = await this.awaitReplicas(chunk);
      // Rotate so readers of consecutive chunks spread over the replicas.
      const k = live.length > 0 ? chunk.index % live.length : 0;
      views.push(this.view(chunk, [...live.slice(k), ...live.slice(0, k)]));
    }
    return { inode: this.ns.get(ino), chunks: views };
  }

  /** Nodes that may receive chunks: live and not being decommissioned. */
  private candidates(): PlacementCandidate[] {
    return this.registry.placementCandidates().filter((c) => !this.drains.isOut(c.id));
  }

  private place(count: number, exclude: ReadonlySet<string>): string[] {
    const chosen = choosePlacement(this.candidates(), count, exclude, this.chunkSize);
    this.registry.noteAssigned(chosen);
    return chosen;
  }

  private noRoom(what: string): DfsError {
    const all = this.registry.all().length;
    const live = this.registry.live().length;
    return new DfsError('ENOSPC', `no live data node with room for a chunk (${live} live of ${all} known; ${what})`);
  }

  async prepareWrite(caller: Caller, ino: number, index: number, excludeNodes: string[]): Promise<ChunkView> {
    this.writableFile(caller, ino, 'prepare write');
    if (!Number.isSafeInteger(index) || index < 0) throw new DfsError('EINVAL', `bad chunk index ${index}`);
    if (index * this.chunkSize >= MAX_FILE_SIZE)
      throw new DfsError('EFBIG', `chunk index ${index} beyond the largest file`);
    const exclude = new Set(excludeNodes);
    const existing = this.chunks.at(ino, index);
    const wanted = this.settings.replication;
    let rec: MetaRecord & { op: 'prepare' };
    if (existing) {
      let replicas = (await this.awaitReplicas(existing)).map((r) => r.id).filter((id) => !exclude.has(id));
      if (replicas.length === 0) {
        if (existing.size > 0) {
          throw new DfsError(
            'EIO',
            `chunk ${existing.id} (index ${index} of inode ${ino}) has no live replica: its data is unavailable`,
          );
        }
        replicas = this.place(wanted, exclude);
        if (replicas.length === 0) throw this.noRoom(`chunk ${index} of inode ${ino}`);
      }
      rec = { op: 'prepare', ino, index, chunkId: existing.id, version: existing.version + 1, replicas };
    } else {
      const replicas = this.place(wanted, exclude);
      if (replicas.length === 0) throw this.noRoom(`chunk ${index} of inode ${ino}`);
      if (replicas.length < wanted) {
        this.log.warn({ ino, index, got: replicas.length, wanted }, 'not enough data nodes: chunk under-replicated');
      }
      rec = { op: 'prepare', ino, index, chunkId: String(this.chunks.nextChunkId), version: 1, replicas };
    }
    await this.commit(rec);
    this.writing.set(rec.chunkId, Date.now() + WRITE_LEASE_MS);
    const chunk = this.chunks.get(rec.chunkId)!;
    return this.view(chunk, this.refs(rec.replicas));
  }

  async replacePipelineNode(
    caller: Caller,
    ino: number,
    index: number,
    chunkId: string,
    failedNode: string,
    survivors: string[],
  ): Promise<{ chunk: ChunkView; replacement?: ReplicaRef }> {
    this.writableFile(caller, ino, 'replace pipeline node');
    const chunk = this.chunks.get(chunkId);
    if (!chunk || chunk.ino !== ino || chunk.index !== index) {
      throw new DfsError('ESTALE', `chunk ${chunkId} is not chunk ${index} of inode ${ino} (removed or truncated?)`);
    }
    const keep = survivors.filter((id) => id !== failedNode && this.registry.get(id));
    const replacement = this.place(1, new Set([...keep, failedNode]));
    const replicas = [...keep, ...replacement];
    await this.commit({ op: 'replace', chunkId, version: chunk.version + 1, replicas });
    this.writing.set(chunkId, Date.now() + WRITE_LEASE_MS);
    this.deletions.enqueue(failedNode, [chunkId]);
    this.log.info({ chunk: chunkId, failedNode, replacement: replacement[0] ?? null }, 'pipeline node replaced');
    events.record(
      'pipeline-node-replaced',
      `chunk ${chunkId}: write pipeline lost ${failedNode}, replaced by ${replacement[0] ?? 'none'}`,
      { node: failedNode, chunk: chunkId },
    );
    return {
      chunk: this.view(chunk, this.refs(replicas)),
      replacement: replacement.length > 0 ? this.refs(replacement)[0] : undefined,
    };
  }

  async commitWrite(
    caller: Caller,
    ino: number,
    committed: CommittedChunkInput[],
    minSize: number,
    mtimeMs: number,
  ): Promise<Inode> {
    this.writableFile(caller, ino, 'commit write');
    if (!Number.isSafeInteger(minSize) || minSize < 0 || minSize > MAX_FILE_SIZE) {
      throw new DfsError('EINVAL', `bad file size ${minSize} (commit inode ${ino})`);
    }
    const stale: { chunkId: string; nodes: string[] }[] = [];
    for (const c of committed) {
      const chunk = this.chunks.get(c.chunkId);
      if (!chunk || chunk.ino !== ino || chunk.index !== c.index) {
        throw new DfsError(
          'ESTALE',
          `chunk ${c.chunkId} is not chunk ${c.index} of inode ${ino} (removed or truncated?)`,
        );
      }
      if (c.version < chunk.version) {
        throw new DfsError('ESTALE', `chunk ${c.chunkId} version ${c.version} is older than ${chunk.version}`);
      }
      if (c.version > chunk.version) throw new DfsError('EINVAL', `chunk ${c.chunkId} version ${c.version} unknown`);
      if (c.size > this.chunkSize) throw new DfsError('EINVAL', `chunk ${c.chunkId} size ${c.size} > chunk size`);
      const gone = [...chunk.replicas].filter((n) => !c.replicas.includes(n));
      if (c.replicas.length > 0 && gone.length > 0) stale.push({ chunkId: c.chunkId, nodes: gone });
    }
    const now = Date.now();
    await this.commit({
      op: 'commit',
      ino,
      chunks: committed.map((c) => ({ ...c, replicas: c.replicas.filter((id) => this.registry.get(id)) })),
      minSize,
      mtimeMs: mtimeMs > 0 ? mtimeMs : now,
      now,
    });
    for (const c of committed) this.writing.delete(c.chunkId);
    for (const s of stale) this.deleteReplicas(s.chunkId, s.nodes);
    // A writer that lost a pipeline node without a replacement leaves chunks for re-replication.
    this.replication.markDirty();
    return this.ns.get(ino);
  }

  /**
   * A reader found a replica failing its checksum: it stops counting at once
   * (re-replication makes a new copy from a good one) and is dropped and
   * deleted, unless it is the last copy there is.
   */
  async reportBadReplica(chunkId: string, version: number, node: string, reason: string): Promise<void> {
    const chunk = this.chunks.get(chunkId);
    if (!chunk || chunk.version !== version || !chunk.replicas.has(node)) {
      this.log.info({ chunk: chunkId, version, node, reason }, 'bad replica report for a replica not current; ignored');
      return;
    }
    await this.replaceCorrupt(chunk, node, reason);
  }

  private async replaceCorrupt(chunk: Chunk, node: string, reason: string): Promise<void> {
    const known = this.corrupt.has(chunk.id, node);
    this.corrupt.add(chunk.id, node);
    this.replication.markDirty();
    if (this.health.sources(chunk).length === 0) {
      if (!known) this.log.error({ chunk: chunk.id, node, reason }, 'the only replica is corrupt; keeping it');
      return;
    }
    if (!known) this.log.warn({ chunk: chunk.id, node, reason }, 'corrupt replica dropped; copying a good one');
    if (!known)
      events.record('replica-bad', `chunk ${chunk.id} on ${node} is corrupt (${reason})`, { node, chunk: chunk.id });
    if (chunk.replicas.has(node)) await this.commit({ op: 'dropReplicas', chunkId: chunk.id, nodes: [node] });
    else this.deletions.enqueue(node, [chunk.id]);
  }

  // ---- data nodes -----------------------------------------------------

  register(reg: Registration, report: ReportedReplica[]): { clusterId: string; heartbeatIntervalMs: number } {
    this.registry.register(reg);
    this.applyReport(reg.id, report);
    if (this.drains.isOut(reg.id)) this.log.info({ node: reg.id, state: this.drains.state(reg.id) }, 'draining node');
    return { clusterId: this.store.clusterId, heartbeatIntervalMs: this.settings.heartbeatIntervalMs };
  }

  heartbeat(id: string, used: number, capacity: number, activeStreams: number): boolean {
    return this.registry.heartbeat(id, used, capacity, activeStreams);
  }

  async chunkReport(id: string, report: ReportedReplica[], badChunks: string[]): Promise<void> {
    if (!this.registry.get(id)) throw new DfsError('ENOENT', `unknown data node '${id}': register first`);
    this.applyReport(id, report);
    // The data node leaves its corrupt chunks out of the report and lists them here (scrubber, failed reads).
    for (const chunkId of badChunks) {
      const chunk = this.chunks.get(chunkId);
      if (chunk) await this.replaceCorrupt(chunk, id, 'the data node found a checksum error');
      else this.deletions.enqueue(id, [chunkId]);
    }
  }

  private applyReport(id: string, report: ReportedReplica[]): void {
    const now = Date.now();
    const result = reconcileReport(
      this.chunks,
      id,
      report,
      (c) => (this.writing.get(c) ?? 0) > now,
      (c, node) => this.replication.recentlyCopied(c, node),
    );
    this.replication.markDirty();
    const node = this.registry.get(id);
    if (node) node.chunkCount = result.valid;
    if (result.toDelete.length > 0) {
      this.log.info({ node: id, stale: result.toDelete.length }, 'report: unknown or stale replicas to delete');
      this.deletions.enqueue(id, result.toDelete);
    }
  }

  // ---- cluster --------------------------------------------------------

  /**
   * Chunks with data and fewer counted replicas than wanted (missing: none to
   * read at all; corrupt: a replica failed its checksum and is not replaced
   * yet). Chunks being written are skipped.
   */
  countProblems(): { underReplicated: number; missing: number; corrupt: number } {
    let underReplicated = 0;
    let missing = 0;
    const now = Date.now();
    for (const chunk of this.chunks.all()) {
      if (chunk.size === 0 || (this.writing.get(chunk.id) ?? 0) > now) continue;
      if (this.health.readable(chunk).length === 0) missing++;
      else if (this.health.counted(chunk).length < this.settings.replication) underReplicated++;
    }
    return { underReplicated, missing, corrupt: this.corrupt.size };
  }

  nodeState(id: string): NodeState {
    return this.drains.state(id) ?? (this.registry.isLive(id) ? 'live' : 'dead');
  }

  /** Starts (or with `cancel` stops) draining nodes; with no ids lists the drains. */
  decommission(ids: string[], cancel: boolean): DecommissionView[] {
    for (const id of ids) {
      if (!this.registry.get(id) && !this.drains.state(id)) {
        throw new DfsError('ENOENT', `no data node '${id}' (see 'dfs status')`);
      }
    }
    for (const id of ids) {
      if (cancel) this.drains.cancel(id);
      else this.drains.start(id);
    }
    if (ids.length > 0) this.replication.markDirty();
    const shown = new Set([...this.drains.all().map(([id]) => id), ...ids]);
    return [...shown].map((id) => ({
      id,
      state: this.nodeState(id),
      chunks: this.chunks.onNode(id).size,
      remaining: this.drains.state(id) === 'decommissioning' ? this.replication.remainingOn(id) : 0,
    }));
  }

  /** `dfs balance`: with `start`, run the balancer until balanced (band in fraction, 0 = keep); reports progress. */
  balance(start: boolean, band: number): BalanceView {
    if (start) this.balancer.request(band > 0 ? band : undefined);
    return this.balancer.status();
  }

  fsck(caller: Caller, path: string): { problems: FsckProblemView[]; files: number; chunks: number } {
    const root = this.ns.resolvePath(caller, path || '/', true);
    const problems: FsckProblemView[] = [];
    const seen = new Set<number>();
    let files = 0;
    let chunks = 0;
    const wanted = this.settings.replication;
    const visit = (inode: Inode, p: string): void => {
      if (seen.has(inode.ino)) return;
      seen.add(inode.ino);
      if (isDir(inode)) {
        for (const [name, ino] of inode.entries ?? []) {
          const child = this.ns.inodes.get(ino);
          if (child) visit(child, p === '/' ? `/${name}` : `${p}/${name}`);
        }
        return;
      }
      if (!isRegular(inode)) return;
      files++;
      for (const chunk of this.chunks.ofFile(inode.ino)) {
        chunks++;
        if (chunk.size === 0) continue;
        const live = this.health.counted(chunk).length;
        if (live >= wanted) continue;
        const readable = this.health.readable(chunk).length > 0;
        const corrupt = this.health.isCorrupt(chunk);
        problems.push({
          path: p,
          chunkId: chunk.id,
          index: chunk.index,
          problem: corrupt ? 'corrupt' : readable ? 'under-replicated' : 'missing',
          live,
          wanted,
        });
      }
    };
    visit(root, path || '/');
    return { problems, files, chunks };
  }
}
