import type Fuse from 'fuse-native';
import type { Logger } from '../common/logger';
import type { Caller, DfsClient } from '../client/types';
import { AttrOps } from './attr';
import { CallerGroups } from './caller';
import { DirOps } from './dir';
import { toFuseErrno } from './errno';
import { FileOps } from './file-io';
import type { MountState } from './mount-state';
import { NameOps } from './names';
import { OpenFiles } from './open-files';
import { XattrOps } from './xattr';

export interface MountOperations {
  ops: Fuse.Operations;
  state: MountState;
  files: FileOps;
}

/**
 * The fuse-native operation table: each entry reads the caller from the
 * FUSE request (synchronously: the context belongs to the request being
 * dispatched), runs one async handler and answers with 0, a value or a
 * negative errno. Handlers live in one file per group of operations.
 */
export function createOperations(client: DfsClient, log: Logger, requestContext: () => Fuse.Context): MountOperations {
  const state: MountState = { client, files: new OpenFiles(), log };
  const attr = new AttrOps(state);
  const dir = new DirOps(state);
  const names = new NameOps(state);
  const file = new FileOps(state);
  const xattr = new XattrOps(state);
  const groups = new CallerGroups();

  /** Runs `work` for the current request; `answer` gets the result, failures become errnos. */
  function serve<T>(
    op: string,
    path: string,
    work: (caller: Caller) => Promise<T>,
    answer: (v: T) => void,
    fail: (code: number) => void,
  ): void {
    const { uid, gid, pid } = requestContext();
    const started = log.isLevelEnabled('debug') ? process.hrtime.bigint() : 0n;
    groups
      .resolve(uid, gid, pid)
      .then(work)
      .then(
        (v) => {
          if (started) log.debug({ op, path, uid, us: Number((process.hrtime.bigint() - started) / 1000n) }, 'op');
          answer(v);
        },
        (err: unknown) => fail(toFuseErrno(err, log, op, path)),
      );
  }

  /** For ops whose callback is (code) only. */
  function done(op: string, path: string, work: (c: Caller) => Promise<void>, cb: Fuse.Done): void {
    serve(op, path, work, () => cb(0), cb);
  }

  /** For ops whose callback is (code, value). */
  function value<T>(
    op: string,
    path: string,
    work: (c: Caller) => Promise<T>,
    cb: (code: number, v?: T) => void,
  ): void {
    serve(
      op,
      path,
      work,
      (v) => cb(0, v),
      (code) => cb(code),
    );
  }

  /** For read/write: the byte count travels in the code slot. */
  function count(op: string, path: string, work: (c: Caller) => Promise<number>, cb: Fuse.Done): void {
    serve(op, path, work, cb, cb);
  }

  const ops: Fuse.Operations = {
    getattr: (path, cb) => value('getattr', path, (c) => attr.getattr(c, path), cb),
    access: (path, mode, cb) => done('access', path, (c) => attr.access(c, path, mode), cb),
    chmod: (path, mode, cb) => done('chmod', path, (c) => attr.chmod(c, path, mode), cb),
    chown: (path, uid, gid, cb) => done('chown', path, (c) => attr.chown(c, path, uid, gid), cb),
    utimens: (path, atime, mtime, cb) => done('utimens', path, (c) => attr.utimens(c, path, atime, mtime), cb),
    truncate: (path, size, cb) => done('truncate', path, (c) => attr.truncate(c, path, size), cb),
    statfs: (path, cb) => value('statfs', path, () => attr.statfs(), cb),

    readdir: (path, cb) =>
      serve(
        'readdir',
        path,
        (c) => dir.readdir(c, path),
        (l) => cb(0, l.names, l.stats),
        (code) => cb(code),
      ),
    mkdir: (path, mode, cb) => done('mkdir', path, (c) => dir.mkdir(c, path, mode), cb),
    rmdir: (path, cb) => done('rmdir', path, (c) => dir.rmdir(c, path), cb),
    // Directory metadata is fsync'd by the name node before every reply.
    fsyncdir: (_path, _datasync, _fd, cb) => cb(0),

    unlink: (path, cb) => done('unlink', path, (c) => names.unlink(c, path), cb),
    rename: (from, to, cb) => done('rename', from, (c) => names.rename(c, from, to), cb),
    link: (existing, newPath, cb) => done('link', newPath, (c) => names.link(c, existing, newPath), cb),
    symlink: (target, path, cb) => done('symlink', path, (c) => names.symlink(c, target, path), cb),
    readlink: (path, cb) => value('readlink', path, (c) => names.readlink(c, path), cb),
    mknod: (path, mode, rdev, cb) => done('mknod', path, (c) => names.mknod(c, path, mode, rdev), cb),

    create: (path, mode, flags, cb) => value('create', path, (c) => file.create(c, path, mode, flags), cb),
    open: (path, flags, cb) => value('open', path, (c) => file.open(c, path, flags), cb),
    read: (path, fd, buf, len, pos, cb) => count('read', path, () => file.read(fd, buf, len, pos), cb),
    write: (path, fd, buf, len, pos, cb) => count('write', path, () => file.write(fd, buf, len, pos), cb),
    flush: (path, fd, cb) => done('flush', path, () => file.flush(fd), cb),
    fsync: (path, _datasync, fd, cb) => done('fsync', path, () => file.fsync(fd), cb),
    ftruncate: (path, fd, size, cb) => done('ftruncate', path, () => file.ftruncate(fd, size), cb),
    release: (path, fd, cb) => done('release', path, () => file.release(fd), cb),

    setxattr: (path, name, val, _position, flags, cb) =>
      done('setxattr', path, (c) => xattr.setxattr(c, path, name, val, flags), cb),
    getxattr: (path, name, _position, cb) => value('getxattr', path, (c) => xattr.getxattr(c, path, name), cb),
    listxattr: (path, cb) => value('listxattr', path, (c) => xattr.listxattr(c, path), cb),
    removexattr: (path, name, cb) => done('removexattr', path, (c) => xattr.removexattr(c, path, name), cb),
  };
  return { ops, state, files: file };
}
