import type Fuse from 'fuse-native';
import type { Caller, SetAttrChanges } from '../client/types';
import type { MountState } from './mount-state';
import { effectiveSize, flushDirtySiblings, flushFile, markWritten } from './open-files';
import { toStat, toStatfs } from './stat';

/** chown(2) passes (uid_t)-1 for "leave unchanged". */
const UNCHANGED_ID = 0xffff_ffff;

/** getattr, access, chmod, chown, utimens, truncate, statfs. */
export class AttrOps {
  constructor(private readonly m: MountState) {}

  async getattr(caller: Caller, path: string): Promise<Fuse.Stat> {
    const attr = await this.m.client.stat(path, caller);
    return toStat(attr, effectiveSize(this.m.files, attr.ino, attr.size));
  }

  access(caller: Caller, path: string, mask: number): Promise<void> {
    return this.m.client.access(path, mask, caller);
  }

  async chmod(caller: Caller, path: string, mode: number): Promise<void> {
    await this.m.client.setattr(path, { mode: mode & 0o7777 }, caller);
  }

  async chown(caller: Caller, path: string, uid: number, gid: number): Promise<void> {
    const changes: SetAttrChanges = {};
    if (uid !== UNCHANGED_ID) changes.uid = uid;
    if (gid !== UNCHANGED_ID) changes.gid = gid;
    if (changes.uid === undefined && changes.gid === undefined) return;
    await this.m.client.setattr(path, changes, caller);
  }

  /**
   * Explicit times must win over the mtime a later commit of buffered data
   * would set (`cp -p`, `touch -m` on a file still open): dirty fds are
   * flushed first.
   */
  async utimens(caller: Caller, path: string, atime: Fuse.Time, mtime: Fuse.Time): Promise<void> {
    const changes: SetAttrChanges = {};
    if (atime !== 'omit') changes.atimeMs = atime;
    if (mtime !== 'omit') changes.mtimeMs = mtime;
    if (changes.atimeMs === undefined && changes.mtimeMs === undefined) return;
    await this.flushWriters(caller, path);
    await this.m.client.setattr(path, changes, caller);
  }

  /**
   * truncate(2) by path. When this mount has the file open for writing, the
   * truncate goes through that fd so its buffered writes and size stay
   * coherent; it is flushed at once since truncate(2) is not buffered.
   */
  async truncate(caller: Caller, path: string, size: number): Promise<void> {
    const attr = await this.m.client.stat(path, caller);
    const writers = this.m.files.forIno(attr.ino).filter((f) => f.writable);
    if (writers.length === 0) {
      await this.m.client.setattr(path, { size }, caller);
      return;
    }
    const target = writers.reduce((a, b) => (b.lastWriteAt > a.lastWriteAt ? b : a));
    await flushDirtySiblings(this.m.files, attr.ino, target);
    await target.handle.truncate(size);
    markWritten(target);
    await flushFile(target);
  }

  async statfs(): Promise<Fuse.Statfs> {
    return toStatfs(await this.m.client.statfs());
  }

  private async flushWriters(caller: Caller, path: string): Promise<void> {
    if (this.m.files.size === 0) return;
    const attr = await this.m.client.stat(path, caller);
    await flushDirtySiblings(this.m.files, attr.ino);
  }
}
