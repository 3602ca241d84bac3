import { constants } from 'node:fs';
import type { Caller } from '../client/types';
import type { MountState } from './mount-state';

/** Names and links: unlink, rename, link, symlink, readlink, mknod. */
export class NameOps {
  constructor(private readonly m: MountState) {}

  unlink(caller: Caller, path: string): Promise<void> {
    return this.m.client.unlink(path, caller);
  }

  /** Atomic, replacing an existing target (the name node does it in one journaled step). */
  async rename(caller: Caller, from: string, to: string): Promise<void> {
    await this.m.client.rename(from, to, caller);
    for (const f of this.m.files.all()) {
      if (f.path === from) f.path = to;
    }
  }

  async link(caller: Caller, existing: string, newPath: string): Promise<void> {
    await this.m.client.link(existing, newPath, caller);
  }

  async symlink(caller: Caller, target: string, path: string): Promise<void> {
    await this.m.client.symlink(target, path, caller);
  }

  readlink(caller: Caller, path: string): Promise<string> {
    return this.m.client.readlink(path, caller);
  }

  /**
   * Regular files go through create; FIFOs, sockets and devices are kept as
   * metadata only (as MooseFS does): opening one on the mount gives the
   * kernel's own FIFO/device behaviour, never data from the cluster.
   */
  async mknod(caller: Caller, path: string, mode: number, rdev: number): Promise<void> {
    const type = mode & constants.S_IFMT;
    if (type === 0 || type === constants.S_IFREG) {
      await this.m.client.create(path, mode & 0o7777, caller, { exclusive: true });
      return;
    }
    await this.m.client.mknod(path, mode, rdev, caller);
  }
}
