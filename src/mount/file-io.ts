import { constants } from 'node:fs';
import type { Caller, FileHandle } from '../client/types';
import { DfsError } from '../rpc/errors';
import type { MountState } from './mount-state';
import type { OpenFile } from './open-files';

const { O_RDONLY, O_APPEND, O_CREAT, O_EXCL } = constants;
/** Not in Node's typings; the same on every Linux architecture. */
const O_ACCMODE = 0o3;

/** The flags a client handle cares about; the kernel has already dealt with O_TRUNC and O_CREAT. */
function handleFlags(flags: number): number {
  return flags & (O_ACCMODE | O_APPEND);
}

function isWritable(flags: number): boolean {
  return (flags & O_ACCMODE) !== O_RDONLY;
}

/** create, open, read, write, flush, fsync, release, ftruncate. */
export class FileOps {
  constructor(private readonly m: MountState) {}

  /**
   * The client shares one writer and size between every handle of an inode,
   * so a new fd sees what other fds of this mount wrote without a commit.
   */
  async open(caller: Caller, path: string, flags: number): Promise<number> {
    const handle = await this.m.client.open(path, { flags: handleFlags(flags) }, caller);
    return this.register(handle, path, flags).fd;
  }

  /**
   * The kernel calls create only after a lookup found no such name, but another
   * mount may have created it since: the client's O_CREAT open handles both in
   * one round trip for a new file (and O_EXCL, and POSIX's rule that the
   * creating open is not checked against the new mode).
   */
  async create(caller: Caller, path: string, mode: number, flags: number): Promise<number> {
    const handle = await this.m.client.open(
      path,
      { flags: handleFlags(flags) | O_CREAT | (flags & O_EXCL), mode: mode & 0o7777 },
      caller,
    );
    return this.register(handle, path, flags).fd;
  }

  /** Reads see what other fds of this mount wrote to the file (the client shares their writer). */
  async read(fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const file = this.m.files.get(fd);
    const data = await file.handle.read(pos, len);
    return data.copy(buf, 0, 0, Math.min(len, data.length));
  }

  /**
   * `buf` is the FUSE thread's memory and is detached once we answer: the
   * client copies what it keeps before its write resolves.
   */
  async write(fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
    const file = this.m.files.get(fd);
    if (!file.writable) throw new DfsError('EBADF', `${file.path} is not open for writing`);
    return file.handle.write(pos, len === buf.length ? buf : buf.subarray(0, len));
  }

  /** close(2): the data is on every replica and committed when this returns (guarantee 1). */
  flush(fd: number): Promise<void> {
    return this.m.files.get(fd).handle.flush();
  }

  fsync(fd: number): Promise<void> {
    return this.m.files.get(fd).handle.fsync();
  }

  async ftruncate(fd: number, size: number): Promise<void> {
    const file = this.m.files.get(fd);
    if (!file.writable) throw new DfsError('EBADF', `${file.path} is not open for writing`);
    await file.handle.truncate(size);
  }

  /** The kernel ignores release errors (close(2) already got flush's), so they are logged. */
  async release(fd: number): Promise<void> {
    const file = this.m.files.remove(fd);
    if (!file) return;
    try {
      await file.handle.close();
    } catch (err) {
      this.m.log.warn({ path: file.path, err: String(err) }, 'closing a released file failed');
    }
  }

  /** Closes every open file (unmount): buffered data is still committed when possible. */
  async releaseAll(): Promise<void> {
    await Promise.all(this.m.files.all().map((f) => this.release(f.fd)));
  }

  private register(handle: FileHandle, path: string, flags: number): OpenFile {
    return this.m.files.add(handle, path, isWritable(flags));
  }
}
