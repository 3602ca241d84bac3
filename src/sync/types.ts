import type { Caller } from '../client/types';

/**
 * The sync engine's vocabulary: what it knows about each side of the mirror,
 * how it is configured, and the events it reports. Paths inside the engine
 * are "rel" paths: POSIX-style, relative to both roots ('' is the root).
 */

/** A local file or directory as the engine last saw it. */
export interface LocalEntry {
  kind: 'file' | 'dir';
  size: number;
  /** Whole milliseconds: the precision the name node stores, so comparisons are exact. */
  mtimeMs: number;
  ino: number;
  /** Permission bits only. */
  mode: number;
}

/** A cluster entry under the remote root. 'other' = symlink or special file. */
export interface RemoteEntry {
  kind: 'file' | 'dir' | 'other';
  size: number;
  mtimeMs: number;
}

export interface SyncOptions {
  /** Absolute local directory. */
  localRoot: string;
  /** Absolute cluster directory (created when missing). */
  remoteRoot: string;
  caller: Caller;
  /** Mirror deletions: remote entries absent locally are removed. */
  delete: boolean;
  /** A changed file is uploaded once its size and mtime have been stable this long (watch mode). */
  settleMs: number;
  /** How long an unlink waits for a matching add before it counts as a deletion (watch mode). */
  renameWindowMs: number;
  /** How long one operation keeps retrying a cluster that does not answer before giving up on it. */
  retryBudgetMs: number;
  onEvent(event: SyncEvent): void;
}

export interface PassSummary {
  uploaded: number;
  bytes: number;
  mkdirs: number;
  renamed: number;
  deleted: number;
  unchanged: number;
  conflicts: number;
  errors: number;
  ms: number;
}

export type SyncEvent =
  | { event: 'watching'; local: string; remote: string }
  | { event: 'scan'; localEntries: number; remoteEntries: number }
  | { event: 'mkdir'; path: string }
  | { event: 'upload-start'; path: string; bytes: number }
  | { event: 'upload'; path: string; bytes: number; ms: number; reason: 'new' | 'changed' }
  | { event: 'upload-abandoned'; path: string; reason: 'changed while uploading' | 'interrupted' }
  | { event: 'rename'; from: string; to: string; kind: 'file' | 'dir' }
  | { event: 'delete'; path: string; kind: RemoteEntry['kind'] }
  | { event: 'skip'; path: string; reason: string }
  | { event: 'conflict'; path: string; reason: string }
  | { event: 'error'; path?: string; errno: string; error: string }
  | { event: 'retry'; errno: string; error: string; inMs: number }
  | { event: 'catch-up' }
  | ({ event: 'pass' } & PassSummary)
  | { event: 'stopped' };
