import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DfsError } from '../rpc/errors';

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const before = line.slice(0, sep).split(' ');
    const after = line.slice(sep + 3).split(' ');
    if (before.length < 5 || after.length < 2) continue;
    entries.push({ mountPoint: unescapeMountPath(before[4]), fsType: after[0], source: unescapeMountPath(after[1]) });
  }
  return entries;
}

export async function mountsAt(mountPoint: string): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return parseMountInfo(text).filter((e) => e.mountPoint === mountPoint);
}

/** Whether a dfs FUSE mount is live at `mountPoint` (the last mount there wins). */
export async function isDfsMounted(mountPoint: string): Promise<boolean> {
  const here = await mountsAt(mountPoint);
  return here.length > 0 && here[here.length - 1].fsType === 'fuse.dfs';
}

/**
 * Refuses a mount point the kernel would refuse with an obscure message, or
 * one that would hide something: missing, not a directory, already mounted
 * (or a dead FUSE mount: ENOTCONN), not empty (unless -o nonempty).
 */
export async function checkMountPoint(mountPoint: string, allowNonEmpty: boolean): Promise<void> {
  try {
    const st = await stat(mountPoint);
    if (!st.isDirectory()) throw new DfsError('ENOTDIR', `mount point ${mountPoint} is not a directory`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new DfsError('ENOENT', `mount point ${mountPoint} does not exist (create it with mkdir -p)`);
    if (code === 'ENOTCONN') {
      throw new DfsError('EBUSY', `${mountPoint} is a dead FUSE mount: run 'fusermount -uz ${mountPoint}' first`);
    }
    throw err;
  }
  const mounted = await mountsAt(mountPoint);
  if (mounted.length > 0) {
    const top = mounted[mounted.length - 1];
    throw new DfsError(
      'EBUSY',
      `${mountPoint} is already mounted (${top.fsType} from ${top.source}); unmount it first (dfs-mount --unmount ${mountPoint})`,
    );
  }
  if (!allowNonEmpty && (await readdir(mountPoint)).length > 0) {
    throw new DfsError('EBUSY', `mount point ${mountPoint} is not empty (use -o nonempty to mount over it anyway)`);
  }
}

export function resolveMountPoint(text: string): string {
  return path.resolve(text);
}

/** `fusermount -u` (lazy with `lazy`): the kernel refuses a busy mount unless lazy. */
export function fusermountUnmount(mountPoint: string, lazy: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('fusermount', [lazy ? '-uz' : '-u', mountPoint], (err, _stdout, stderr) => {
      if (!err) return resolve();
      const detail = (stderr || err.message).trim().replace(/^fusermount: /, '');
      reject(new DfsError('EBUSY', `cannot unmount ${mountPoint}: ${detail}`));
    });
  });
}
