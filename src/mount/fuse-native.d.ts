/**
 * Types for fuse-native 2.2.6 as patched by patches/fuse-native+2.2.6.patch:
 * `context()` (the FUSE request's caller), `create` receives the open flags,
 * `utimens` receives 'now' / 'omit' for UTIME_NOW / UTIME_OMIT.
 * Callbacks take a negative errno (0 = success); read/write/getxattr answer
 * with the byte count in the same slot.
 */
declare module 'fuse-native' {
  namespace Fuse {
    type Done = (code: number) => void;
    type Time = number | 'now' | 'omit';

    interface Stat {
      mode: number;
      uid: number;
      gid: number;
      size: number;
      dev: number;
      nlink: number;
      ino: number;
      rdev: number;
      blksize: number;
      blocks: number;
      /** Milliseconds since the epoch. */
      atime: number;
      mtime: number;
      ctime: number;
    }

    interface Statfs {
      bsize: number;
      frsize: number;
      blocks: number;
      bfree: number;
      bavail: number;
      files: number;
      ffree: number;
      favail: number;
      fsid: number;
      flag: number;
      namemax: number;
    }

    interface Context {
      uid: number;
      gid: number;
      pid: number;
      umask: number;
    }

    interface Operations {
      init?(cb: Done): void;
      access?(path: string, mode: number, cb: Done): void;
      statfs?(path: string, cb: (code: number, statfs?: Statfs) => void): void;
      getattr?(path: string, cb: (code: number, stat?: Stat) => void): void;
      flush?(path: string, fd: number, cb: Done): void;
      fsync?(path: string, datasync: number, fd: number, cb: Done): void;
      fsyncdir?(path: string, datasync: number, fd: number, cb: Done): void;
      readdir?(path: string, cb: (code: number, names?: string[], stats?: Stat[]) => void): void;
      truncate?(path: string, size: number, cb: Done): void;
      ftruncate?(path: string, fd: number, size: number, cb: Done): void;
      utimens?(path: string, atime: Time, mtime: Time, cb: Done): void;
      readlink?(path: string, cb: (code: number, target?: string) => void): void;
      chown?(path: string, uid: number, gid: number, cb: Done): void;
      chmod?(path: string, mode: number, cb: Done): void;
      mknod?(path: string, mode: number, dev: number, cb: Done): void;
      setxattr?(path: string, name: string, value: Buffer, position: number, flags: number, cb: Done): void;
      getxattr?(path: string, name: string, position: number, cb: (code: number, value?: Buffer) => void): void;
      listxattr?(path: string, cb: (code: number, names?: string[]) => void): void;
      removexattr?(path: string, name: string, cb: Done): void;
      open?(path: string, flags: number, cb: (code: number, fd?: number) => void): void;
      read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Done): void;
      write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: Done): void;
      release?(path: string, fd: number, cb: Done): void;
      create?(path: string, mode: number, flags: number, cb: (code: number, fd?: number) => void): void;
      unlink?(path: string, cb: Done): void;
      rename?(src: string, dest: string, cb: Done): void;
      link?(src: string, dest: string, cb: Done): void;
      symlink?(target: string, path: string, cb: Done): void;
      mkdir?(path: string, mode: number, cb: Done): void;
      rmdir?(path: string, cb: Done): void;
    }

    interface Options {
      /** Per-op answer deadline in ms (false: none); an object sets it per op name with `default`. */
      timeout?: number | false | Record<string, number | false>;
      debug?: boolean;
      allowOther?: boolean;
      allowRoot?: boolean;
      autoUnmount?: boolean;
      defaultPermissions?: boolean;
      fsname?: string;
      subtype?: string;
      entryTimeout?: number;
      attrTimeout?: number;
      maxRead?: number;
      /**
       * The file system never has security.capability (dfs patch): getxattr of it
       * is answered ENODATA on the FUSE thread, without calling ops.getxattr.
       */
      noSecurityCapability?: boolean;
      /**
       * ops.flush only commits writes (dfs patch): the flush of a handle opened
       * read-only, sent on every close(2), is answered on the FUSE thread.
       */
      noReadOnlyFlush?: boolean;
    }
  }

  class Fuse {
    constructor(mnt: string, ops: Fuse.Operations, opts?: Fuse.Options);
    readonly mnt: string;
    readonly opts: Fuse.Options;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    /** The caller of the request being served; valid synchronously at the start of an op. */
    context(): Fuse.Context;
    /** Whether partial utimens requests (touch -m / touch -a) reach `utimens` (libfuse 2.9 layout verified). */
    timesHooked(): boolean;
    protected _fuseOptions(): string;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
  }

  export = Fuse;
}
