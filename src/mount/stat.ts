import type Fuse from 'fuse-native';
import type { FileAttr, StatFs } from '../client/types';
import { MAX_WRITE } from './dfs-fuse';

const UINT32_LIMIT = 2 ** 32;

/**
 * A FileAttr as the kernel's struct stat. `size` may differ from the name
 * node's (writes still buffered in an open fd). st_blksize is the largest
 * FUSE request, so cp/cat/dd pick 128 KiB buffers; st_blocks counts 512-byte
 * units of the logical size (chunks are sparse, but `du` should add up).
 */
export function toStat(attr: FileAttr): Fuse.Stat {
  const size = attr.size;
  return {
    mode: attr.mode,
    uid: attr.uid,
    gid: attr.gid,
    size,
    dev: 0,
    nlink: attr.nlink,
    // fuse-native carries st_ino as 32 bits.
    ino: attr.ino % UINT32_LIMIT,
    rdev: attr.rdev,
    blksize: MAX_WRITE,
    blocks: Math.ceil(size / 512),
    atime: attr.atimeMs,
    mtime: attr.mtimeMs,
    ctime: attr.ctimeMs,
  };
}

/**
 * The cluster's capacity as statvfs. fuse-native carries 32-bit block
 * counts, so the fragment size grows (powers of two) until they fit: `df`
 * multiplies them back.
 */
export function toStatfs(fs: StatFs): Fuse.Statfs {
  let frsize = Math.max(512, fs.blockSize || 4096);
  while (fs.capacity / frsize >= UINT32_LIMIT) frsize *= 2;
  const blocks = Math.floor(fs.capacity / frsize);
  const bavail = Math.min(blocks, Math.floor(Math.max(0, fs.available) / frsize));
  const bfree = Math.min(blocks, Math.max(bavail, Math.floor(Math.max(0, fs.capacity - fs.used) / frsize)));
  // Inodes are only bounded by the name node's memory: report plenty free.
  const files = Math.min(UINT32_LIMIT - 1, fs.files + 1_000_000_000);
  return {
    bsize: MAX_WRITE,
    frsize,
    blocks,
    bfree,
    bavail,
    files,
    ffree: files - Math.min(files, fs.files),
    favail: files - Math.min(files, fs.files),
    fsid: 0,
    flag: 0,
    namemax: fs.maxName || 255,
  };
}
