import { ancestorsOf, baseName, isSyncTempName } from './paths';
import type { LocalTree, RemoteTree } from './scanner';
import type { LocalEntry, RemoteEntry } from './types';

/**
 * The one-shot diff: what to do to the cluster so it mirrors the local tree.
 * Pure (no I/O), so every rule here is unit-tested. A file counts as changed
 * when its size or mtime differs: after each upload the remote mtime is set to
 * the local one, so an unchanged file compares equal on every later run.
 */

export interface SyncPlan {
  /** Leftovers of interrupted uploads, to remove first. */
  staleTemps: string[];
  /** Remote entries to remove (absent locally, or in the way of a different type), outermost only. */
  deletes: Array<{ rel: string; kind: RemoteEntry['kind'] }>;
  /** Directories to create, parents first. */
  mkdirs: string[];
  uploads: Array<{ rel: string; reason: 'new' | 'changed'; size: number }>;
  /** Local entries already mirrored. */
  unchanged: string[];
  /** Type clashes left alone because deletions are not allowed. */
  conflicts: Array<{ rel: string; reason: string }>;
}

export function sameContent(
  local: Pick<LocalEntry, 'size' | 'mtimeMs'>,
  remote: Pick<RemoteEntry, 'size' | 'mtimeMs'>,
) {
  return local.size === remote.size && Math.floor(local.mtimeMs) === Math.floor(remote.mtimeMs);
}

export function planSync(local: LocalTree, remote: RemoteTree, opts: { delete: boolean }): SyncPlan {
  const plan: SyncPlan = { staleTemps: [], deletes: [], mkdirs: [], uploads: [], unchanged: [], conflicts: [] };
  const removed = new Set<string>();
  const remove = (rel: string, kind: RemoteEntry['kind']): void => {
    // Removing a directory removes what is below it: list only the outermost.
    if (ancestorsOf(rel).some((a) => removed.has(a))) return;
    removed.add(rel);
    plan.deletes.push({ rel, kind });
  };
  const sortedRemote = [...remote.keys()].sort();
  for (const rel of sortedRemote) {
    if (isSyncTempName(baseName(rel)) && remote.get(rel)!.kind === 'file') plan.staleTemps.push(rel);
  }
  const stale = new Set(plan.staleTemps);

  for (const rel of [...local.keys()].sort()) {
    const l = local.get(rel)!;
    const r = remote.get(rel);
    if (l.kind === 'dir') {
      if (r?.kind === 'dir') {
        plan.unchanged.push(rel);
        continue;
      }
      if (r) {
        if (!opts.delete) {
          plan.conflicts.push({ rel, reason: `local directory, remote ${r.kind}` });
          continue;
        }
        remove(rel, r.kind);
      }
      plan.mkdirs.push(rel);
      continue;
    }
    if (!r) {
      plan.uploads.push({ rel, reason: 'new', size: l.size });
    } else if (r.kind === 'dir') {
      if (!opts.delete) {
        plan.conflicts.push({ rel, reason: 'local file, remote directory' });
        continue;
      }
      remove(rel, r.kind);
      plan.uploads.push({ rel, reason: 'new', size: l.size });
    } else if (r.kind === 'file' && sameContent(l, r)) {
      plan.unchanged.push(rel);
    } else {
      // A remote symlink or special file is simply replaced by the upload's rename.
      plan.uploads.push({ rel, reason: 'changed', size: l.size });
    }
  }

  if (opts.delete) {
    for (const rel of sortedRemote) {
      if (local.has(rel) || stale.has(rel)) continue;
      remove(rel, remote.get(rel)!.kind);
    }
  }
  // Conflict removals were queued in local order; deletions must still precede everything.
  plan.deletes.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return plan;
}
