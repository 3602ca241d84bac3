import { constants } from 'node:fs';
import { createLogger, type Logger } from '../common/logger';
import { DfsError } from '../rpc/errors';
import { type ChunkLocation, isDir, isRegular, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from './attrs';
import { CopySlab } from './copy-slab';
import { DataNodePool } from './data-nodes';
import { bearerInterceptor } from '../rpc/auth';
import { channelCredentials } from '../rpc/tls';
import { dataNodeService } from '../rpc/load';
import { DfsFileHandle } from './file-handle';
import { MetadataClient, type Located } from './metadata';
import { LOCATION_BATCH } from './reader';
import { OpenFileTable } from './open-file';
import { resolveOptions, type ResolvedOptions } from './options';
import { normalizePath } from './paths';
import { checkAccess, R_OK, W_OK } from './permissions';
import type {
  Caller,
  ClusterStatus,
  DfsClient,
  DfsClientOptions,
  DirEntry,
  FileAttr,
  FileHandle,
  FileInfo,
  FsckReport,
  OpenOptions,
  SetAttrChanges,
  StatFs,
} from './types';

export * from './types';

const O_ACCMODE = 3;
const CHUNKS_PER_PAGE = 1000;

/** The client library: namespace calls go to the name node, file data straight to the data nodes. */
class Client implements DfsClient {
  private readonly meta: MetadataClient;
  private readonly pool: DataNodePool;
  /** Handles of one inode share its writer and size (open-file.ts). */
  private readonly files: OpenFileTable;

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly log: Logger,
  ) {
    const credentials = channelCredentials(opts.tls);
    this.pool = new DataNodePool(credentials);
    if (opts.offloadReads) this.pool.offloadReads(opts.tls);
    this.meta = new MetadataClient(opts.namenode, opts.metadataTimeoutMs, opts.attrCacheMs, log, {
      credentials,
      interceptors: opts.token ? [bearerInterceptor(() => opts.token)] : [],
    });
    this.files = new OpenFileTable({ meta: this.meta, pool: this.pool, slab: new CopySlab(), opts, log });
    // Load the data node protocol now: loading it reads files synchronously, which must not
    // happen later on the thread that serves the FUSE mount.
    dataNodeService();
  }

  /** Sizes include writes still buffered by open handles of this client (as a local disk shows them). */
  async stat(path: string, caller: Caller): Promise<FileAttr> {
    return this.files.view(await this.meta.resolve(path, caller));
  }

  async readdir(path: string, caller: Caller): Promise<DirEntry[]> {
    const entries = await this.meta.readdir(path, caller);
    if (this.files.size === 0) return entries;
    return entries.map((e) => ({ name: e.name, attr: this.files.view(e.attr) }));
  }

  mkdir(path: string, mode: number, caller: Caller): Promise<FileAttr> {
    return this.meta.makeNode(path, S_IFDIR | (mode & 0o7777), caller, { exclusive: true });
  }

  rmdir(path: string, caller: Caller): Promise<void> {
    return this.meta.unlink(path, caller, true);
  }

  async create(path: string, mode: number, caller: Caller, opts: { exclusive?: boolean } = {}): Promise<FileAttr> {
    const type = mode & S_IFMT || S_IFREG;
    if (type !== S_IFREG) throw new DfsError('EINVAL', `${path}: create makes regular files (use mkdir/mknod/symlink)`);
    return this.meta.makeNode(path, S_IFREG | (mode & 0o7777), caller, { exclusive: opts.exclusive ?? false });
  }

  async mknod(path: string, mode: number, rdev: number, caller: Caller): Promise<FileAttr> {
    const type = mode & S_IFMT || S_IFREG;
    if (type === S_IFDIR || type === S_IFLNK)
      throw new DfsError('EINVAL', `${path}: mknod cannot make directories or symlinks`);
    return this.meta.makeNode(path, type | (mode & 0o7777), caller, { rdev, exclusive: true });
  }

  unlink(path: string, caller: Caller): Promise<void> {
    return this.meta.unlink(path, caller, false);
  }

  rename(from: string, to: string, caller: Caller, flags = 0): Promise<void> {
    return this.meta.rename(from, to, caller, flags);
  }

  async symlink(target: string, path: string, caller: Caller): Promise<FileAttr> {
    if (!target) throw new DfsError('ENOENT', `${path}: empty symlink target`);
    return this.meta.makeNode(path, S_IFLNK | 0o777, caller, { symlinkTarget: target, exclusive: true });
  }

  async readlink(path: string, caller: Caller): Promise<string> {
    const attr = await this.meta.resolve(path, caller);
    if ((attr.mode & S_IFMT) !== S_IFLNK) throw new DfsError('EINVAL', `${path} is not a symbolic link`);
    return this.meta.readlinkIno(attr.ino, caller);
  }

  link(existing: string, newPath: string, caller: Caller): Promise<FileAttr> {
    return this.meta.link(existing, newPath, caller);
  }

  /**
   * A size change of a file open in this client goes through its shared
   * state (buffered writes first, prepared chunks forgotten after); explicit
   * times are set after buffered writes are committed, so a later commit's
   * mtime does not override them.
   */
  async setattr(path: string, changes: SetAttrChanges, caller: Caller): Promise<FileAttr> {
    const attr = await this.meta.resolve(path, caller, { follow: true });
    if (changes.size !== undefined && isDir(attr)) throw new DfsError('EISDIR', `${path}: cannot truncate a directory`);
    const open = this.files.get(attr.ino);
    if (!open) return this.meta.setAttr(attr.ino, changes, caller);
    const size = changes.size;
    if (size !== undefined) return open.view(await open.truncate({ ...changes, size }, caller));
    if (open.dirty && (changes.atimeMs !== undefined || changes.mtimeMs !== undefined)) await open.flush();
    return open.view(await this.meta.setAttr(attr.ino, changes, caller));
  }

  async access(path: string, mask: number, caller: Caller): Promise<void> {
    const attr = await this.meta.resolve(path, caller, { follow: true });
    checkAccess(normalizePath(path), attr, mask, caller);
  }

  statfs(): Promise<StatFs> {
    return this.meta.statfs();
  }

  async setxattr(path: string, name: string, value: Buffer, flags: number, caller: Caller): Promise<void> {
    const attr = await this.meta.resolve(path, caller);
    await this.meta.xattr('SetXattr', attr.ino, caller, { name, value, flags });
  }

  async getxattr(path: string, name: string, caller: Caller): Promise<Buffer> {
    const attr = await this.meta.resolve(path, caller);
    return (await this.meta.xattr('GetXattr', attr.ino, caller, { name })).value ?? Buffer.alloc(0);
  }

  async listxattr(path: string, caller: Caller): Promise<string[]> {
    const attr = await this.meta.resolve(path, caller);
    return (await this.meta.xattr('ListXattr', attr.ino, caller)).names ?? [];
  }

  async removexattr(path: string, name: string, caller: Caller): Promise<void> {
    const attr = await this.meta.resolve(path, caller);
    await this.meta.xattr('RemoveXattr', attr.ino, caller, { name });
  }

  /**
   * Opens a file, always revalidating its attributes with the name node
   * (close-to-open consistency). Honours O_CREAT/O_EXCL (for callers without
   * a separate create), O_TRUNC and O_APPEND.
   */
  async open(path: string, opts: OpenOptions, caller: Caller): Promise<FileHandle> {
    const flags = opts.flags;
    const acc = flags & O_ACCMODE;
    const writable = acc === constants.O_WRONLY || acc === constants.O_RDWR;
    let attr: FileAttr;
    let created = false;
    let located: Located | undefined;
    let firstChunk: ChunkLocation | undefined;
    if (flags & constants.O_CREAT) {
      // One round trip for a new file: an exclusive MakeNode. Only when the name exists already
      // (EEXIST without O_EXCL: a file, or a directory/symlink the checks below judge) is it resolved.
      const exclusive = (flags & constants.O_EXCL) !== 0;
      const mode = S_IFREG | ((opts.mode ?? 0o644) & 0o7777);
      // A handle that will write gets chunk 0 prepared with the create (no PrepareWrite before its first write).
      attr = await (
        writable
          ? this.meta.createFile(path, mode, caller, true).then((r) => ((firstChunk = r.firstChunk), r.attr))
          : this.meta.makeNode(path, mode, caller, { exclusive: true })
      ).then(
        (a) => ((created = true), a),
        (err: DfsError) => {
          if (exclusive || err.errno !== 'EEXIST') throw err;
          return this.meta.resolve(path, caller, { follow: true, fresh: true });
        },
      );
    } else {
      // A handle that may read gets the first chunk locations with its lookup (no GetChunks at its first read).
      located = acc === constants.O_WRONLY ? undefined : { count: LOCATION_BATCH };
      attr = await this.meta.resolve(path, caller, { follow: true, fresh: true, located });
    }
    if (isDir(attr)) throw new DfsError('EISDIR', `${path} is a directory`);
    if (!isRegular(attr)) throw new DfsError('EINVAL', `${path} is not a regular file`);
    // POSIX: the open that creates a file gets the access it asked for whatever the new mode says.
    if (!created) {
      checkAccess(
        normalizePath(path),
        attr,
        (acc === constants.O_RDONLY || acc === constants.O_RDWR ? R_OK : 0) | (writable ? W_OK : 0),
        caller,
      );
    }
    const chunkSize = await this.meta.chunkSize();
    const file = this.files.acquire(attr, chunkSize);
    if (created && firstChunk) file.seedFirstChunk(firstChunk);
    let firstChunks = located?.ino === attr.ino ? located.chunks : undefined;
    try {
      if (flags & constants.O_TRUNC && writable && file.size > 0) {
        await file.truncate({ size: 0 }, caller);
        firstChunks = undefined;
      }
    } catch (err) {
      this.files.release(file);
      throw err;
    }
    return new DfsFileHandle(
      normalizePath(path),
      file,
      this.files,
      flags,
      this.meta,
      this.pool,
      caller,
      this.opts,
      this.log,
      firstChunks,
    );
  }

  async fileInfo(path: string, caller: Caller): Promise<FileInfo> {
    const attr = await this.meta.resolve(path, caller, { follow: true, fresh: true });
    const chunkSize = await this.meta.chunkSize();
    const chunks: FileInfo['chunks'] = [];
    if (isRegular(attr)) {
      const count = Math.ceil(attr.size / chunkSize);
      for (let first = 0; first < count; first += CHUNKS_PER_PAGE) {
        const r = await this.meta.getChunks(attr.ino, first, CHUNKS_PER_PAGE, caller);
        for (const c of r.chunks) {
          chunks.push({ index: c.index, chunkId: c.chunkId, version: c.version, size: c.size, replicas: c.replicas });
        }
      }
    }
    return { path: normalizePath(path), attr, chunkSize, chunks };
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const r = await this.meta.clusterStatus();
    return {
      nodes: r.nodes.map((n) => ({
        id: n.id,
        address: n.address,
        live: n.live,
        state: n.state || (n.live ? 'live' : 'dead'),
        used: Number(n.used),
        capacity: Number(n.capacity),
        chunks: Number(n.chunks),
        lastHeartbeatMs: Number(n.lastHeartbeatMs),
        labels: n.labels,
      })),
      capacity: Number(r.capacity),
      used: Number(r.used),
      files: Number(r.files),
      chunks: Number(r.chunks),
      underReplicated: Number(r.underReplicated),
      missing: Number(r.missing),
      safeMode: r.safeMode,
      secured: r.secured,
      replication: r.replication,
      chunkSize: Number(r.chunkSize),
    };
  }

  async fsck(path: string, caller: Caller): Promise<FsckReport> {
    const r = await this.meta.fsck(path, caller);
    return {
      problems: r.problems.map((p) => ({
        path: p.path,
        chunkId: p.chunkId,
        index: Number(p.index),
        problem: p.problem,
        live: p.live,
        wanted: p.wanted,
      })),
      files: Number(r.files),
      chunks: Number(r.chunks),
      healthy: r.healthy,
    };
  }

  async initialize(caller: Caller): Promise<StatFs> {
    this.log.info({ uid: caller.uid }, 'initializing the file system');
    return this.meta.initialize();
  }

  invalidate(path?: string): void {
    if (path === undefined) this.meta.cache.clear();
    else this.meta.cache.forgetSubtree(normalizePath(path));
  }

  async close(): Promise<void> {
    this.meta.close();
    this.pool.close();
  }
}

/** Creates the client library; bad options fail at once with EINVAL. */
export function createClient(opts: DfsClientOptions): DfsClient {
  return new Client(resolveOptions(opts), createLogger('dfs-client', 'warn'));
}
