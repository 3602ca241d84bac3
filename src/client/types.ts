import type { TlsConfig } from '../rpc/tls';
/**
 * The client library's public seam: everything the mount and the CLI may use.
 * Paths are absolute cluster paths ("/a/b"). Every method rejects with a
 * DfsError (src/rpc/errors.ts) whose `errno` the mount returns to the kernel
 * and the CLI prints.
 */

/** Who performs an operation (FUSE request context, or the CLI's own process). */
export interface Caller {
  uid: number;
  gid: number;
  groups?: number[];
}

export interface FileAttr {
  ino: number;
  /** Full st_mode: type bits | permission bits. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  rdev: number;
  /** Changes whenever the file's data changes. */
  generation: number;
  storageClass: string;
  replication: number;
}

export interface DirEntry {
  name: string;
  attr: FileAttr;
}

export interface SetAttrChanges {
  /** Permission bits only. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Truncate (or extend with a hole) to this size. */
  size?: number;
  /** Milliseconds since the epoch; 'now' for the server's clock. */
  atimeMs?: number | 'now';
  mtimeMs?: number | 'now';
}

export interface StatFs {
  capacity: number;
  used: number;
  available: number;
  files: number;
  blockSize: number;
  maxName: number;
  chunkSize: number;
}

export interface ReplicaInfo {
  id: string;
  address: string;
}

export interface ChunkDescription {
  index: number;
  chunkId: string;
  version: number;
  size: number;
  replicas: ReplicaInfo[];
}

export interface FileInfo {
  path: string;
  attr: FileAttr;
  chunkSize: number;
  chunks: ChunkDescription[];
}

export interface DataNodeInfo {
  id: string;
  address: string;
  live: boolean;
  state: string;
  used: number;
  capacity: number;
  chunks: number;
  lastHeartbeatMs: number;
  labels: string[];
}

export interface ClusterStatus {
  nodes: DataNodeInfo[];
  capacity: number;
  used: number;
  files: number;
  chunks: number;
  underReplicated: number;
  missing: number;
  safeMode: boolean;
  secured: boolean;
  replication: number;
  chunkSize: number;
}

export interface FsckProblem {
  path: string;
  chunkId: string;
  index: number;
  problem: string;
  live: number;
  wanted: number;
}

export interface FsckReport {
  problems: FsckProblem[];
  files: number;
  chunks: number;
  healthy: boolean;
}

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

export interface OpenOptions {
  /** O_ACCMODE bits and O_CREAT / O_EXCL / O_TRUNC / O_APPEND as in fs.constants. */
  flags: number;
  /** Permission bits for a file that O_CREAT creates (the caller's umask already applied); default 0o644. */
  mode?: number;
}

/**
 * An open file. Writes are buffered and sent through the replication
 * pipeline in the background; `flush`/`close` return once every replica has
 * the data and the name node has committed it, `fsync` once every replica
 * has it on disk as well. Every handle of one inode in a client shares its
 * buffered writes and size (as fds of one file on a local disk do): a flush
 * or close through any of them commits them all.
 */
export interface FileHandle {
  readonly ino: number;
  /** The size including writes still buffered by any handle of this file in this client. */
  readonly size: number;
  /** Reads up to `length` bytes at `position`; shorter only at end of file. Holes read as zeros. */
  read(position: number, length: number): Promise<Buffer>;
  /** Buffers `data` for `position`; resolves with the number of bytes accepted (all of them). */
  write(position: number, data: Buffer): Promise<number>;
  truncate(size: number): Promise<void>;
  flush(): Promise<void>;
  fsync(): Promise<void>;
  close(): Promise<void>;
}

export interface DfsClientOptions {
  /** HOST:PORT of the name node. */
  namenode: string;
  /** Bound on how long one metadata call may take before it fails with ETIMEDOUT (ms). */
  metadataTimeoutMs?: number;
  /** How long attributes and directory entries may be served from cache (ms). */
  attrCacheMs?: number;
  /** Client-side write buffer per open file before it is pushed to the pipeline (bytes). */
  writeBufferBytes?: number;
  /** Sequential read-ahead window (bytes). */
  readAheadBytes?: number;
  /** Bytes per pipeline write stream (one replica acknowledgement); tuning, default 8 MiB. */
  segmentBytes?: number;
  /** Write streams one open file keeps in flight; tuning, default 3. */
  maxInFlightSegments?: number;
  /** Client token presented on every name node call (a secured cluster refuses calls without one). */
  token?: string;
  /** TLS to the name node and data nodes (see loadClientSecurity in credentials.ts); none: plaintext. */
  tls?: TlsConfig;
  /**
   * Receive and check read data on a worker thread (read-offload.ts). The
   * mount sets it: its main thread serves FUSE and should only copy bytes.
   */
  offloadReads?: boolean;
}

/** The client library. One instance per process; cheap to share between callers. */
export interface DfsClient {
  stat(path: string, caller: Caller): Promise<FileAttr>;
  /** Entries with their attributes, in name order; '.' and '..' not included. */
  readdir(path: string, caller: Caller): Promise<DirEntry[]>;
  mkdir(path: string, mode: number, caller: Caller): Promise<FileAttr>;
  rmdir(path: string, caller: Caller): Promise<void>;
  /** Creates a regular file (mode without type bits means a regular file). */
  create(path: string, mode: number, caller: Caller, opts?: { exclusive?: boolean }): Promise<FileAttr>;
  /** Special files (FIFO, char/block devices, sockets) kept as metadata. */
  mknod(path: string, mode: number, rdev: number, caller: Caller): Promise<FileAttr>;
  unlink(path: string, caller: Caller): Promise<void>;
  rename(from: string, to: string, caller: Caller, flags?: number): Promise<void>;
  symlink(target: string, path: string, caller: Caller): Promise<FileAttr>;
  readlink(path: string, caller: Caller): Promise<string>;
  link(existing: string, newPath: string, caller: Caller): Promise<FileAttr>;
  setattr(path: string, changes: SetAttrChanges, caller: Caller): Promise<FileAttr>;
  /** POSIX access(2) check (F_OK/R_OK/W_OK/X_OK bits). */
  access(path: string, mask: number, caller: Caller): Promise<void>;
  statfs(): Promise<StatFs>;
  setxattr(path: string, name: string, value: Buffer, flags: number, caller: Caller): Promise<void>;
  getxattr(path: string, name: string, caller: Caller): Promise<Buffer>;
  listxattr(path: string, caller: Caller): Promise<string[]>;
  removexattr(path: string, name: string, caller: Caller): Promise<void>;

  open(path: string, opts: OpenOptions, caller: Caller): Promise<FileHandle>;

  fileInfo(path: string, caller: Caller): Promise<FileInfo>;
  clusterStatus(): Promise<ClusterStatus>;
  fsck(path: string, caller: Caller): Promise<FsckReport>;
  /** Removes everything under "/" and returns the available size. */
  initialize(caller: Caller): Promise<StatFs>;

  /** Drops every cached attribute and entry (e.g. after another process changed the tree). */
  invalidate(path?: string): void;
  close(): Promise<void>;
}
