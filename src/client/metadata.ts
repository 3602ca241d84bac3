import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { nameNodeService } from '../rpc/load';
import { CHANNEL_OPTIONS, requestIdInMessage } from '../rpc/call';
import { currentRequestId, newRequestId } from '../common/logger';
import { SessionClient } from '../rpc/session';
import { DfsError } from '../rpc/errors';
import type { NameNodeClient } from '../rpc/gen/dfs/NameNode';
import type { Attr__Output } from '../rpc/gen/dfs/Attr';
import type { SetAttrRequest } from '../rpc/gen/dfs/SetAttrRequest';
import type { ClusterStatusReply__Output } from '../rpc/gen/dfs/ClusterStatusReply';
import type { FsckReply__Output } from '../rpc/gen/dfs/FsckReply';
import type { StatFsReply__Output } from '../rpc/gen/dfs/StatFsReply';
import type { ReplaceNodeReply__Output } from '../rpc/gen/dfs/ReplaceNodeReply';
import type { CommittedChunk } from '../rpc/gen/dfs/CommittedChunk';
import { MetadataCache, type InodeRef } from './metadata-cache';
import { KnownDirs, type DirChange, type NameEdit } from './known-dirs';
import type { DirChange__Output } from '../rpc/gen/dfs/DirChange';
import { joinPath, normalizePath, parentAndName, splitPath } from './paths';
import { isDir, isSymlink, S_IFDIR, toChunkLocation, toFileAttr, wireCaller, type ChunkLocation } from './attrs';
import { checkAccess, X_OK } from './permissions';
import type { Caller, DirEntry, FileAttr, SetAttrChanges, StatFs } from './types';

export const ROOT_INO = 1;
const ROOT: InodeRef = { ino: ROOT_INO, mode: S_IFDIR | 0o755 };
const MAX_SYMLINK_HOPS = 40;
const READDIR_PAGE = 1000;
/** Lookup misses in one directory within SCAN_WINDOW_MS that make a scan worth a listing. */
const SCAN_MISSES = 8;
const SCAN_WINDOW_MS = 1_000;
/** A scan lists at most this many pages of a directory. */
const SCAN_PAGES = 20;
/** renameat2's RENAME_EXCHANGE: both names stay. */
const RENAME_EXCHANGE = 2;

function toDirChanges(wire: readonly DirChange__Output[] | undefined): DirChange[] {
  return (wire ?? []).map((c) => ({
    dir: Number(c.dir),
    before: Number(c.before),
    after: Number(c.after),
    leaseMs: c.leaseMs,
  }));
}

export function toStatFs(r: StatFsReply__Output): StatFs {
  return {
    capacity: Number(r.capacity),
    used: Number(r.used),
    available: Number(r.available),
    files: Number(r.files),
    blockSize: r.blockSize,
    maxName: r.maxName,
    chunkSize: Number(r.chunkSize),
  };
}

/**
 * Filled by a fresh resolve that looked the final name up with LookupFile:
 * the first `count` chunk locations of the file it found (inode `ino`).
 */
export interface Located {
  count: number;
  ino?: number;
  chunks?: ChunkLocation[];
}

interface WalkOptions {
  follow?: boolean;
  /** Skip the caches for the last component (open's close-to-open revalidation). */
  fresh?: boolean;
  /** With `fresh`: also fetch the file's first chunk locations in the same call. */
  located?: Located;
}

/**
 * The name node client: path resolution over inode Lookups (from the root,
 * following symlinks in the middle of a path), short-lived entry and attr
 * caches kept honest by this client's own mutations, and one deadline budget
 * per call so a dead name node fails in bounded time (ETIMEDOUT/EIO) and
 * works again as soon as it is back.
 */
export class MetadataClient {
  readonly rpc: NameNodeClient;
  readonly cache: MetadataCache;
  /** Directories whose every name this client knows: lookups of other names need no call. */
  private readonly known: KnownDirs;
  /** This client instance, as the name node's directory leases know it. */
  private readonly id = randomBytes(8).toString('hex');
  /** Recent lookup misses per directory inode (see lookup). */
  private readonly misses = new Map<number, { count: number; since: number }>();
  /** The name node has no CreateFile (an older one): creates use MakeNode. */
  private noCreateFile = false;
  /** The name node has no LookupFile (an older one): opens use Lookup. */
  private noLookupFile = false;
  /** Listings in flight per directory inode, started by a run of misses. */
  private readonly listings = new Map<number, Promise<void>>();
  /** Every call rides this one stream (src/rpc/session.ts): a quarter of a unary call's cost. */
  private readonly session: SessionClient;
  private chunkSizeKnown?: number;

  constructor(
    readonly address: string,
    private readonly timeoutMs: number,
    attrCacheMs: number,
    private readonly log: Logger,
    channel: { credentials: grpc.ChannelCredentials; interceptors: grpc.Interceptor[] } = {
      credentials: grpc.credentials.createInsecure(),
      interceptors: [],
    },
  ) {
    const NameNode = nameNodeService().NameNode;
    this.rpc = new NameNode(address, channel.credentials, { ...CHANNEL_OPTIONS, interceptors: channel.interceptors });
    this.session = new SessionClient(() => this.rpc.Session(), NameNode.service, `name node ${address}`);
    this.cache = new MetadataCache(attrCacheMs);
    this.known = new KnownDirs(attrCacheMs > 0);
  }

  close(): void {
    this.session.close();
    this.rpc.close();
  }

  /**
   * One name node call within the metadata budget. Idempotent calls are
   * retried while the name node is unreachable (e.g. restarting) until the
   * budget runs out; others are sent once.
   */
  async call<Req, Res>(what: string, request: Req, idempotent: boolean): Promise<Res> {
    const deadline = Date.now() + this.timeoutMs;
    // Retries are the same request: one id for every attempt.
    const requestId = requestIdInMessage(request) ?? currentRequestId() ?? newRequestId();
    let backoff = 50;
    for (;;) {
      const remaining = deadline - Date.now();
      try {
        return await this.session.call<Res>(what, request, { deadlineMs: Math.max(remaining, 1), requestId });
      } catch (err) {
        const e = err as DfsError;
        const unreachable = e.errno === 'EIO' && e.message.includes('unreachable');
        if (!idempotent || !unreachable || Date.now() + backoff >= deadline) {
          // The caller reports it (the mount as an errno, the CLI on stderr): only a trace here.
          if (unreachable || e.errno === 'ETIMEDOUT') this.log.debug({ what, err: e.message }, 'name node call failed');
          throw e;
        }
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 1_000);
      }
    }
  }

  /** The caller of a namespace mutation: with this client's id, whose lease a reply may grant. */
  private mutator(caller: Caller): ReturnType<typeof wireCaller> {
    return { ...wireCaller(caller), client: this.id };
  }

  /**
   * A call that changes the entries of `dirs`: when it fails, whether it took
   * effect is unknown, so what this client knew of their names is dropped.
   */
  private async mutation<T>(dirs: number[], send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      this.known.forget(...dirs);
      throw err;
    }
  }

  // ---- path resolution ----------------------------------------------------

  async getAttr(ino: number, caller: Caller, fresh = false): Promise<FileAttr> {
    const cached = fresh ? undefined : this.cache.attr(ino);
    if (cached) return cached;
    const a = await this.call<object, Attr__Output>('GetAttr', { caller: wireCaller(caller), ino: String(ino) }, true);
    const attr = toFileAttr(a);
    this.cache.putAttr(attr);
    return attr;
  }

  /**
   * One name in a directory. A run of cache misses in one directory (a stat,
   * rename or delete of every file in it: `ls -l`, `rm -r`, `cp -r`, builds)
   * lists the directory once in the background, 1,000 entries with their
   * attributes per call, and the lookups after it are answered from the
   * cache: what READDIRPLUS does for NFS. `fresh` (open's revalidation) never
   * takes an answer from a listing that may have started before it.
   */
  async lookup(
    parent: InodeRef,
    parentPath: string,
    name: string,
    caller: Caller,
    fresh = false,
    located?: Located,
  ): Promise<FileAttr> {
    const path = joinPath(parentPath, name);
    if (!fresh && this.known.absent(parent.ino, name)) {
      // The name node checks search permission on every Lookup, a miss included.
      await this.checkSearch(parent, parentPath, caller);
      throw new DfsError('ENOENT', `${path} (not in the listing of inode ${parent.ino})`);
    }
    if (!fresh && this.cache.enabled) {
      const listing = this.listings.get(parent.ino);
      if (listing) {
        await listing;
        const hit = this.cache.entryAttr(path);
        if (hit) {
          // The name node checks search permission on every Lookup; an answer from the cache must too.
          await this.checkSearch(parent, parentPath, caller);
          return hit;
        }
      }
    }
    try {
      const a =
        located && !this.noLookupFile
          ? await this.lookupFile(parent, name, caller, located)
          : await this.call<object, Attr__Output>(
              'Lookup',
              { caller: wireCaller(caller), parent: String(parent.ino), name },
              true,
            );
      const attr = toFileAttr(a);
      this.cache.putEntry(path, attr);
      this.known.found(parent.ino, name);
      // Only names that exist count towards a scan: a listing cannot answer the others. Nor can it
      // answer a fresh lookup (every open of `cp -r` out): counting those listed a directory of
      // N files N/8 times.
      if (this.cache.enabled && !fresh) this.noteMiss(parent, parentPath, caller);
      return attr;
    } catch (err) {
      const e = err as DfsError;
      if (e.errno === 'ENOENT') throw new DfsError('ENOENT', `${path} (lookup ${name} in inode ${parent.ino})`);
      throw e;
    }
  }

  /** Lookup that also brings the first chunk locations of a regular file (open for reading). */
  private async lookupFile(parent: InodeRef, name: string, caller: Caller, located: Located): Promise<Attr__Output> {
    let r: { attr: Attr__Output | null; chunks: Parameters<typeof toChunkLocation>[0][]; chunkSize: string };
    try {
      r = await this.call(
        'LookupFile',
        {
          caller: wireCaller(caller),
          parent: String(parent.ino),
          name,
          chunks: located.count,
        },
        true,
      );
    } catch (err) {
      if ((err as DfsError).errno !== 'ENOSYS') throw err;
      // A name node from before LookupFile: plain lookups, and the reader asks for chunks itself.
      this.noLookupFile = true;
      return this.call<object, Attr__Output>(
        'Lookup',
        { caller: wireCaller(caller), parent: String(parent.ino), name },
        true,
      );
    }
    if (!r.attr) throw new DfsError('EIO', `LookupFile of ${name} in inode ${parent.ino}: reply without attributes`);
    if (Number(r.chunkSize) > 0) this.chunkSizeKnown = Number(r.chunkSize);
    located.ino = Number(r.attr.ino);
    located.chunks = r.chunks.map(toChunkLocation);
    return r.attr;
  }

  /** Counts a lookup that missed the cache in `dir`; the one that makes a run starts a listing. */
  private noteMiss(dir: InodeRef, dirPath: string, caller: Caller): void {
    const now = Date.now();
    let m = this.misses.get(dir.ino);
    if (!m || now - m.since > SCAN_WINDOW_MS) {
      if (this.misses.size >= 1_000) this.misses.clear();
      m = { count: 0, since: now };
      this.misses.set(dir.ino, m);
    }
    if (++m.count !== SCAN_MISSES || this.listings.has(dir.ino)) return;
    this.misses.delete(dir.ino);
    const listing = this.list(dir, normalizePath(dirPath), caller, SCAN_PAGES).then(
      () => undefined,
      () => undefined, // only a prefetch: the lookup asks on its own
    );
    this.listings.set(dir.ino, listing);
    void listing.finally(() => this.listings.delete(dir.ino));
  }

  /**
   * Attributes of `path`. Symlinks inside the path are followed; the final one
   * only with `follow` (stat vs lstat). `fresh` skips the caches for the last
   * component (open's close-to-open revalidation).
   */
  async resolve(path: string, caller: Caller, opts: WalkOptions = {}): Promise<FileAttr> {
    const ref = await this.walk(path, caller, opts);
    if ('size' in ref) return ref;
    try {
      return await this.getAttr(ref.ino, caller);
    } catch (err) {
      if ((err as DfsError).errno !== 'ENOENT') throw err;
      // The cached entry outlived its inode (another client removed it): look the path up afresh.
      this.cache.forgetPath(normalizePath(path));
      const again = await this.walk(path, caller, { ...opts, fresh: true });
      return 'size' in again ? again : this.getAttr(again.ino, caller, true);
    }
  }

  /**
   * Walks `path` from the root. Directories on the way only need their inode
   * and type, so cached entries serve them even after their attributes were
   * dropped (a create in a directory drops the directory's attributes, not the
   * path to it). Returns full attributes when the last step was a Lookup.
   */
  private async walk(path: string, caller: Caller, opts: WalkOptions, hops = 0): Promise<InodeRef | FileAttr> {
    const parts = splitPath(path);
    if (parts.length === 0) return opts.fresh ? this.getAttr(ROOT_INO, caller, true) : ROOT;
    let cur: InodeRef | FileAttr = ROOT;
    let curPath = '/';
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i];
      const last = i === parts.length - 1;
      if (!isDir(cur)) throw new DfsError('ENOTDIR', `${curPath} is not a directory (resolving ${path})`);
      const p = joinPath(curPath, name);
      const cached = last && opts.fresh ? undefined : (this.cache.entryAttr(p) ?? this.cache.entry(p));
      if (cached) await this.checkSearch(cur, curPath, caller);
      const next: InodeRef | FileAttr =
        cached ?? (await this.lookup(cur, curPath, name, caller, last && opts.fresh, last ? opts.located : undefined));
      if (isSymlink(next) && (!last || opts.follow)) {
        if (hops >= MAX_SYMLINK_HOPS) throw new DfsError('ELOOP', `${path}: too many symbolic links`);
        const target = await this.readlinkIno(next.ino, caller);
        const base = target.startsWith('/') ? target : joinPath(curPath, target);
        const rest = parts.slice(i + 1).join('/');
        return this.walk(normalizePath(rest ? `${base}/${rest}` : base), caller, opts, hops + 1);
      }
      cur = next;
      curPath = p;
    }
    return cur;
  }

  /**
   * The search (x) check the name node makes on every Lookup, for a step
   * served from the cache instead: the cache is shared by every caller of
   * this client (all users of an allow_other mount).
   */
  private async checkSearch(dir: InodeRef | FileAttr, dirPath: string, caller: Caller): Promise<void> {
    if (caller.uid === 0) return;
    const attr = 'size' in dir ? dir : await this.getAttr(dir.ino, caller);
    checkAccess(dirPath, attr, X_OK, caller);
  }

  /** The parent directory's inode and the final name of `path`. */
  async resolveParent(path: string, caller: Caller): Promise<{ dir: InodeRef; dirPath: string; name: string }> {
    const { parent, name } = parentAndName(path);
    if (Buffer.byteLength(name) > 255) throw new DfsError('ENAMETOOLONG', `${path}: name longer than 255 bytes`);
    const dir = await this.walk(parent, caller, { follow: true });
    if (!isDir(dir)) throw new DfsError('ENOTDIR', `${parent} is not a directory`);
    return { dir, dirPath: parent, name };
  }

  async readlinkIno(ino: number, caller: Caller): Promise<string> {
    const r = await this.call<object, { target: string }>(
      'ReadLink',
      { caller: wireCaller(caller), ino: String(ino) },
      true,
    );
    return r.target;
  }

  // ---- namespace mutations ----------------------------------------------

  async makeNode(
    path: string,
    mode: number,
    caller: Caller,
    extra: { rdev?: number; symlinkTarget?: string; exclusive?: boolean } = {},
  ): Promise<FileAttr> {
    const { dir, name } = await this.resolveParent(path, caller);
    const at = Date.now();
    const a = await this.mutation([dir.ino], () =>
      this.call<object, Attr__Output>(
        'MakeNode',
        {
          caller: this.mutator(caller),
          parent: String(dir.ino),
          name,
          mode,
          rdev: extra.rdev ?? 0,
          symlinkTarget: extra.symlinkTarget ?? '',
          exclusive: extra.exclusive ?? false,
        },
        false,
      ),
    );
    this.known.applied(toDirChanges(a.dirChanges), [{ dir: dir.ino, add: name }], at);
    const attr = toFileAttr(a);
    this.cache.forgetAttr(dir.ino);
    this.cache.putEntry(normalizePath(path), attr);
    return attr;
  }

  /**
   * A regular file created to be written: CreateFile also prepares its chunk 0
   * (no PrepareWrite before the first write). An older name node without it
   * gets MakeNode.
   */
  async createFile(
    path: string,
    mode: number,
    caller: Caller,
    exclusive: boolean,
  ): Promise<{ attr: FileAttr; firstChunk?: ChunkLocation }> {
    if (this.noCreateFile) return { attr: await this.makeNode(path, mode, caller, { exclusive }) };
    const { dir, name } = await this.resolveParent(path, caller);
    let r: {
      attr: Attr__Output | null;
      firstChunk: Parameters<typeof toChunkLocation>[0] | null;
      dirChanges: DirChange__Output[];
    };
    const at = Date.now();
    try {
      r = await this.mutation([dir.ino], () =>
        this.call(
          'CreateFile',
          { caller: this.mutator(caller), parent: String(dir.ino), name, mode, rdev: 0, symlinkTarget: '', exclusive },
          false,
        ),
      );
    } catch (err) {
      if ((err as DfsError).errno !== 'ENOSYS') throw err;
      this.noCreateFile = true;
      return { attr: await this.makeNode(path, mode, caller, { exclusive }) };
    }
    this.known.applied(toDirChanges(r.dirChanges), [{ dir: dir.ino, add: name }], at);
    if (!r.attr) throw new DfsError('EIO', `CreateFile of ${path}: reply without attributes`);
    const attr = toFileAttr(r.attr);
    this.cache.forgetAttr(dir.ino);
    this.cache.putEntry(normalizePath(path), attr);
    return { attr, firstChunk: r.firstChunk ? toChunkLocation(r.firstChunk) : undefined };
  }

  async link(existing: string, newPath: string, caller: Caller): Promise<FileAttr> {
    const target = await this.resolve(existing, caller);
    const { dir, name } = await this.resolveParent(newPath, caller);
    const at = Date.now();
    const a = await this.mutation([dir.ino], () =>
      this.call<object, Attr__Output>(
        'Link',
        { caller: this.mutator(caller), ino: String(target.ino), newParent: String(dir.ino), newName: name },
        false,
      ),
    );
    this.known.applied(toDirChanges(a.dirChanges), [{ dir: dir.ino, add: name }], at);
    const attr = toFileAttr(a);
    this.cache.forgetAttr(dir.ino);
    this.cache.putEntry(normalizePath(newPath), attr);
    return attr;
  }

  async unlink(path: string, caller: Caller, dirToo: boolean): Promise<void> {
    const { dir, name } = await this.resolveParent(path, caller);
    const norm = normalizePath(path);
    const at = Date.now();
    try {
      const r = await this.mutation([dir.ino], () =>
        this.call<object, { dirChanges?: DirChange__Output[] }>(
          dirToo ? 'RemoveDir' : 'Unlink',
          { caller: this.mutator(caller), parent: String(dir.ino), name },
          false,
        ),
      );
      this.known.applied(toDirChanges(r.dirChanges), [{ dir: dir.ino, remove: name }], at);
    } finally {
      // Even a failure may mean our cache was wrong: drop what we know.
      this.cache.forgetAttr(dir.ino);
      if (dirToo) this.cache.forgetSubtree(norm);
      else this.cache.forgetPath(norm);
    }
  }

  async rename(from: string, to: string, caller: Caller, flags: number): Promise<void> {
    const src = await this.resolveParent(from, caller);
    const dst = await this.resolveParent(to, caller);
    const at = Date.now();
    try {
      const r = await this.mutation([src.dir.ino, dst.dir.ino], () =>
        this.call<object, { dirChanges?: DirChange__Output[] }>(
          'Rename',
          {
            caller: this.mutator(caller),
            parent: String(src.dir.ino),
            name: src.name,
            newParent: String(dst.dir.ino),
            newName: dst.name,
            flags,
          },
          false,
        ),
      );
      const edits: NameEdit[] =
        flags & RENAME_EXCHANGE
          ? []
          : [
              { dir: src.dir.ino, remove: src.name },
              { dir: dst.dir.ino, add: dst.name },
            ];
      this.known.applied(toDirChanges(r.dirChanges), edits, at);
    } finally {
      this.cache.forgetSubtree(normalizePath(from));
      this.cache.forgetSubtree(normalizePath(to));
      this.cache.forgetAttr(src.dir.ino);
      this.cache.forgetAttr(dst.dir.ino);
    }
  }

  async setAttr(ino: number, changes: SetAttrChanges, caller: Caller): Promise<FileAttr> {
    const req: SetAttrRequest = { caller: wireCaller(caller), ino: String(ino) };
    if (changes.mode !== undefined) req.mode = changes.mode & 0o7777;
    if (changes.uid !== undefined) req.uid = changes.uid;
    if (changes.gid !== undefined) req.gid = changes.gid;
    if (changes.size !== undefined) {
      if (!(changes.size >= 0) || !Number.isSafeInteger(changes.size)) {
        throw new DfsError('EINVAL', `bad size ${changes.size} (inode ${ino})`);
      }
      req.size = String(changes.size);
    }
    if (changes.atimeMs !== undefined)
      req.atimeMs = String(changes.atimeMs === 'now' ? -1 : Math.floor(changes.atimeMs));
    if (changes.mtimeMs !== undefined)
      req.mtimeMs = String(changes.mtimeMs === 'now' ? -1 : Math.floor(changes.mtimeMs));
    const a = await this.call<SetAttrRequest, Attr__Output>('SetAttr', req, changes.size === undefined);
    const attr = toFileAttr(a);
    this.cache.putAttr(attr);
    return attr;
  }

  /** Every entry of a directory (paged), seeding the caches so `ls -l` needs no further round trips. */
  async readdir(path: string, caller: Caller): Promise<DirEntry[]> {
    const norm = normalizePath(path);
    const dir = await this.walk(norm, caller, { follow: true });
    if (!isDir(dir)) throw new DfsError('ENOTDIR', `${norm} is not a directory`);
    return this.list(dir, norm, caller);
  }

  /** The entries of directory `dir` (at `norm`), at most `maxPages` pages, cached on the way. */
  private async list(dir: InodeRef, norm: string, caller: Caller, maxPages = Infinity): Promise<DirEntry[]> {
    const out: DirEntry[] = [];
    const names: string[] = [];
    // The listing is every name only if it reached the end and the directory did not change on the way.
    let stamp: string | undefined;
    let whole = false;
    let after = '';
    for (let pages = 0; pages < maxPages; pages++) {
      const page = await this.call<
        object,
        { entries: { name: string; attr: Attr__Output | null }[]; more: boolean; stamp: string }
      >('ReadDir', { caller: wireCaller(caller), ino: String(dir.ino), after, limit: READDIR_PAGE }, true);
      if (stamp === undefined) stamp = page.stamp;
      else if (stamp !== page.stamp) stamp = '0';
      for (const e of page.entries) {
        names.push(e.name);
        if (!e.attr) continue;
        const attr = toFileAttr(e.attr);
        this.cache.putEntry(joinPath(norm, e.name), attr);
        out.push({ name: e.name, attr });
      }
      if (!page.more || page.entries.length === 0) {
        whole = !page.more;
        break;
      }
      after = page.entries[page.entries.length - 1].name;
    }
    if (whole) this.known.learnListing(dir.ino, Number(stamp ?? 0), names);
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return out;
  }

  async statfs(): Promise<StatFs> {
    const r = await this.call<object, StatFsReply__Output>('StatFs', {}, true);
    const s = toStatFs(r);
    this.chunkSizeKnown = s.chunkSize;
    return s;
  }

  async initialize(): Promise<StatFs> {
    this.known.clear();
    const r = await this.call<object, StatFsReply__Output>('Initialize', {}, false);
    this.cache.clear();
    return toStatFs(r);
  }

  /** The cluster's chunk size (asked once). */
  async chunkSize(): Promise<number> {
    if (this.chunkSizeKnown) return this.chunkSizeKnown;
    return (await this.statfs()).chunkSize;
  }

  // ---- data path metadata -----------------------------------------------

  async getChunks(
    ino: number,
    first: number,
    count: number,
    caller: Caller,
  ): Promise<{ attr: FileAttr; chunks: ChunkLocation[]; chunkSize: number }> {
    const r = await this.call<
      object,
      { attr: Attr__Output | null; chunks: Parameters<typeof toChunkLocation>[0][]; chunkSize: string }
    >('GetChunks', { caller: wireCaller(caller), ino: String(ino), firstIndex: String(first), count }, true);
    if (!r.attr) throw new DfsError('EIO', `GetChunks of inode ${ino}: reply without attributes`);
    const attr = toFileAttr(r.attr);
    this.cache.putAttr(attr);
    if (Number(r.chunkSize) > 0) this.chunkSizeKnown = Number(r.chunkSize);
    return { attr, chunks: r.chunks.map(toChunkLocation), chunkSize: Number(r.chunkSize) };
  }

  /**
   * PrepareWrite is retried: a repeat only bumps the version once more.
   * ENOSPC from a name node that is starting (safe mode, or no data node
   * registered yet: right after a restart the data nodes re-register within a
   * heartbeat or two) is retried within the metadata budget; ENOSPC from a
   * running cluster is a full cluster and fails at once.
   */
  async prepareWrite(
    ino: number,
    index: number,
    exclude: string[],
    caller: Caller,
    requestId: string,
  ): Promise<ChunkLocation> {
    const deadline = Date.now() + this.timeoutMs;
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 1_000)) {
      try {
        const r = await this.call<object, Parameters<typeof toChunkLocation>[0]>(
          'PrepareWrite',
          { caller: wireCaller(caller, requestId), ino: String(ino), index: String(index), excludeNodes: exclude },
          true,
        );
        return toChunkLocation(r);
      } catch (err) {
        const e = err as DfsError;
        if (e.errno !== 'ENOSPC' || Date.now() + backoff >= deadline || !(await this.starting())) throw e;
        this.log.debug({ ino, index, requestId, err: e.message }, 'no data node yet (name node starting); retrying');
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  }

  /** Whether the name node is still waiting for its data nodes (safe mode, or none live). */
  private async starting(): Promise<boolean> {
    try {
      const s = await this.clusterStatus();
      return s.safeMode || !s.nodes.some((n) => n.live);
    } catch {
      return false;
    }
  }

  async replacePipelineNode(
    req: { ino: number; index: number; chunkId: string; failedNode: string; survivors: string[] },
    caller: Caller,
    requestId: string,
  ): Promise<{ chunk: ChunkLocation; replacement?: { id: string; address: string } }> {
    const r = await this.call<object, ReplaceNodeReply__Output>(
      'ReplacePipelineNode',
      {
        caller: wireCaller(caller, requestId),
        ino: String(req.ino),
        index: String(req.index),
        chunkId: req.chunkId,
        failedNode: req.failedNode,
        survivors: req.survivors,
      },
      false,
    );
    if (!r.chunk) throw new DfsError('EIO', `ReplacePipelineNode for chunk ${req.chunkId}: reply without chunk`);
    const replacement =
      r.hasReplacement && r.replacement ? { id: r.replacement.id, address: r.replacement.address } : undefined;
    return { chunk: toChunkLocation(r.chunk), replacement };
  }

  /** CommitWrite only records sizes, replicas and max(size): safe to repeat. */
  async commitWrite(
    ino: number,
    chunks: CommittedChunk[],
    minSize: number,
    caller: Caller,
    requestId: string,
  ): Promise<FileAttr> {
    const a = await this.call<object, Attr__Output>(
      'CommitWrite',
      {
        caller: wireCaller(caller, requestId),
        ino: String(ino),
        chunks,
        minSize: String(minSize),
        mtimeMs: String(Date.now()),
      },
      true,
    );
    const attr = toFileAttr(a);
    this.cache.putAttr(attr);
    return attr;
  }

  reportBadReplica(chunkId: string, version: number, nodeId: string, reason: string, caller: Caller): void {
    this.call<object, object>(
      'ReportBadReplica',
      { caller: wireCaller(caller), chunkId, version: String(version), nodeId, reason },
      true,
    ).catch((err: unknown) => this.log.warn({ chunkId, nodeId, err: String(err) }, 'could not report a bad replica'));
  }

  async clusterStatus(): Promise<ClusterStatusReply__Output> {
    return this.call<object, ClusterStatusReply__Output>('ClusterStatus', {}, true);
  }

  async fsck(path: string, caller: Caller): Promise<FsckReply__Output> {
    return this.call<object, FsckReply__Output>(
      'Fsck',
      { caller: wireCaller(caller), path: normalizePath(path) },
      true,
    );
  }

  async xattr(
    op: 'SetXattr' | 'GetXattr' | 'ListXattr' | 'RemoveXattr',
    ino: number,
    caller: Caller,
    extra: { name?: string; value?: Buffer; flags?: number } = {},
  ): Promise<{ value?: Buffer; names?: string[] }> {
    const req = { caller: wireCaller(caller), ino: String(ino), ...extra };
    return this.call(op, req, op === 'GetXattr' || op === 'ListXattr');
  }
}
