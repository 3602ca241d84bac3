import { DfsError } from '../rpc/errors';
import {
  type Caller,
  type Inode,
  fileType,
  isDir,
  isRegular,
  isSymlink,
  PERMISSION_BITS,
  ROOT_INO,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  S_ISGID,
  S_ISUID,
} from './inode';
import { validateName, validateSymlinkTarget, NAME_MAX } from './names';
import {
  checkAccess,
  checkSticky,
  inGroup,
  isOwnerOrRoot,
  MAY_EXEC,
  MAY_READ,
  MAY_WRITE,
  mayAccess,
} from './permissions';
import type {
  InitializeRecord,
  LinkRecord,
  MknodRecord,
  NamespaceRecord,
  RemoveXattrRecord,
  RenameRecord,
  SetAttrRecord,
  SetXattrRecord,
  UnlinkRecord,
} from './records';

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
const XATTR_VALUE_MAX = 64 * 1024;
const LINK_MAX = 65_000;
const SYMLINK_FOLLOW_MAX = 40;
/** Sizes beyond this lose integer precision in a JS number. */
export const MAX_FILE_SIZE = 2 ** 52;

export interface SetAttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** -1 = now */
  atimeMs?: number;
  mtimeMs?: number;
}

export interface ReadDirPage {
  entries: { name: string; inode: Inode }[];
  more: boolean;
  /** The directory's change stamp as this page was read. */
  stamp: number;
}

/**
 * Serialized inode as it appears in a checkpoint: the inode's own fields, with
 * maps as entry lists and the in-memory hints (`sorted`, `link`) left out.
 */
export type InodeSnapshot = Omit<Inode, 'xattrs' | 'entries' | 'sorted' | 'link' | 'stamp'> & {
  /** name -> base64 value */
  xattrs?: [string, string][];
  entries?: [string, number][];
};

export interface NamespaceSnapshot {
  nextIno: number;
  inodes: InodeSnapshot[];
}

/**
 * The in-memory inode namespace: no I/O. Every mutation is split in two:
 * `plan*` checks the POSIX rules and permissions for a caller against the
 * current state and returns a record (or throws a DfsError); `apply` performs
 * a record without checks. The live path runs plan + apply, replay only apply,
 * so replayed state equals live state.
 */
export class Namespace {
  readonly inodes = new Map<number, Inode>();
  nextIno = ROOT_INO + 1;
  /**
   * Change stamps of directories' entries, which clients compare for equality
   * only (see DirChange in common.proto). They start at this process's start
   * time in microseconds and count up by one per change, so a later run
   * starts above every stamp an earlier one gave out unless that run made
   * more than one change per microsecond: no persistence needed. A directory
   * not changed since the start has the first stamp.
   */
  private readonly firstStamp = Date.now() * 1000;
  private lastStamp = this.firstStamp;

  static fresh(owner: { uid: number; gid: number }, now: number): Namespace {
    const ns = new Namespace();
    ns.inodes.set(ROOT_INO, {
      ino: ROOT_INO,
      mode: S_IFDIR | 0o755,
      uid: owner.uid,
      gid: owner.gid,
      nlink: 2,
      size: 0,
      atimeMs: now,
      mtimeMs: now,
      ctimeMs: now,
      rdev: 0,
      generation: 0,
      entries: new Map(),
      parent: ROOT_INO,
    });
    return ns;
  }

  get fileCount(): number {
    return this.inodes.size;
  }

  // ---- queries --------------------------------------------------------

  get(ino: number): Inode {
    const inode = this.inodes.get(ino);
    if (!inode) throw new DfsError('ENOENT', `no inode ${ino}`);
    return inode;
  }

  private dir(ino: number, context: string): Inode {
    const inode = this.get(ino);
    if (!isDir(inode)) throw new DfsError('ENOTDIR', `inode ${ino} is not a directory (${context})`);
    return inode;
  }

  lookup(caller: Caller, parent: number, name: string): Inode {
    const dir = this.dir(parent, `lookup ${name}`);
    checkAccess(dir, caller, MAY_EXEC, `search directory for '${name}'`);
    if (name === '.') return dir;
    if (name === '..') return this.get(dir.parent ?? ROOT_INO);
    const ino = dir.entries?.get(name);
    if (ino === undefined) {
      if (Buffer.byteLength(name, 'utf8') > NAME_MAX) throw new DfsError('ENAMETOOLONG', `name too long: ${name}`);
      throw new DfsError('ENOENT', `${name} (lookup in inode ${parent})`);
    }
    return this.get(ino);
  }

  /** An absolute path to its inode: search permission on every directory, symlinks followed (the last one if asked). */
  resolvePath(caller: Caller, path: string, followLast: boolean): Inode {
    if (!path.startsWith('/')) throw new DfsError('EINVAL', `not an absolute path: '${path}'`);
    let follows = 0;
    const walk = (start: Inode, parts: string[]): Inode => {
      let cur = start;
      for (let i = 0; i < parts.length; i++) {
        const name = parts[i];
        if (name === '' || name === '.') continue;
        if (!isDir(cur)) throw new DfsError('ENOTDIR', `${path}: '${name}' is under a non-directory`);
        const next = this.lookup(caller, cur.ino, name);
        const last = parts.slice(i + 1).every((p) => p === '' || p === '.');
        if (isSymlink(next) && (!last || followLast)) {
          if (++follows > SYMLINK_FOLLOW_MAX) throw new DfsError('ELOOP', `${path}: too many symlinks`);
          const target = next.target ?? '';
          const base = target.startsWith('/') ? this.get(ROOT_INO) : cur;
          cur = walk(base, target.split('/'));
        } else {
          cur = next;
        }
      }
      return cur;
    };
    return walk(this.get(ROOT_INO), path.split('/'));
  }

  readDir(caller: Caller, ino: number, after: string, limit: number): ReadDirPage {
    const dir = this.dir(ino, 'readdir');
    checkAccess(dir, caller, MAY_READ, 'read directory');
    dir.sorted ??= [...(dir.entries?.keys() ?? [])].sort();
    const names = dir.sorted;
    let lo = 0;
    if (after !== '') {
      let hi = names.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (names[mid] <= after) lo = mid + 1;
        else hi = mid;
      }
    }
    const slice = names.slice(lo, lo + limit);
    return {
      entries: slice.map((name) => ({ name, inode: this.get(dir.entries!.get(name)!) })),
      more: lo + limit < names.length,
      stamp: this.stampOf(dir.ino),
    };
  }

  readLink(ino: number): string {
    const inode = this.get(ino);
    if (!isSymlink(inode)) throw new DfsError('EINVAL', `inode ${ino} is not a symlink`);
    return inode.target ?? '';
  }

  getXattr(caller: Caller, ino: number, name: string): Buffer {
    const inode = this.get(ino);
    this.checkXattrAccess(inode, caller, name, MAY_READ);
    const value = inode.xattrs?.get(name);
    if (!value) throw new DfsError('ENODATA', `no attribute ${name} on inode ${ino}`);
    return value;
  }

  listXattr(caller: Caller, ino: number): string[] {
    const inode = this.get(ino);
    return [...(inode.xattrs?.keys() ?? [])].filter((n) => caller.uid === 0 || !n.startsWith('trusted.'));
  }

  /** Whether `ino` is `ancestor` or lies beneath it. */
  isWithin(ino: number, ancestor: number): boolean {
    let cur = ino;
    for (;;) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INO) return false;
      const inode = this.inodes.get(cur);
      if (!inode || inode.parent === undefined) return false;
      cur = inode.parent;
    }
  }

  // ---- plans: checks, then a record (null = nothing to change) ----------

  /** Create a file, directory, symlink, FIFO, socket or device. Non-exclusive create of an existing file returns it. */
  planMknod(
    caller: Caller,
    parent: number,
    name: string,
    mode: number,
    rdev: number,
    target: string,
    exclusive: boolean,
    now: number,
  ): MknodRecord | { existing: Inode } {
    const context = `create ${name} in inode ${parent}`;
    const dir = this.dir(parent, context);
    checkAccess(dir, caller, MAY_EXEC, context);
    validateName(name, context);
    let type = fileType(mode);
    if (type === 0) type = S_IFREG;
    if (![S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK].includes(type)) {
      throw new DfsError('EINVAL', `unknown file type ${type.toString(8)} (${context})`);
    }
    const existingIno = dir.entries!.get(name);
    if (existingIno !== undefined) {
      const existing = this.get(existingIno);
      if (!exclusive && type === S_IFREG && isRegular(existing)) return { existing };
      throw new DfsError('EEXIST', `${name} exists (${context})`);
    }
    checkAccess(dir, caller, MAY_WRITE, context);
    if ((type === S_IFCHR || type === S_IFBLK) && caller.uid !== 0) {
      throw new DfsError('EPERM', `only root may create device nodes (${context})`);
    }
    if (type === S_IFLNK) validateSymlinkTarget(target, context);
    let perm = type === S_IFLNK ? 0o777 : mode & PERMISSION_BITS;
    // BSD group semantics under a setgid directory, as Linux does.
    const setgidDir = (dir.mode & S_ISGID) !== 0;
    const gid = setgidDir ? dir.gid : caller.gid;
    if (type === S_IFDIR && setgidDir) perm |= S_ISGID;
    if (type !== S_IFDIR && perm & S_ISGID && caller.uid !== 0 && !inGroup(caller, gid)) perm &= ~S_ISGID;
    return {
      op: 'mknod',
      parent,
      name,
      ino: this.nextIno,
      mode: type | perm,
      uid: caller.uid,
      gid,
      rdev: type === S_IFCHR || type === S_IFBLK ? rdev : 0,
      ...(type === S_IFLNK ? { target } : {}),
      now,
    };
  }

  planLink(caller: Caller, ino: number, newParent: number, newName: string, now: number): LinkRecord {
    const context = `link inode ${ino} as ${newName} in inode ${newParent}`;
    const inode = this.get(ino);
    if (isDir(inode)) throw new DfsError('EPERM', `cannot hard-link a directory (${context})`);
    const dir = this.dir(newParent, context);
    checkAccess(dir, caller, MAY_EXEC, context);
    validateName(newName, context);
    if (dir.entries!.has(newName)) throw new DfsError('EEXIST', `${newName} exists (${context})`);
    checkAccess(dir, caller, MAY_WRITE, context);
    if (inode.nlink >= LINK_MAX) throw new DfsError('EMLINK', `too many links (${context})`);
    return { op: 'link', ino, parent: newParent, name: newName, now };
  }

  planUnlink(caller: Caller, parent: number, name: string, now: number): UnlinkRecord {
    const context = `unlink ${name} in inode ${parent}`;
    const dir = this.dir(parent, context);
    checkAccess(dir, caller, MAY_EXEC, context);
    if (name === '.' || name === '..') throw new DfsError('EISDIR', `cannot unlink '${name}' (${context})`);
    validateName(name, context);
    const victim = this.entry(dir, name, context);
    if (isDir(victim)) throw new DfsError('EISDIR', `${name} is a directory (${context})`);
    checkAccess(dir, caller, MAY_WRITE, context);
    checkSticky(dir, victim, caller, context);
    return { op: 'unlink', parent, name, now };
  }

  planRmdir(caller: Caller, parent: number, name: string, now: number): UnlinkRecord {
    const context = `rmdir ${name} in inode ${parent}`;
    const dir = this.dir(parent, context);
    checkAccess(dir, caller, MAY_EXEC, context);
    if (name === '.') throw new DfsError('EINVAL', `cannot remove '.' (${context})`);
    if (name === '..') throw new DfsError('ENOTEMPTY', `cannot remove '..' (${context})`);
    validateName(name, context);
    const victim = this.entry(dir, name, context);
    if (!isDir(victim)) throw new DfsError('ENOTDIR', `${name} is not a directory (${context})`);
    if (victim.entries!.size > 0) throw new DfsError('ENOTEMPTY', `${name} is not empty (${context})`);
    checkAccess(dir, caller, MAY_WRITE, context);
    checkSticky(dir, victim, caller, context);
    return { op: 'rmdir', parent, name, now };
  }

  planRename(
    caller: Caller,
    parent: number,
    name: string,
    newParent: number,
    newName: string,
    flags: number,
    now: number,
  ): RenameRecord | null {
    const context = `rename ${name} in inode ${parent} to ${newName} in inode ${newParent}`;
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE) || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
      throw new DfsError('EINVAL', `bad rename flags ${flags} (${context})`);
    }
    const srcDir = this.dir(parent, context);
    const dstDir = this.dir(newParent, context);
    checkAccess(srcDir, caller, MAY_EXEC, context);
    checkAccess(dstDir, caller, MAY_EXEC, context);
    validateName(name, context);
    validateName(newName, context);
    const src = this.entry(srcDir, name, context);
    const existingIno = dstDir.entries!.get(newName);
    const existing = existingIno === undefined ? undefined : this.get(existingIno);
    checkAccess(srcDir, caller, MAY_WRITE, context);
    checkAccess(dstDir, caller, MAY_WRITE, context);
    checkSticky(srcDir, src, caller, context);
    if (existing) checkSticky(dstDir, existing, caller, context);

    if (flags & RENAME_EXCHANGE) {
      if (!existing) throw new DfsError('ENOENT', `${newName} does not exist (${context})`);
      if (existing === src) return null;
      if (isDir(src) && this.isWithin(dstDir.ino, src.ino)) {
        throw new DfsError('EINVAL', `cannot move a directory into itself (${context})`);
      }
      if (isDir(existing) && this.isWithin(srcDir.ino, existing.ino)) {
        throw new DfsError('EINVAL', `cannot move a directory into itself (${context})`);
      }
      if (srcDir !== dstDir) {
        this.checkDirMove(src, caller, context);
        this.checkDirMove(existing, caller, context);
      }
      return { op: 'rename', parent, name, newParent, newName, flags, now };
    }
    if (existing) {
      if (flags & RENAME_NOREPLACE) throw new DfsError('EEXIST', `${newName} exists (${context})`);
      if (existing === src) return null; // two links to one inode: POSIX says do nothing
    }
    if (isDir(src)) {
      if (this.isWithin(dstDir.ino, src.ino)) {
        throw new DfsError('EINVAL', `cannot move a directory into its own subtree (${context})`);
      }
      if (existing && !isDir(existing)) throw new DfsError('ENOTDIR', `${newName} is not a directory (${context})`);
      if (existing && existing.entries!.size > 0) {
        throw new DfsError('ENOTEMPTY', `${newName} is not empty (${context})`);
      }
      if (srcDir !== dstDir) this.checkDirMove(src, caller, context);
    } else if (existing && isDir(existing)) {
      throw new DfsError('EISDIR', `${newName} is a directory (${context})`);
    }
    return { op: 'rename', parent, name, newParent, newName, flags, now };
  }

  /** Moving a directory to another parent rewrites its '..': that needs write permission on it. */
  private checkDirMove(inode: Inode, caller: Caller, context: string): void {
    if (isDir(inode)) checkAccess(inode, caller, MAY_WRITE, `${context}: update '..'`);
  }

  planSetAttr(caller: Caller, ino: number, changes: SetAttrChanges, now: number): SetAttrRecord {
    const inode = this.get(ino);
    const context = `setattr inode ${ino}`;
    const rec: SetAttrRecord = { op: 'setattr', ino, now };
    let mode = inode.mode;
    if (changes.mode !== undefined) {
      if (!isOwnerOrRoot(inode, caller)) throw new DfsError('EPERM', `chmod by non-owner (${context})`);
      mode = (inode.mode & S_IFMT) | (changes.mode & PERMISSION_BITS);
      const gid = changes.gid ?? inode.gid;
      if (!isDir(inode) && mode & S_ISGID && caller.uid !== 0 && !inGroup(caller, gid)) mode &= ~S_ISGID;
    }
    if (changes.uid !== undefined && changes.uid !== inode.uid && caller.uid !== 0) {
      throw new DfsError('EPERM', `only root may change the owner (${context})`);
    }
    if (changes.gid !== undefined && changes.gid !== inode.gid && caller.uid !== 0) {
      if (caller.uid !== inode.uid || !inGroup(caller, changes.gid)) {
        throw new DfsError('EPERM', `chgrp to ${changes.gid} not allowed for uid ${caller.uid} (${context})`);
      }
    }
    const owned =
      (changes.uid !== undefined && changes.uid !== inode.uid) ||
      (changes.gid !== undefined && changes.gid !== inode.gid);
    if (owned && !isDir(inode)) mode &= ~(S_ISUID | S_ISGID); // chown drops set-id bits, as Linux does
    if (mode !== inode.mode) rec.mode = mode;
    if (changes.uid !== undefined) rec.uid = changes.uid;
    if (changes.gid !== undefined) rec.gid = changes.gid;
    if (changes.size !== undefined) {
      if (isDir(inode)) throw new DfsError('EISDIR', `cannot truncate a directory (${context})`);
      if (!isRegular(inode)) throw new DfsError('EINVAL', `cannot truncate a non-regular file (${context})`);
      if (!Number.isSafeInteger(changes.size) || changes.size < 0) {
        throw new DfsError('EINVAL', `bad size ${changes.size} (${context})`);
      }
      if (changes.size > MAX_FILE_SIZE) throw new DfsError('EFBIG', `size ${changes.size} too large (${context})`);
      // The owner may truncate a file it created read-only (open(O_CREAT|O_WRONLY, 0444) then ftruncate).
      if (!isOwnerOrRoot(inode, caller)) checkAccess(inode, caller, MAY_WRITE, context);
      rec.size = changes.size;
      if (changes.size !== inode.size && changes.mtimeMs === undefined) rec.mtimeMs = now;
    }
    for (const key of ['atimeMs', 'mtimeMs'] as const) {
      const t = changes[key];
      if (t === undefined) continue;
      if (t === -1) {
        if (!isOwnerOrRoot(inode, caller) && !mayAccess(inode, caller, MAY_WRITE)) {
          throw new DfsError('EACCES', `set times to now needs write permission (${context})`);
        }
        rec[key] = now;
      } else {
        if (!isOwnerOrRoot(inode, caller)) throw new DfsError('EPERM', `set times by non-owner (${context})`);
        rec[key] = t;
      }
    }
    return rec;
  }

  planSetXattr(caller: Caller, ino: number, name: string, value: Buffer, flags: number, now: number): SetXattrRecord {
    const inode = this.get(ino);
    this.checkXattrAccess(inode, caller, name, MAY_WRITE);
    if (value.length > XATTR_VALUE_MAX) throw new DfsError('E2BIG', `xattr value over ${XATTR_VALUE_MAX} bytes`);
    const exists = inode.xattrs?.has(name) ?? false;
    if (flags & XATTR_CREATE && exists) throw new DfsError('EEXIST', `xattr ${name} exists on inode ${ino}`);
    if (flags & XATTR_REPLACE && !exists) throw new DfsError('ENODATA', `no xattr ${name} on inode ${ino}`);
    return { op: 'setxattr', ino, name, value: value.toString('base64'), now };
  }

  planRemoveXattr(caller: Caller, ino: number, name: string, now: number): RemoveXattrRecord {
    const inode = this.get(ino);
    this.checkXattrAccess(inode, caller, name, MAY_WRITE);
    if (!inode.xattrs?.has(name)) throw new DfsError('ENODATA', `no xattr ${name} on inode ${ino}`);
    return { op: 'removexattr', ino, name, now };
  }

  private checkXattrAccess(inode: Inode, caller: Caller, name: string, mask: number): void {
    const context = `xattr ${name} on inode ${inode.ino}`;
    if (name.length === 0 || Buffer.byteLength(name) > 255) throw new DfsError('ERANGE', `bad xattr name (${context})`);
    if (name.startsWith('user.')) {
      if (!isRegular(inode) && !isDir(inode))
        throw new DfsError('EPERM', `user xattrs only on files and dirs (${context})`);
      checkAccess(inode, caller, mask, context);
    } else if (name.startsWith('trusted.')) {
      if (caller.uid !== 0) throw new DfsError('EPERM', `trusted xattrs are root only (${context})`);
    } else if (name.startsWith('security.')) {
      if (mask === MAY_WRITE && !isOwnerOrRoot(inode, caller)) checkAccess(inode, caller, mask, context);
    } else {
      throw new DfsError('EOPNOTSUPP', `unsupported xattr namespace (${context})`);
    }
  }

  planInitialize(caller: Caller, now: number): InitializeRecord {
    if (!isOwnerOrRoot(this.get(ROOT_INO), caller)) {
      throw new DfsError('EPERM', `only root or the owner of / may initialize the file system`);
    }
    return { op: 'initialize', now };
  }

  private entry(dir: Inode, name: string, context: string): Inode {
    const ino = dir.entries!.get(name);
    if (ino === undefined) throw new DfsError('ENOENT', `${name} does not exist (${context})`);
    return this.get(ino);
  }

  // ---- apply: no checks, deterministic --------------------------------

  /** Performs a record; returns the inodes whose last link went away (their chunks must go too). */
  apply(rec: NamespaceRecord): number[] {
    const freed: number[] = [];
    switch (rec.op) {
      case 'mknod': {
        const dir = this.get(rec.parent);
        const type = rec.mode & S_IFMT;
        const inode: Inode = {
          ino: rec.ino,
          mode: rec.mode,
          uid: rec.uid,
          gid: rec.gid,
          nlink: type === S_IFDIR ? 2 : 1,
          size: rec.target !== undefined ? Buffer.byteLength(rec.target) : 0,
          atimeMs: rec.now,
          mtimeMs: rec.now,
          ctimeMs: rec.now,
          rdev: rec.rdev,
          generation: 0,
        };
        if (type === S_IFDIR) {
          inode.entries = new Map();
          inode.parent = dir.ino;
          dir.nlink++;
        }
        if (rec.target !== undefined) inode.target = rec.target;
        this.inodes.set(rec.ino, inode);
        this.nextIno = Math.max(this.nextIno, rec.ino + 1);
        this.addEntry(dir, rec.name, rec.ino, rec.now);
        break;
      }
      case 'link': {
        const inode = this.get(rec.ino);
        inode.nlink++;
        inode.ctimeMs = rec.now;
        this.addEntry(this.get(rec.parent), rec.name, rec.ino, rec.now);
        break;
      }
      case 'unlink':
      case 'rmdir': {
        const dir = this.get(rec.parent);
        const victim = this.get(dir.entries!.get(rec.name)!);
        this.removeEntry(dir, rec.name, rec.now);
        this.dropLink(victim, dir, rec.now, freed);
        break;
      }
      case 'rename':
        this.applyRename(rec, freed);
        break;
      case 'setattr': {
        const inode = this.get(rec.ino);
        if (rec.mode !== undefined) inode.mode = rec.mode;
        if (rec.uid !== undefined) inode.uid = rec.uid;
        if (rec.gid !== undefined) inode.gid = rec.gid;
        if (rec.size !== undefined) {
          if (rec.size !== inode.size) inode.generation++;
          inode.size = rec.size;
        }
        if (rec.atimeMs !== undefined) inode.atimeMs = rec.atimeMs;
        if (rec.mtimeMs !== undefined) inode.mtimeMs = rec.mtimeMs;
        inode.ctimeMs = rec.now;
        break;
      }
      case 'setxattr': {
        const inode = this.get(rec.ino);
        inode.xattrs ??= new Map();
        inode.xattrs.set(rec.name, Buffer.from(rec.value, 'base64'));
        inode.ctimeMs = rec.now;
        break;
      }
      case 'removexattr': {
        const inode = this.get(rec.ino);
        inode.xattrs?.delete(rec.name);
        inode.ctimeMs = rec.now;
        break;
      }
      case 'initialize': {
        const root = this.get(ROOT_INO);
        for (const inode of this.inodes.values()) {
          if (inode.ino === ROOT_INO) continue;
          if (isRegular(inode)) freed.push(inode.ino);
        }
        for (const ino of [...this.inodes.keys()]) if (ino !== ROOT_INO) this.inodes.delete(ino);
        root.entries = new Map();
        root.stamp = ++this.lastStamp;
        root.sorted = undefined;
        root.nlink = 2;
        root.mtimeMs = root.ctimeMs = rec.now;
        break;
      }
    }
    return freed;
  }

  private applyRename(rec: RenameRecord, freed: number[]): void {
    const srcDir = this.get(rec.parent);
    const dstDir = this.get(rec.newParent);
    const src = this.get(srcDir.entries!.get(rec.name)!);
    const existingIno = dstDir.entries!.get(rec.newName);
    const existing = existingIno === undefined ? undefined : this.get(existingIno);
    if (rec.flags & RENAME_EXCHANGE && existing) {
      srcDir.entries!.set(rec.name, existing.ino);
      dstDir.entries!.set(rec.newName, src.ino);
      if (!isDir(existing)) existing.link = { parent: srcDir.ino, name: rec.name };
      if (!isDir(src)) src.link = { parent: dstDir.ino, name: rec.newName };
      if (srcDir !== dstDir) {
        this.reparent(src, srcDir, dstDir);
        this.reparent(existing, dstDir, srcDir);
      }
      src.ctimeMs = existing.ctimeMs = rec.now;
      for (const d of [srcDir, dstDir]) {
        d.mtimeMs = d.ctimeMs = rec.now;
      }
      return;
    }
    if (existing) {
      this.removeEntry(dstDir, rec.newName, rec.now);
      this.dropLink(existing, dstDir, rec.now, freed);
    }
    this.removeEntry(srcDir, rec.name, rec.now);
    this.addEntry(dstDir, rec.newName, src.ino, rec.now);
    if (srcDir !== dstDir) this.reparent(src, srcDir, dstDir);
    src.ctimeMs = rec.now;
  }

  private reparent(inode: Inode, from: Inode, to: Inode): void {
    if (!isDir(inode)) return;
    inode.parent = to.ino;
    from.nlink--;
    to.nlink++;
  }

  /** The change stamp of directory `ino`'s entries; 0 when there is no such directory. */
  stampOf(ino: number): number {
    const dir = this.inodes.get(ino);
    if (!dir?.entries) return 0;
    return dir.stamp ?? this.firstStamp;
  }

  private addEntry(dir: Inode, name: string, ino: number, now: number): void {
    dir.entries!.set(name, ino);
    dir.stamp = ++this.lastStamp;
    const child = this.inodes.get(ino);
    if (child && !isDir(child)) child.link = { parent: dir.ino, name };
    dir.sorted = undefined;
    dir.mtimeMs = dir.ctimeMs = now;
  }

  private removeEntry(dir: Inode, name: string, now: number): void {
    dir.entries!.delete(name);
    dir.stamp = ++this.lastStamp;
    dir.sorted = undefined;
    dir.mtimeMs = dir.ctimeMs = now;
  }

  /** One name of `victim` was removed from `dir`: directories go at once, files when their last link goes. */
  private dropLink(victim: Inode, dir: Inode, now: number, freed: number[]): void {
    victim.ctimeMs = now;
    if (isDir(victim)) {
      dir.nlink--;
      victim.nlink = 0;
      this.inodes.delete(victim.ino);
      return;
    }
    victim.nlink--;
    if (victim.nlink <= 0) {
      this.inodes.delete(victim.ino);
      freed.push(victim.ino);
    }
  }

  // ---- storage classes ------------------------------------------------

  /** Sets (or with undefined clears) the class of an inode; `recursive` clears every class set below it. */
  setStorageClass(ino: number, className: string | undefined, recursive: boolean): void {
    const inode = this.get(ino);
    if (className === undefined) delete inode.storageClass;
    else inode.storageClass = className;
    if (!recursive || !isDir(inode)) return;
    const stack = [...(inode.entries?.values() ?? [])];
    const seen = new Set<number>([ino]);
    while (stack.length > 0) {
      const child = this.inodes.get(stack.pop()!);
      if (!child || seen.has(child.ino)) continue;
      seen.add(child.ino);
      delete child.storageClass;
      if (child.entries) stack.push(...child.entries.values());
    }
  }

  /** A directory entry naming a non-directory inode: its link hint, or (stale hint) the first found. */
  locate(ino: number): { parent: number; name: string } | undefined {
    const inode = this.inodes.get(ino);
    if (!inode || isDir(inode)) return undefined;
    const hint = inode.link;
    if (hint && this.inodes.get(hint.parent)?.entries?.get(hint.name) === ino) return hint;
    delete inode.link;
    for (const dir of this.inodes.values()) {
      if (!dir.entries) continue;
      for (const [name, child] of dir.entries) {
        if (child === ino) return (inode.link = { parent: dir.ino, name });
      }
    }
    return undefined;
  }

  /** Rebuilds the link hints after a restore (they are not in the checkpoint). */
  private relink(): void {
    for (const dir of this.inodes.values()) {
      for (const [name, ino] of dir.entries ?? []) {
        const child = this.inodes.get(ino);
        if (child && !isDir(child) && !child.link) child.link = { parent: dir.ino, name };
      }
    }
  }

  // ---- checkpoint -----------------------------------------------------

  snapshot(): NamespaceSnapshot {
    const inodes: InodeSnapshot[] = [];
    for (const i of this.inodes.values()) {
      const s: InodeSnapshot = {
        ino: i.ino,
        mode: i.mode,
        uid: i.uid,
        gid: i.gid,
        nlink: i.nlink,
        size: i.size,
        atimeMs: i.atimeMs,
        mtimeMs: i.mtimeMs,
        ctimeMs: i.ctimeMs,
        rdev: i.rdev,
        generation: i.generation,
      };
      if (i.xattrs?.size) s.xattrs = [...i.xattrs].map(([k, v]) => [k, v.toString('base64')]);
      if (i.entries) s.entries = [...i.entries];
      if (i.parent !== undefined) s.parent = i.parent;
      if (i.target !== undefined) s.target = i.target;
      if (i.storageClass !== undefined) s.storageClass = i.storageClass;
      inodes.push(s);
    }
    return { nextIno: this.nextIno, inodes };
  }

  static restore(snap: NamespaceSnapshot): Namespace {
    const ns = new Namespace();
    ns.nextIno = snap.nextIno;
    for (const s of snap.inodes) {
      const inode: Inode = {
        ino: s.ino,
        mode: s.mode,
        uid: s.uid,
        gid: s.gid,
        nlink: s.nlink,
        size: s.size,
        atimeMs: s.atimeMs,
        mtimeMs: s.mtimeMs,
        ctimeMs: s.ctimeMs,
        rdev: s.rdev,
        generation: s.generation,
      };
      if (s.xattrs) inode.xattrs = new Map(s.xattrs.map(([k, v]) => [k, Buffer.from(v, 'base64')]));
      if (s.entries) inode.entries = new Map(s.entries);
      if (s.parent !== undefined) inode.parent = s.parent;
      if (s.target !== undefined) inode.target = s.target;
      if (s.storageClass !== undefined) inode.storageClass = s.storageClass;
      ns.inodes.set(s.ino, inode);
    }
    if (!ns.inodes.has(ROOT_INO)) throw new DfsError('EIO', 'checkpoint has no root inode');
    ns.relink();
    return ns;
  }
}
