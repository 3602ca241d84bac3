/**
 * Journal records: each namespace or chunk mutation, with every value it needs
 * decided up front (inode and chunk ids, times, final modes, placement), so
 * applying one is deterministic: the live path and replay run the same code.
 */
export interface MknodRecord {
  op: 'mknod';
  parent: number;
  name: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  rdev: number;
  target?: string;
  now: number;
}
export interface LinkRecord {
  op: 'link';
  ino: number;
  parent: number;
  name: string;
  now: number;
}
export interface UnlinkRecord {
  op: 'unlink' | 'rmdir';
  parent: number;
  name: string;
  now: number;
}
export interface RenameRecord {
  op: 'rename';
  parent: number;
  name: string;
  newParent: number;
  newName: string;
  flags: number;
  now: number;
}
export interface SetAttrRecord {
  op: 'setattr';
  ino: number;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atimeMs?: number;
  mtimeMs?: number;
  now: number;
}
export interface SetXattrRecord {
  op: 'setxattr';
  ino: number;
  name: string;
  /** base64 */
  value: string;
  now: number;
}
export interface RemoveXattrRecord {
  op: 'removexattr';
  ino: number;
  name: string;
  now: number;
}
export interface InitializeRecord {
  op: 'initialize';
  now: number;
}
export type NamespaceRecord =
  | MknodRecord
  | LinkRecord
  | UnlinkRecord
  | RenameRecord
  | SetAttrRecord
  | SetXattrRecord
  | RemoveXattrRecord
  | InitializeRecord;

/** PrepareWrite: a new chunk (version 1) or a version bump of an existing one, with its replica set. */
export interface PrepareRecord {
  op: 'prepare';
  ino: number;
  index: number;
  chunkId: string;
  version: number;
  replicas: string[];
}
/** ReplacePipelineNode: version bump and the new replica set. */
export interface ReplaceRecord {
  op: 'replace';
  chunkId: string;
  version: number;
  replicas: string[];
}
export interface CommitRecord {
  op: 'commit';
  ino: number;
  chunks: { index: number; chunkId: string; version: number; size: number; replicas: string[] }[];
  minSize: number;
  mtimeMs: number;
  now: number;
}
/** Replicas found bad or unreachable (bad checksum, failed truncate). */
export interface DropReplicasRecord {
  op: 'dropReplicas';
  chunkId: string;
  nodes: string[];
}
export type ChunkRecord = PrepareRecord | ReplaceRecord | CommitRecord | DropReplicasRecord;

/** A storage class defined (or redefined) with its normalized replica constraints. */
export interface ClassCreateRecord {
  op: 'classCreate';
  name: string;
  replicas: string[];
}
/** A class removed (only when nothing uses it; its patterns, if any, go with it). */
export interface ClassDeleteRecord {
  op: 'classDelete';
  name: string;
}
/** A row of the cluster-wide name pattern table set (`className` null: removed). */
export interface ClassPatternRecord {
  op: 'classPattern';
  pattern: string;
  className: string | null;
}
/**
 * The class set on an inode (`className` null: cleared). `recursive` also
 * clears every class set below a directory, so the whole tree follows it.
 */
export interface SetClassRecord {
  op: 'setClass';
  ino: number;
  className: string | null;
  recursive: boolean;
}
export type ClassRecord = ClassCreateRecord | ClassDeleteRecord | ClassPatternRecord | SetClassRecord;

export type MetaRecord = NamespaceRecord | ChunkRecord | ClassRecord;
