import type { Logger } from '../common/logger';
import { unary } from '../rpc/call';
import { asDfsError, DfsError } from '../rpc/errors';
import { Balancer, type BalanceView } from './balancer';
import type { Chunk } from './chunk-map';
import { ChunkCopier, type CopyLimits } from './chunk-copier';
import { CorruptReplicas } from './corrupt-replicas';
import { DataNodeClients } from './datanode-clients';
import { Decommissions, type DrainState } from './decommission';
import { DeletionQueue } from './deletion-queue';
import { DirLeases } from './dir-leases';
import { type Caller, fileType, type Inode, isDir, isRegular, ROOT_INO, S_IFDIR, S_IFREG } from './inode';
import type { Effects } from './meta-state';
import type { MetaStore } from './metadata-store';
import { MAX_FILE_SIZE, type ReadDirPage, type SetAttrChanges } from './namespace';
import { isOwnerOrRoot, MAY_READ, MAY_WRITE, mayAccess } from './permissions';
import { type ClassPolicy, type PlacementCandidate, rankNodes } from './placement';
import { type EffectiveClass, resolveClass, validatePattern } from './class-rules';
import {
  classMeetable,
  DEFAULT_CLASS,
  defaultClass,
  makeClass,
  matchReplicas,
  placeForClass,
  placementState,
  type StorageClass,
} from './storage-class';
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

/** How a mutation changed one directory's entries (common.proto DirChange). */
export interface DirChangeView {
  dir: number;
  /** 0: the directory is new. */
  before: number;
  after: number;
  /** The caller's lease on the directory's names (dir-leases.ts); 0: none. */
  leaseMs: number;
}

/** What MakeNode, CreateFile and Link return: the inode, and the directories the call changed. */
export interface Made {
  inode: Inode;
  dirs: DirChangeView[];
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
  /** misplaced: replicas on nodes the storage class does not want (being moved); unmeetable: no node can fix that. */
  problem: 'missing' | 'corrupt' | 'under-replicated' | 'misplaced' | 'unmeetable';
  live: number;
  wanted: number;
}

export interface ClassView {
  name: string;
  replicas: string[];
  builtin: boolean;
  /** The live nodes can hold a whole chunk of it. */
  meetable: boolean;
  /** Regular files it applies to now. */
  files: number;
  misplacedChunks: number;
  unmeetableChunks: number;
  patterns: string[];
}

export interface ClassListView {
  classes: ClassView[];
  patterns: { pattern: string; className: string }[];
}

export interface ClassOfView {
  path: string;
  className: string;
  replicas: string[];
  /** own | pattern | directory | default */
  source: EffectiveClass['source'];
  /** The pattern or the directory's path it comes from. */
  from: string;
  /** The class set on the inode itself, if any. */
  own: string;
}

/** A writer that never commits stops protecting its chunk's older replicas after this long. */
const WRITE_LEASE_MS = 10 * 60_000;
const TRUNCATE_DEADLINE_MS = 10_000;
/** Longest a read waits for replicas right after a restart, before data nodes have re-registered. */
const SAFE_MODE_WAIT_MS = 8_000;
/** Safe mode lasts at least this long (bounded by the node timeout), so every replica can report. */
const SAFE_MODE_GRACE_MS = 3_000;
/** A storage class that cannot be met is logged at most this often (a large file would log every chunk). */
const UNMET_WARN_EVERY_MS = 30_000;

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
  /** The cluster default: `--replication` copies anywhere. */
  readonly defaultClass: StorageClass;
  readonly policy: ClassPolicy;
  private readonly unmetWarned = new Map<string, number>();
  /** Clients' short leases on directories' names (answers of "no such name" without a call). */
  private readonly leases = new DirLeases();

  constructor(
    readonly store: MetaStore,
    readonly settings: NameNodeSettings,
    private readonly log: Logger,
  ) {
    this.registry = new DataNodeRegistry(settings.nodeTimeoutMs, log);
    this.defaultClass = defaultClass(settings.replication);
    this.policy = {
      classOf: (chunk) => this.effectiveClass(chunk.ino).cls,
      labelsOf: (node) => this.registry.get(node)?.labels ?? [],
    };
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
      policy: this.policy,
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
        policy: this.policy,
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

  private get sweepIntervalMs(): number {
    return Math.max(100, Math.min(500, this.settings.nodeTimeoutMs / 3));
  }

  start(): void {
    this.deletions.start();
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.deletions.stop();
    this.clients.close();
  }

  /** The name node's clock tick: liveness, then (out of safe mode) re-replication, trimming and balancing. */
  private sweep(): void {
    if (this.registry.sweep(this.sweepIntervalMs).length > 0) this.replication.markDirty();
    this.leases.sweep();
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

  /**
   * Commits `rec`, which changes the entries of `dirs` (and makes directory
   * `created`), and says how: each one's change stamp just before and just
   * after, and the lease the caller gets on it. All are read around the
   * apply, which `commit` does before its first await, so no other mutation
   * comes in between.
   */
  private async commitEntries(
    rec: MetaRecord,
    caller: Caller,
    dirs: number[],
    created?: number,
  ): Promise<DirChangeView[]> {
    const before = dirs.map((d) => this.ns.stampOf(d));
    const committed = this.commit(rec);
    const client = caller.client ?? '';
    const changes = dirs.map((dir, i) => ({
      dir,
      before: before[i],
      after: this.ns.stampOf(dir),
      leaseMs: this.leases.grant(dir, client),
    }));
    if (created !== undefined) {
      changes.push({
        dir: created,
        before: 0,
        after: this.ns.stampOf(created),
        leaseMs: this.leases.grant(created, client),
      });
    }
    await committed;
    return changes;
  }

  /**
   * Runs `change`, which may add names to `dirs`, once no other client's
   * lease on them runs; it starts in the same turn as the last check, so no
   * lease is granted in between.
   */
  private async adding<T>(dirs: number[], caller: Caller, change: () => Promise<T>): Promise<T> {
    const done = await this.leases.adding(dirs, caller.client ?? '');
    try {
      return await change();
    } finally {
      done();
    }
  }

  /** A call that changed nothing in `dir` (e.g. a create of a name that exists). */
  private unchanged(dir: number): DirChangeView[] {
    const stamp = this.ns.stampOf(dir);
    return stamp === 0 ? [] : [{ dir, before: stamp, after: stamp, leaseMs: 0 }];
  }

  private async commit(rec: MetaRecord): Promise<Effects> {
    const effects = await this.store.mutate(rec);
    // Where a file's replicas belong may have changed: its class, or its name or directory.
    if (rec.op === 'setClass' || rec.op === 'classPattern' || rec.op === 'classCreate' || rec.op === 'rename') {
      this.replication.markDirty();
    }
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
  ): Promise<Made> {
    return this.adding([parent], caller, async () => {
      const plan = this.ns.planMknod(caller, parent, name, mode, rdev, target, exclusive, Date.now());
      if ('existing' in plan) return { inode: plan.existing, dirs: this.unchanged(parent) };
      const created = fileType(mode) === S_IFDIR ? plan.ino : undefined;
      const dirs = await this.commitEntries(plan, caller, [parent], created);
      return { inode: this.ns.get(plan.ino), dirs };
    });
  }

  /**
   * MakeNode of a regular file that is about to be written: chunk 0 is
   * prepared in the same call, its record appended right behind the create's.
   * A name that exists (a create without O_EXCL) comes back as MakeNode returns
   * it, with nothing prepared; so does a new file whose first chunk cannot be
   * placed now (the writer's own PrepareWrite then says why).
   */
  async createFile(
    caller: Caller,
    parent: number,
    name: string,
    mode: number,
    exclusive: boolean,
  ): Promise<Made & { chunk?: ChunkView }> {
    if (fileType(mode) !== S_IFREG) throw new DfsError('EINVAL', `${name}: CreateFile makes regular files`);
    return this.adding([parent], caller, async () => {
      const plan = this.ns.planMknod(caller, parent, name, mode, 0, '', exclusive, Date.now());
      if ('existing' in plan) return { inode: plan.existing, dirs: this.unchanged(parent) };
      const created = this.commitEntries(plan, caller, [parent]);
      const prepared = this.prepareWrite(caller, plan.ino, 0, []).catch((err: unknown) => {
        this.log.debug({ ino: plan.ino, err: asDfsError(err).message }, 'create: first chunk not prepared');
        return undefined;
      });
      const dirs = await created;
      const chunk = await prepared;
      return { inode: this.ns.get(plan.ino), chunk, dirs };
    });
  }

  async link(caller: Caller, ino: number, newParent: number, newName: string): Promise<Made> {
    return this.adding([newParent], caller, async () => {
      const rec = this.ns.planLink(caller, ino, newParent, newName, Date.now());
      const dirs = await this.commitEntries(rec, caller, [newParent]);
      return { inode: this.ns.get(ino), dirs };
    });
  }

  async unlink(caller: Caller, parent: number, name: string): Promise<DirChangeView[]> {
    return this.commitEntries(this.ns.planUnlink(caller, parent, name, Date.now()), caller, [parent]);
  }

  async removeDir(caller: Caller, parent: number, name: string): Promise<DirChangeView[]> {
    return this.commitEntries(this.ns.planRmdir(caller, parent, name, Date.now()), caller, [parent]);
  }

  async rename(
    caller: Caller,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
  ): Promise<DirChangeView[]> {
    return this.adding([newParent], caller, async () => {
      const rec = this.ns.planRename(caller, parent, name, newParent, newName, flags, Date.now());
      const dirs = parent === newParent ? [parent] : [parent, newParent];
      return rec ? this.commitEntries(rec, caller, dirs) : dirs.flatMap((d) => this.unchanged(d));
    });
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

  /**
   * The first `count` chunks of a file being opened, or nothing when it is no
   * regular file or the caller may neither read nor write it (the open itself
   * then fails on the client's access check, with the message it always had).
   */
  async chunksForOpen(
    caller: Caller,
    inode: Inode,
    count: number,
  ): Promise<{ inode: Inode; chunks: ChunkView[] } | undefined> {
    if (!isRegular(inode)) return undefined;
    try {
      return await this.getChunks(caller, inode.ino, 0, count);
    } catch (err) {
      if (err instanceof DfsError && (err.errno === 'EACCES' || err.errno === 'ENOENT')) return undefined;
      throw err;
    }
  }

  /** Nodes that may receive chunks: live and not being decommissioned. */
  private candidates(): PlacementCandidate[] {
    return this.registry.placementCandidates().filter((c) => !this.drains.isOut(c.id));
  }

  /**
   * Up to `count` more nodes for a chunk of inode `ino` that has `held`
   * replicas, honouring its storage class. A class the live nodes cannot meet
   * does not fail the write: the best available nodes are taken and it is
   * logged (fsck and status report the chunk until it can be moved).
   */
  private place(ino: number, held: readonly string[], count: number, exclude: ReadonlySet<string>): string[] {
    const { cls } = this.effectiveClass(ino);
    const ranked = rankNodes(this.candidates(), new Set([...exclude, ...held]), this.chunkSize);
    const placed = placeForClass(cls, held, ranked, this.policy.labelsOf, count);
    if (placed.unmet > 0 && cls.name !== DEFAULT_CLASS) {
      const last = this.unmetWarned.get(cls.name) ?? 0;
      if (Date.now() - last >= UNMET_WARN_EVERY_MS) {
        this.unmetWarned.set(cls.name, Date.now());
        this.log.warn(
          { ino, storageClass: cls.name, replicas: cls.replicas, unmet: placed.unmet, placed: placed.chosen },
          'storage class cannot be met by the live data nodes: chunk placed on the best available nodes',
        );
      }
    }
    this.registry.noteAssigned(placed.chosen);
    return placed.chosen;
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
    const wanted = this.effectiveClass(ino).cls.replicas.length;
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
        replicas = this.place(ino, [], wanted, exclude);
        if (replicas.length === 0) throw this.noRoom(`chunk ${index} of inode ${ino}`);
      }
      rec = { op: 'prepare', ino, index, chunkId: existing.id, version: existing.version + 1, replicas };
    } else {
      const replicas = this.place(ino, [], wanted, exclude);
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
    const replacement = this.place(ino, keep, 1, new Set([failedNode]));
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

  // ---- storage classes --------------------------------------------------

  /** The class that applies to an inode and where it comes from (class-rules.ts has the order). */
  effectiveClass(ino: number): EffectiveClass {
    return resolveClass(this.ns, this.store.state.classes, ino, this.defaultClass);
  }

  private get classRules() {
    return this.store.state.classes;
  }

  /** `dfs class create` (or with `replace`, redefine: the chunks of its files move in the background). */
  async createClass(name: string, replicas: string[], replace: boolean): Promise<ClassView> {
    if (name === DEFAULT_CLASS) {
      throw new DfsError('EINVAL', `'${DEFAULT_CLASS}' is the built-in class (--replication copies on any nodes)`);
    }
    const cls = makeClass(name, replicas);
    const exists = this.classRules.get(name) !== undefined;
    if (exists && !replace) throw new DfsError('EEXIST', `storage class '${name}' exists (modify it instead)`);
    if (!exists && replace) throw new DfsError('ENOENT', `no storage class '${name}' (see 'dfs class list')`);
    await this.commit({ op: 'classCreate', name, replicas: cls.replicas });
    this.log.info({ storageClass: name, replicas: cls.replicas, replace }, 'storage class defined');
    return this.listClasses().classes.find((c) => c.name === name)!;
  }

  /** `dfs class delete`: refused while a file, a directory or a pattern uses the class. */
  async deleteClass(name: string): Promise<void> {
    if (name === DEFAULT_CLASS) throw new DfsError('EINVAL', `the built-in class '${DEFAULT_CLASS}' cannot be deleted`);
    if (!this.classRules.get(name)) throw new DfsError('ENOENT', `no storage class '${name}' (see 'dfs class list')`);
    const users: number[] = [];
    for (const inode of this.ns.inodes.values()) if (inode.storageClass === name) users.push(inode.ino);
    const patterns = this.classRules.patternRules.filter((p) => p.className === name).map((p) => `'${p.pattern}'`);
    if (users.length > 0 || patterns.length > 0) {
      const parts: string[] = [];
      if (users.length > 0) {
        parts.push(`set on ${users.length} file(s) or directories (e.g. ${this.pathOf(users[0])})`);
      }
      if (patterns.length > 0) parts.push(`used by pattern ${patterns.join(', ')}`);
      throw new DfsError(
        'EBUSY',
        `storage class '${name}' is in use: ${parts.join('; ')}. ` +
          `Clear those first ('dfs class clear PATH', 'dfs class pattern GLOB --remove')`,
      );
    }
    await this.commit({ op: 'classDelete', name });
    this.log.info({ storageClass: name }, 'storage class deleted');
  }

  /** `dfs class pattern GLOB CLASS` (null: remove the pattern). */
  async setClassPattern(pattern: string, className: string | null): Promise<ClassListView> {
    validatePattern(pattern);
    if (className === null) {
      if (!this.classRules.patternRules.some((p) => p.pattern === pattern)) {
        throw new DfsError('ENOENT', `no pattern '${pattern}' (see 'dfs class list')`);
      }
    } else {
      this.classRules.requireKnown(className);
    }
    await this.commit({ op: 'classPattern', pattern, className });
    return this.listClasses();
  }

  /** `dfs class set PATH CLASS [-r]` / `dfs class clear PATH [-r]` (className null). Owner or root only. */
  async setClass(caller: Caller, path: string, className: string | null, recursive: boolean): Promise<ClassOfView> {
    const inode = this.ns.resolvePath(caller, path, true);
    if (!isOwnerOrRoot(inode, caller)) {
      throw new DfsError('EPERM', `${path}: only the owner or root may set its storage class`);
    }
    if (className !== null) this.classRules.requireKnown(className);
    if (recursive && !isDir(inode)) throw new DfsError('ENOTDIR', `${path}: -r needs a directory`);
    await this.commit({ op: 'setClass', ino: inode.ino, className, recursive });
    return this.classOf(caller, path);
  }

  /** `dfs class get PATH`: the effective class and where it comes from. */
  classOf(caller: Caller, path: string): ClassOfView {
    const inode = this.ns.resolvePath(caller, path, true);
    const e = this.effectiveClass(inode.ino);
    return {
      path,
      className: e.cls.name,
      replicas: e.cls.replicas,
      source: e.source,
      from: typeof e.from === 'number' ? this.pathOf(e.from) : (e.from ?? ''),
      own: inode.storageClass ?? '',
    };
  }

  /** A path naming `ino` (the first one for a hard-linked file), for messages and `class get`. */
  pathOf(ino: number): string {
    const parts: string[] = [];
    let cur = ino;
    for (let depth = 0; cur !== ROOT_INO && depth < 4096; depth++) {
      const inode = this.ns.inodes.get(cur);
      if (!inode) return `inode ${ino}`;
      const parent = isDir(inode) ? inode.parent : this.ns.locate(cur)?.parent;
      if (parent === undefined) return `inode ${ino}`;
      const name = [...(this.ns.inodes.get(parent)?.entries ?? [])].find(([, i]) => i === cur)?.[0];
      if (name === undefined) return `inode ${ino}`;
      parts.unshift(name);
      cur = parent;
    }
    return `/${parts.join('/')}`;
  }

  /** Every class (the built-in default first) with its use and health, and the pattern table. */
  listClasses(): ClassListView {
    const nodes = this.candidates().map((c) => c.id);
    const labelsOf = this.policy.labelsOf;
    const all = [
      this.defaultClass,
      ...[...this.classRules.classes.values()].sort((a, b) => a.name.localeCompare(b.name)),
    ];
    const views = new Map<string, ClassView>(
      all.map((c) => [
        c.name,
        {
          name: c.name,
          replicas: c.replicas,
          builtin: c.name === DEFAULT_CLASS,
          meetable: classMeetable(c, nodes, labelsOf),
          files: 0,
          misplacedChunks: 0,
          unmeetableChunks: 0,
          patterns: [],
        },
      ]),
    );
    const patterns = this.classRules.patternRules;
    for (const p of patterns) views.get(p.className)?.patterns.push(p.pattern);
    const classOfIno = new Map<number, StorageClass>();
    for (const inode of this.ns.inodes.values()) {
      if (!isRegular(inode)) continue;
      const cls = this.effectiveClass(inode.ino).cls;
      classOfIno.set(inode.ino, cls);
      const v = views.get(cls.name);
      if (v) v.files++;
    }
    const now = Date.now();
    for (const chunk of this.chunks.all()) {
      if (chunk.size === 0 || (this.writing.get(chunk.id) ?? 0) > now) continue;
      const cls = classOfIno.get(chunk.ino) ?? this.defaultClass;
      const state = placementState(cls, this.health.counted(chunk), nodes, labelsOf);
      const v = views.get(cls.name);
      if (v && state === 'misplaced') v.misplacedChunks++;
      if (v && state === 'unmeetable') v.unmeetableChunks++;
    }
    return { classes: [...views.values()], patterns };
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
      else if (this.health.counted(chunk).length < this.replication.wanted(chunk)) underReplicated++;
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
    const nodes = this.candidates().map((c) => c.id);
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
      const { cls } = this.effectiveClass(inode.ino);
      const wanted = cls.replicas.length;
      for (const chunk of this.chunks.ofFile(inode.ino)) {
        chunks++;
        if (chunk.size === 0) continue;
        const counted = this.health.counted(chunk);
        const live = counted.length;
        if (live >= wanted) {
          const state = placementState(cls, counted, nodes, this.policy.labelsOf);
          if (state === 'misplaced' || state === 'unmeetable') {
            const meeting = matchReplicas(cls, counted, this.policy.labelsOf).matched.size;
            problems.push({ path: p, chunkId: chunk.id, index: chunk.index, problem: state, live: meeting, wanted });
          }
          continue;
        }
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
