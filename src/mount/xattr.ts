import type { Caller } from '../client/types';
import { DfsError } from '../rpc/errors';
import type { MountState } from './mount-state';

/**
 * Names the mount refuses instead of storing them without their meaning:
 * POSIX ACLs would not be enforced (permissions are checked by mode bits in
 * the name node), and file capabilities do not travel with a network file.
 * The kernel asks for security.capability before every write, so that
 * answer must not cost a name node round trip; DfsFuse has fuse-native give
 * it on the FUSE thread (noSecurityCapability), so it rarely gets here.
 */
function unsupported(name: string): boolean {
  return name.startsWith('system.posix_acl_') || name === 'security.capability';
}

/** setxattr, getxattr, listxattr, removexattr. */
export class XattrOps {
  constructor(private readonly m: MountState) {}

  async setxattr(caller: Caller, path: string, name: string, value: Buffer, flags: number): Promise<void> {
    if (unsupported(name)) throw new DfsError('EOPNOTSUPP', `${name} is not supported on dfs`);
    // The value lives in the FUSE thread's memory, detached once we answer.
    await this.m.client.setxattr(path, name, Buffer.from(value), flags, caller);
  }

  getxattr(caller: Caller, path: string, name: string): Promise<Buffer> {
    if (unsupported(name)) return Promise.reject(new DfsError('ENODATA', `${path} has no ${name}`));
    return this.m.client.getxattr(path, name, caller);
  }

  listxattr(caller: Caller, path: string): Promise<string[]> {
    return this.m.client.listxattr(path, caller);
  }

  removexattr(caller: Caller, path: string, name: string): Promise<void> {
    if (unsupported(name)) return Promise.reject(new DfsError('ENODATA', `${path} has no ${name}`));
    return this.m.client.removexattr(path, name, caller);
  }
}
