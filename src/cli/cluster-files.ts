import path from 'node:path';
import type { Caller, DfsClient, FileAttr } from '../client/types';
import { DfsError, asDfsError } from '../rpc/errors';
import { onPath, PathError } from './errors';
import { isDirectory } from './format';

/** Small namespace helpers several commands share. */

/** The attributes of `p`, or null when it does not exist (any other error is thrown, tagged with `p`). */
export async function statOrNull(client: DfsClient, p: string, caller: Caller): Promise<FileAttr | null> {
  try {
    return await client.stat(p, caller);
  } catch (err) {
    if (err instanceof DfsError && err.errno === 'ENOENT') return null;
    throw new PathError(p, asDfsError(err));
  }
}

export function joinCluster(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `p` is `dir` itself or lies beneath it. */
export function isWithin(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(dir + '/');
}

/**
 * Where a file lands when the user names a destination: inside DEST when DEST
 * is an existing directory (or is written with a trailing slash), else DEST.
 * Mirrors `cp`/`mv`, so `dfs put a.txt /docs/` does the obvious thing.
 */
export async function destinationFor(
  client: DfsClient,
  caller: Caller,
  dest: string,
  destWasWrittenAsDir: boolean,
  name: string,
): Promise<{ path: string; existing: FileAttr | null }> {
  const attr = await statOrNull(client, dest, caller);
  if (destWasWrittenAsDir && !attr) throw new PathError(dest, new DfsError('ENOENT', 'destination directory'));
  if (attr && isDirectory(attr.mode)) {
    const inside = joinCluster(dest, name);
    return { path: inside, existing: await statOrNull(client, inside, caller) };
  }
  if (destWasWrittenAsDir) throw new PathError(dest, new DfsError('ENOTDIR', ''));
  return { path: dest, existing: attr };
}

export function clusterBaseName(p: string): string {
  return path.posix.basename(p);
}

/** Stats `p`, failing with a clear message when it is not a directory. */
export async function requireDirectory(client: DfsClient, p: string, caller: Caller): Promise<FileAttr> {
  const attr = await onPath(p, () => client.stat(p, caller));
  if (!isDirectory(attr.mode)) throw new PathError(p, new DfsError('ENOTDIR', ''));
  return attr;
}
