import type Fuse from 'fuse-native';
import type { Caller, SetAttrChanges } from '../client/types';
import type { MountState } from './mount-state';
import { toStat, toStatfs } from './stat';

/** chown(2) passes (uid_t)-1 for "leave unchanged". */
const UNCHANGED_ID = 0xffff_ffff;

/** getattr, access, chmod, chown, utimens, truncate, statfs. */
export class AttrOps {
  constructor(private readonly m: MountState) {}

  async getattr(caller: Caller, path: string): Promise<Fuse.Stat> {
    const attr = await this.m.client.stat(path, caller);
    return toStat(attr);
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

  /** The client commits this process's buffered writes first, so explicit times win (`cp -p`, `touch -m`). */
  async utimens(caller: Caller, path: string, atime: Fuse.Time, mtime: Fuse.Time): Promise<void> {
    const changes: SetAttrChanges = {};
    if (atime !== 'omit') changes.atimeMs = atime;
    if (mtime !== 'omit') changes.mtimeMs = mtime;
    if (changes.atimeMs === undefined && changes.mtimeMs === undefined) return;
    await this.m.client.setattr(path, changes, caller);
  }

  /** truncate(2) by path: the client routes it through the file's shared writer when it is open here. */
  async truncate(caller: Caller, path: string, size: number): Promise<void> {
    await this.m.client.setattr(path, { size }, caller);
  }

  async statfs(): Promise<Fuse.Statfs> {
    return toStatfs(await this.m.client.statfs());
  }
}
