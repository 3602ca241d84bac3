import type Fuse from 'fuse-native';
import type { Caller } from '../client/types';
import type { MountState } from './mount-state';
import { toStat } from './stat';

export interface Listing {
  names: string[];
  stats: Fuse.Stat[];
}

/** readdir, mkdir, rmdir. */
export class DirOps {
  constructor(private readonly m: MountState) {}

  /**
   * One name node listing with attributes: libfuse2 only keeps the type and
   * inode number of each entry, but the client seeds its attribute cache
   * from it, so the lookups `ls -l` sends next are answered locally.
   */
  async readdir(caller: Caller, path: string): Promise<Listing> {
    const parentPath = path === '/' ? '/' : path.slice(0, path.lastIndexOf('/')) || '/';
    const [entries, self, parent] = await Promise.all([
      this.m.client.readdir(path, caller),
      this.m.client.stat(path, caller),
      this.m.client.stat(parentPath, caller),
    ]);
    const names = ['.', '..'];
    const stats = [toStat(self), toStat(parent)];
    for (const e of entries) {
      names.push(e.name);
      stats.push(toStat(e.attr));
    }
    return { names, stats };
  }

  async mkdir(caller: Caller, path: string, mode: number): Promise<void> {
    await this.m.client.mkdir(path, mode & 0o7777, caller);
  }

  rmdir(caller: Caller, path: string): Promise<void> {
    return this.m.client.rmdir(path, caller);
  }
}
