import { DfsError } from '../rpc/errors';

/** The longest name a directory entry may have, in UTF-8 bytes (NAME_MAX). */
export const NAME_MAX = 255;
/** The longest symlink target (PATH_MAX - 1). */
export const SYMLINK_MAX = 4095;

/**
 * The one rule for directory entry names (POSIX): non-empty, at most 255
 * bytes, no '/' or NUL. '.' and '..' are never valid names to create or remove.
 */
export function validateName(name: string, context: string): void {
  if (name.length === 0) throw new DfsError('EINVAL', `empty name (${context})`);
  if (name === '.' || name === '..') throw new DfsError('EINVAL', `'${name}' is not a valid name (${context})`);
  if (name.includes('/')) throw new DfsError('EINVAL', `name '${name}' contains '/' (${context})`);
  if (name.includes('\0')) throw new DfsError('EINVAL', `name contains NUL (${context})`);
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > NAME_MAX) {
    throw new DfsError('ENAMETOOLONG', `name is ${bytes} bytes, the limit is ${NAME_MAX} (${context})`);
  }
}

export function validateSymlinkTarget(target: string, context: string): void {
  if (target.length === 0) throw new DfsError('ENOENT', `empty symlink target (${context})`);
  if (target.includes('\0')) throw new DfsError('EINVAL', `symlink target contains NUL (${context})`);
  if (Buffer.byteLength(target, 'utf8') > SYMLINK_MAX) {
    throw new DfsError('ENAMETOOLONG', `symlink target longer than ${SYMLINK_MAX} bytes (${context})`);
  }
}
