import { DfsError } from '../rpc/errors';

/** Splits an absolute cluster path into components ("/a//b/" -> ["a", "b"]); "." is dropped, ".." pops. */
export function splitPath(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new DfsError('EINVAL', `not an absolute path: '${String(path)}'`);
  }
  if (path.includes('\0')) throw new DfsError('EINVAL', `path contains NUL: '${path.replace(/\0/g, '\\0')}'`);
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return parts;
}

/** The canonical form of a path: "/" or "/a/b". */
export function normalizePath(path: string): string {
  return '/' + splitPath(path).join('/');
}

/** Parent path and final name; the root has no parent. */
export function parentAndName(path: string): { parent: string; name: string } {
  const parts = splitPath(path);
  const name = parts.pop();
  if (name === undefined) throw new DfsError('EINVAL', `'${path}' is the root: it has no parent`);
  return { parent: '/' + parts.join('/'), name };
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` is `dir` itself or lies beneath it (both normalized). */
export function isWithin(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(dir + '/');
}
