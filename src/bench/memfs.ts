/**
 * A minimal in-memory file system on fuse-native, mounted with `big_writes`:
 * the ceiling of FUSE + Node.js on this machine, kept as the benchmark's
 * reference (whatever dfs does over FUSE, it pays at least this).
 *
 *   node dist/bench/memfs.js MOUNTPOINT      (foreground; SIGINT/SIGTERM unmounts)
 *
 * Supports what the benchmark workloads do: regular files with data, dirs,
 * symlinks, rename (replacing the target), unlink, stat, truncate, utimens,
 * chmod; fsync/flush are no-ops. Every handler answers without blocking.
 */

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** File data lives in fixed-size blocks; a missing block reads as zeros. */
const BLOCK = 256 * 1024;

/** libfuse2 mount options that fuse-native has no flag for. */
export const BIG_WRITE_OPTIONS = ['big_writes', 'max_write=131072', 'max_readahead=1048576'];

const E = {
  ENOENT: -2,
  EBADF: -9,
  EEXIST: -17,
  ENOTDIR: -20,
  EISDIR: -21,
  EINVAL: -22,
  ENOTEMPTY: -39,
} as const;

type Cb<T = void> = T extends void ? (err: number) => void : (err: number, value?: T) => void;

type TimeArg = number | 'now' | 'omit';

interface Stat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  ino: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

/** The subset of fuse-native's operations this file system implements. */
export interface FuseOps {
  init(cb: Cb): void;
  statfs(path: string, cb: Cb<object>): void;
  getattr(path: string, cb: Cb<Stat>): void;
  fgetattr(path: string, fd: number, cb: Cb<Stat>): void;
  access(path: string, mode: number, cb: Cb): void;
  readdir(path: string, cb: (err: number, names?: string[]) => void): void;
  open(path: string, flags: number, cb: Cb<number>): void;
  /** The repo's patched fuse-native passes the open flags before the callback (`create(path, mode, flags, cb)`). */
  create(path: string, mode: number, ...rest: [Cb<number>] | [number, Cb<number>]): void;
  read(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void;
  write(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (n: number) => void): void;
  release(path: string, fd: number, cb: Cb): void;
  flush(path: string, fd: number, cb: Cb): void;
  fsync(path: string, datasync: boolean, fd: number, cb: Cb): void;
  truncate(path: string, size: number, cb: Cb): void;
  ftruncate(path: string, fd: number, size: number, cb: Cb): void;
  /** Milliseconds, or (patched fuse-native) 'now' for UTIME_NOW and 'omit' for UTIME_OMIT. */
  utimens(path: string, atime: TimeArg, mtime: TimeArg, cb: Cb): void;
  chmod(path: string, mode: number, cb: Cb): void;
  chown(path: string, uid: number, gid: number, cb: Cb): void;
  unlink(path: string, cb: Cb): void;
  rename(src: string, dest: string, cb: Cb): void;
  mkdir(path: string, mode: number, cb: Cb): void;
  rmdir(path: string, cb: Cb): void;
  symlink(target: string, path: string, cb: Cb): void;
  readlink(path: string, cb: Cb<string>): void;
}

interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  _fuseOptions(): string;
}
type FuseClass = new (mnt: string, ops: FuseOps, opts: Record<string, unknown>) => FuseInstance;

/** fuse-native, with `big_writes`, `max_write` and `max_readahead` added to its mount options. */
export function bigWriteFuse(): FuseClass {
  const Fuse = require('fuse-native') as FuseClass;
  return class BigWriteFuse extends Fuse {
    override _fuseOptions(): string {
      const base = super._fuseOptions();
      return base ? `${base},${BIG_WRITE_OPTIONS.join(',')}` : `-o${BIG_WRITE_OPTIONS.join(',')}`;
    }
  };
}

class Inode {
  readonly children = new Map<string, Inode>();
  blocks: (Buffer | undefined)[] = [];
  size = 0;
  nlink: number;
  target = '';
  atime = Date.now();
  mtime = this.atime;
  ctime = this.atime;
  constructor(
    readonly ino: number,
    public mode: number,
    public uid: number,
    public gid: number,
  ) {
    this.nlink = this.isDir ? 2 : 1;
  }
  get isDir(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  stat(): Stat {
    return {
      mode: this.mode,
      uid: this.uid,
      gid: this.gid,
      size: this.isDir ? 4096 : this.size,
      nlink: this.nlink,
      ino: this.ino,
      blksize: 4096,
      blocks: Math.ceil(this.size / 512),
      atime: this.atime,
      mtime: this.mtime,
      ctime: this.ctime,
    };
  }
  truncate(size: number): void {
    const keep = Math.ceil(size / BLOCK);
    this.blocks.length = Math.min(this.blocks.length, keep);
    const tail = size % BLOCK;
    const last = this.blocks[keep - 1];
    if (tail && last && size < this.size) last.fill(0, tail);
    this.size = size;
    this.mtime = this.ctime = Date.now();
  }
  write(buf: Buffer, len: number, pos: number): void {
    let done = 0;
    while (done < len) {
      const at = pos + done;
      const i = Math.floor(at / BLOCK);
      const off = at % BLOCK;
      const n = Math.min(len - done, BLOCK - off);
      let block = this.blocks[i];
      if (!block) block = this.blocks[i] = Buffer.alloc(BLOCK);
      buf.copy(block, off, done, done + n);
      done += n;
    }
    if (pos + len > this.size) this.size = pos + len;
    this.mtime = this.ctime = Date.now();
  }
  read(buf: Buffer, len: number, pos: number): number {
    const end = Math.min(this.size, pos + len);
    let done = 0;
    while (pos + done < end) {
      const at = pos + done;
      const i = Math.floor(at / BLOCK);
      const off = at % BLOCK;
      const n = Math.min(end - at, BLOCK - off);
      const block = this.blocks[i];
      if (block) block.copy(buf, done, off, off + n);
      else buf.fill(0, done, done + n);
      done += n;
    }
    return done;
  }
}

/** The in-memory namespace and the fuse-native operations over it. */
export class MemFs {
  private nextIno = 2;
  private nextFd = 1;
  private readonly fds = new Map<number, Inode>();
  private readonly root: Inode;
  private readonly uid = process.getuid?.() ?? 0;
  private readonly gid = process.getgid?.() ?? 0;

  constructor() {
    this.root = new Inode(1, S_IFDIR | 0o755, this.uid, this.gid);
  }

  private lookup(path: string): Inode | number {
    let node = this.root;
    for (const name of path.split('/')) {
      if (!name) continue;
      if (!node.isDir) return E.ENOTDIR;
      const next = node.children.get(name);
      if (!next) return E.ENOENT;
      node = next;
    }
    return node;
  }

  /** The parent directory of `path` and the last name in it. */
  private parent(path: string): { dir: Inode; name: string } | number {
    const cut = path.lastIndexOf('/');
    const name = path.slice(cut + 1);
    if (!name) return E.EINVAL;
    const dir = this.lookup(path.slice(0, cut));
    if (typeof dir === 'number') return dir;
    return dir.isDir ? { dir, name } : E.ENOTDIR;
  }

  private add(path: string, mode: number): Inode | number {
    const p = this.parent(path);
    if (typeof p === 'number') return p;
    if (p.dir.children.has(p.name)) return E.EEXIST;
    const node = new Inode(this.nextIno++, mode, this.uid, this.gid);
    p.dir.children.set(p.name, node);
    if (node.isDir) p.dir.nlink++;
    p.dir.mtime = p.dir.ctime = Date.now();
    return node;
  }

  private remove(path: string, wantDir: boolean): number {
    const p = this.parent(path);
    if (typeof p === 'number') return p;
    const node = p.dir.children.get(p.name);
    if (!node) return E.ENOENT;
    if (wantDir && !node.isDir) return E.ENOTDIR;
    if (!wantDir && node.isDir) return E.EISDIR;
    if (wantDir && node.children.size) return E.ENOTEMPTY;
    p.dir.children.delete(p.name);
    if (node.isDir) p.dir.nlink--;
    node.nlink = 0;
    p.dir.mtime = p.dir.ctime = Date.now();
    return 0;
  }

  private openFd(node: Inode): number {
    const fd = this.nextFd++;
    this.fds.set(fd, node);
    return fd;
  }

  private rename(src: string, dest: string): number {
    const from = this.parent(src);
    const to = this.parent(dest);
    if (typeof from === 'number') return from;
    if (typeof to === 'number') return to;
    const node = from.dir.children.get(from.name);
    if (!node) return E.ENOENT;
    if (dest.startsWith(`${src}/`)) return E.EINVAL;
    const old = to.dir.children.get(to.name);
    if (old === node) return 0;
    if (old) {
      if (node.isDir && !old.isDir) return E.ENOTDIR;
      if (!node.isDir && old.isDir) return E.EISDIR;
      if (old.isDir && old.children.size) return E.ENOTEMPTY;
      if (old.isDir) to.dir.nlink--;
      old.nlink = 0;
    }
    from.dir.children.delete(from.name);
    to.dir.children.set(to.name, node);
    if (node.isDir) {
      from.dir.nlink--;
      to.dir.nlink++;
    }
    const now = Date.now();
    from.dir.mtime = from.dir.ctime = to.dir.mtime = to.dir.ctime = node.ctime = now;
    return 0;
  }

  ops(): FuseOps {
    const withNode = (path: string, fn: (n: Inode) => number, cb: Cb): void => {
      const n = this.lookup(path);
      cb(typeof n === 'number' ? n : fn(n));
    };
    const truncate = (path: string, size: number, cb: Cb): void =>
      withNode(
        path,
        (n) => {
          if (n.isDir) return E.EISDIR;
          n.truncate(size);
          return 0;
        },
        cb,
      );
    return {
      init: (cb) => cb(0),
      statfs: (_path, cb) =>
        cb(0, {
          bsize: 4096,
          frsize: 4096,
          blocks: 16 * 1024 * 1024,
          bfree: 16 * 1024 * 1024,
          bavail: 16 * 1024 * 1024,
          files: 1_000_000,
          ffree: 1_000_000,
          favail: 1_000_000,
          namemax: 255,
        }),
      getattr: (path, cb) => {
        const n = this.lookup(path);
        if (typeof n === 'number') cb(n);
        else cb(0, n.stat());
      },
      fgetattr: (path, fd, cb) => {
        const n = this.fds.get(fd) ?? this.lookup(path);
        if (typeof n === 'number') cb(n);
        else cb(0, n.stat());
      },
      access: (path, _mode, cb) => withNode(path, () => 0, cb),
      readdir: (path, cb) => {
        const n = this.lookup(path);
        if (typeof n === 'number') cb(n);
        else if (!n.isDir) cb(E.ENOTDIR);
        else cb(0, ['.', '..', ...n.children.keys()]);
      },
      open: (path, _flags, cb) => {
        const n = this.lookup(path);
        if (typeof n === 'number') cb(n);
        else cb(0, this.openFd(n));
      },
      create: (path, mode, ...rest) => {
        const cb = rest[rest.length - 1] as Cb<number>;
        const n = this.add(path, S_IFREG | (mode & 0o7777));
        if (typeof n === 'number') cb(n);
        else cb(0, this.openFd(n));
      },
      read: (_path, fd, buf, len, pos, cb) => {
        const n = this.fds.get(fd);
        cb(n ? n.read(buf, len, pos) : E.EBADF);
      },
      write: (_path, fd, buf, len, pos, cb) => {
        const n = this.fds.get(fd);
        if (!n) return cb(E.EBADF);
        n.write(buf, len, pos);
        cb(len);
      },
      release: (_path, fd, cb) => {
        this.fds.delete(fd);
        cb(0);
      },
      flush: (_path, _fd, cb) => cb(0),
      fsync: (_path, _datasync, _fd, cb) => cb(0),
      truncate,
      ftruncate: (path, fd, size, cb) => {
        const n = this.fds.get(fd);
        if (!n) return truncate(path, size, cb);
        n.truncate(size);
        cb(0);
      },
      utimens: (path, atime, mtime, cb) =>
        withNode(
          path,
          (n) => {
            const now = Date.now();
            if (atime !== 'omit') n.atime = atime === 'now' ? now : atime;
            if (mtime !== 'omit') n.mtime = mtime === 'now' ? now : mtime;
            n.ctime = now;
            return 0;
          },
          cb,
        ),
      chmod: (path, mode, cb) =>
        withNode(
          path,
          (n) => {
            n.mode = (n.mode & S_IFMT) | (mode & 0o7777);
            n.ctime = Date.now();
            return 0;
          },
          cb,
        ),
      chown: (path, uid, gid, cb) =>
        withNode(
          path,
          (n) => {
            if (uid !== 0xffffffff) n.uid = uid;
            if (gid !== 0xffffffff) n.gid = gid;
            n.ctime = Date.now();
            return 0;
          },
          cb,
        ),
      unlink: (path, cb) => cb(this.remove(path, false)),
      rename: (src, dest, cb) => cb(this.rename(src, dest)),
      mkdir: (path, mode, cb) => {
        const n = this.add(path, S_IFDIR | (mode & 0o7777));
        cb(typeof n === 'number' ? n : 0);
      },
      rmdir: (path, cb) => cb(this.remove(path, true)),
      symlink: (target, path, cb) => {
        const n = this.add(path, S_IFLNK | 0o777);
        if (typeof n === 'number') return cb(n);
        n.target = target;
        n.size = Buffer.byteLength(target);
        cb(0);
      },
      readlink: (path, cb) => {
        const n = this.lookup(path);
        if (typeof n === 'number') cb(n);
        else if ((n.mode & S_IFMT) !== S_IFLNK) cb(E.EINVAL);
        else cb(0, n.target);
      },
    };
  }
}

/** Mounts a fresh MemFs at `mountpoint`; resolves with an unmount function. */
export async function mountMemFs(mountpoint: string): Promise<() => Promise<void>> {
  const Fuse = bigWriteFuse();
  const fuse = new Fuse(mountpoint, new MemFs().ops(), { force: true, mkdir: true, fsname: 'dfs-memfs' });
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  return () => new Promise<void>((resolve, reject) => fuse.unmount((err) => (err ? reject(err) : resolve())));
}

async function main(): Promise<void> {
  const mountpoint = process.argv[2];
  if (!mountpoint || mountpoint.startsWith('-')) {
    process.stderr.write('usage: node dist/bench/memfs.js MOUNTPOINT\n');
    process.exit(2);
  }
  const unmount = await mountMemFs(mountpoint);
  process.stdout.write(`memfs mounted at ${mountpoint}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    unmount().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`memfs: unmount failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`memfs: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
