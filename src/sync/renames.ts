import { promises as fsp } from 'node:fs';
import { localPathOf } from './paths';
import type { MirroredState } from './state';
import type { LocalEntry } from './types';

/**
 * Recognises a local rename from the watcher's unlink + add pair, in either
 * order: the new path's inode, type (and for a file, size and mtime) match a
 * mirrored path that no longer exists locally. Then the cluster gets a rename
 * instead of a fresh upload and a deletion. Unlinks are held back for a short
 * window (see the engine) so the add of a rename can claim them first.
 */
export async function renameSourceFor(
  localRoot: string,
  state: MirroredState,
  rel: string,
  now: LocalEntry,
): Promise<string | null> {
  for (const candidate of state.pathsWithIno(now.ino, rel)) {
    const was = state.get(candidate)!;
    if (was.kind !== now.kind) continue;
    if (now.kind === 'file' && (was.size !== now.size || was.mtimeMs !== now.mtimeMs)) continue;
    // Still there with the same inode: a hard link or a copy, not a rename.
    const st = await fsp.lstat(localPathOf(localRoot, candidate)).catch(() => null);
    if (st && st.ino === now.ino) continue;
    return candidate;
  }
  return null;
}
