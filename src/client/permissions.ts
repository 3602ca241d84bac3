import { DfsError } from '../rpc/errors';
import { isDir } from './attrs';
import type { Caller, FileAttr } from './types';

export const F_OK = 0;
export const X_OK = 1;
export const W_OK = 2;
export const R_OK = 4;

/** access(2) semantics: owner, then group, then other bits; root bypasses r/w and needs one x bit for x. */
export function mayAccess(attr: FileAttr, mask: number, caller: Caller): boolean {
  const want = mask & 7;
  if (want === F_OK) return true;
  if (caller.uid === 0) {
    if (!(want & X_OK)) return true;
    return isDir(attr) || (attr.mode & 0o111) !== 0;
  }
  let bits: number;
  if (caller.uid === attr.uid) bits = (attr.mode >> 6) & 7;
  else if (caller.gid === attr.gid || (caller.groups ?? []).includes(attr.gid)) bits = (attr.mode >> 3) & 7;
  else bits = attr.mode & 7;
  return (bits & want) === want;
}

export function checkAccess(path: string, attr: FileAttr, mask: number, caller: Caller): void {
  if (!mayAccess(attr, mask, caller)) {
    throw new DfsError(
      'EACCES',
      `${path}: uid ${caller.uid} may not ${describe(mask)} (mode ${(attr.mode & 0o7777).toString(8)})`,
    );
  }
}

function describe(mask: number): string {
  const words = [];
  if (mask & R_OK) words.push('read');
  if (mask & W_OK) words.push('write');
  if (mask & X_OK) words.push('execute');
  return words.join('/') || 'see';
}
