import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Rel paths (POSIX, relative to both roots, '' = root) and the names the engine reserves. */

/** Marks an upload in progress: `.<name>.dfs-sync-<pid>-<random>` beside its target. */
const TEMP_MARK = '.dfs-sync-';
/** Temp names of dfs itself (sync uploads, `file_read`/`fetch` downloads): never synced. */
const TEMP_NAME = /^\..*\.dfs-(sync|part)-/;
/** Leaves room for the mark within a 255-byte name. */
const MAX_BASE_IN_TEMP = 200;

export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

export function isSyncTempName(name: string): boolean {
  return name.startsWith('.') && name.includes(TEMP_MARK);
}

export function tempNameFor(name: string): string {
  return `.${name.slice(0, MAX_BASE_IN_TEMP)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;
}

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export function parentRel(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

export function baseName(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Every proper ancestor of `rel`, outermost first ('' excluded). */
export function ancestorsOf(rel: string): string[] {
  const parts = rel.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** True when `rel` is `dir` or lies beneath it. */
export function isUnder(rel: string, dir: string): boolean {
  return dir === '' || rel === dir || rel.startsWith(dir + '/');
}

export function remotePathOf(remoteRoot: string, rel: string): string {
  if (rel === '') return remoteRoot;
  return remoteRoot === '/' ? `/${rel}` : `${remoteRoot}/${rel}`;
}

export function localPathOf(localRoot: string, rel: string): string {
  return rel === '' ? localRoot : path.join(localRoot, ...rel.split('/'));
}

/** The rel path of an absolute local path under `localRoot`, or null when outside it. */
export function relOfLocal(localRoot: string, abs: string): string | null {
  const rel = path.relative(localRoot, abs);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return rel.split(path.sep).join('/');
}
