/** File type and permission bits of st_mode, as the kernel defines them. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
export const PERMISSION_BITS = 0o7777;

export const ROOT_INO = 1;

/** One inode of the namespace. Directories keep their entries and their parent (for '..' and subtree checks). */
export interface Inode {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  rdev: number;
  /** Bumped on every data change so client caches notice. */
  generation: number;
  xattrs?: Map<string, Buffer>;
  /** Directories only: name -> inode number. */
  entries?: Map<string, number>;
  /** Directories only: the containing directory (root: itself). */
  parent?: number;
  /** Directories only: the namespace's change stamp of the last change to `entries` (not persisted; see Namespace.stampOf). */
  stamp?: number;
  /** Directories only: entry names in order, rebuilt lazily after a change (ReadDir pages through it). */
  sorted?: string[];
  /** Symlinks only. */
  target?: string;
  /** The storage class set on this inode (class-rules.ts decides what applies). */
  storageClass?: string;
  /**
   * Non-directories: the directory entry it was last linked under. A hint,
   * not persisted: checked at use, searched for when stale (hard links).
   */
  link?: { parent: number; name: string };
}

/** Who performs an operation; root (uid 0) bypasses permission bits. */
export interface Caller {
  uid: number;
  gid: number;
  groups: readonly number[];
  requestId?: string;
  /** The client instance making a namespace mutation ('' or absent: unknown). */
  client?: string;
}

export const ROOT_CALLER: Caller = { uid: 0, gid: 0, groups: [] };

export const fileType = (mode: number): number => mode & S_IFMT;
export const isDir = (i: Inode): boolean => fileType(i.mode) === S_IFDIR;
export const isRegular = (i: Inode): boolean => fileType(i.mode) === S_IFREG;
export const isSymlink = (i: Inode): boolean => fileType(i.mode) === S_IFLNK;
