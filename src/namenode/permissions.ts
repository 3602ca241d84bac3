import { DfsError } from '../rpc/errors';
import { type Caller, type Inode, isDir, S_ISVTX } from './inode';

export const MAY_READ = 4;
export const MAY_WRITE = 2;
export const MAY_EXEC = 1;

export function inGroup(caller: Caller, gid: number): boolean {
  return caller.gid === gid || caller.groups.includes(gid);
}

/**
 * POSIX access check: the owner's bits if the caller owns the inode, else the
 * group's if it is in the group (primary or supplementary), else the others'.
 * Root may read and write anything, and execute/search anything with at least one x bit (or any dir).
 */
export function mayAccess(inode: Inode, caller: Caller, mask: number): boolean {
  if (caller.uid === 0) {
    if (!(mask & MAY_EXEC)) return true;
    return isDir(inode) || (inode.mode & 0o111) !== 0;
  }
  let bits: number;
  if (caller.uid === inode.uid) bits = (inode.mode >> 6) & 7;
  else if (inGroup(caller, inode.gid)) bits = (inode.mode >> 3) & 7;
  else bits = inode.mode & 7;
  return (bits & mask) === mask;
}

export function checkAccess(inode: Inode, caller: Caller, mask: number, context: string): void {
  if (!mayAccess(inode, caller, mask)) {
    throw new DfsError('EACCES', `permission denied: ${context} (inode ${inode.ino}, uid ${caller.uid})`);
  }
}

export const isOwnerOrRoot = (inode: Inode, caller: Caller): boolean => caller.uid === 0 || caller.uid === inode.uid;

/** Sticky directory: only the entry's owner, the directory's owner or root may remove or rename the entry. */
export function checkSticky(dir: Inode, victim: Inode, caller: Caller, context: string): void {
  if (!(dir.mode & S_ISVTX) || caller.uid === 0 || caller.uid === dir.uid || caller.uid === victim.uid) return;
  throw new DfsError('EPERM', `sticky directory ${dir.ino}: ${context} not owned by uid ${caller.uid}`);
}
