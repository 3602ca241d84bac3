import { constants as fsConstants, promises as fsp, type Stats } from 'node:fs';
import type { Caller, DfsClient } from '../client/types';
import { LocalError, hasErrno } from './errors';
import { isTempName, joinRel, localPathOf, remotePathOf } from './paths';
import type { LocalEntry, RemoteEntry } from './types';

/** Full listings of both sides, keyed by rel path ('' itself is not included). */

export type LocalTree = Map<string, LocalEntry>;
export type RemoteTree = Map<string, RemoteEntry>;

export function localEntryOf(st: Stats): LocalEntry | null {
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : null;
  if (!kind) return null;
  return {
    kind,
    size: kind === 'file' ? st.size : 0,
    mtimeMs: Math.floor(st.mtimeMs),
    ino: st.ino,
    mode: st.mode & 0o7777,
  };
}

/**
 * Walks the local tree with lstat: symlinks and special files are reported
 * through `onSkip` and left out (a mirror of regular files and directories),
 * dfs's own temp files are ignored, and entries that vanish mid-walk are
 * simply not there.
 */
export async function scanLocal(root: string, onSkip: (rel: string, reason: string) => void): Promise<LocalTree> {
  const tree: LocalTree = new Map();
  const rootStat = await fsp.stat(root).catch((err: unknown) => {
    throw LocalError.from(`directory ${root}`, err);
  });
  if (!rootStat.isDirectory()) throw new LocalError('ENOTDIR', `local directory ${root}: not a directory`);
  const pending = [''];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let names: string[];
    try {
      names = await fsp.readdir(localPathOf(root, dir));
    } catch (err) {
      if (dir !== '' && hasErrno(err, 'ENOENT', 'ENOTDIR')) continue;
      throw LocalError.from(`directory ${localPathOf(root, dir)}`, err);
    }
    for (const name of names) {
      if (isTempName(name)) continue;
      const rel = joinRel(dir, name);
      const st = await fsp.lstat(localPathOf(root, rel)).catch((err: unknown) => {
        if (hasErrno(err, 'ENOENT')) return null;
        throw LocalError.from(`file ${localPathOf(root, rel)}`, err);
      });
      if (!st) continue;
      const entry = localEntryOf(st);
      if (!entry) {
        onSkip(rel, st.isSymbolicLink() ? 'symbolic link' : 'not a regular file or directory');
        continue;
      }
      tree.set(rel, entry);
      if (entry.kind === 'dir') pending.push(rel);
    }
  }
  return tree;
}

function remoteKind(mode: number): RemoteEntry['kind'] {
  const t = mode & fsConstants.S_IFMT;
  return t === fsConstants.S_IFREG ? 'file' : t === fsConstants.S_IFDIR ? 'dir' : 'other';
}

/** Walks the cluster tree under `root` (which must exist). */
export async function scanRemote(client: DfsClient, caller: Caller, root: string): Promise<RemoteTree> {
  const tree: RemoteTree = new Map();
  const pending = [''];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const entries = await client.readdir(remotePathOf(root, dir), caller);
    for (const e of entries) {
      const rel = joinRel(dir, e.name);
      const kind = remoteKind(e.attr.mode);
      tree.set(rel, { kind, size: e.attr.size, mtimeMs: e.attr.mtimeMs });
      if (kind === 'dir') pending.push(rel);
    }
  }
  return tree;
}
