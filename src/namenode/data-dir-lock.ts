import fs from 'node:fs/promises';
import path from 'node:path';
import { DfsError } from '../rpc/errors';

/**
 * One name node per data dir: DATA_DIR/lock holds the owner's pid. A lock
 * left by a process that is gone (kill -9) is taken over, so a crash never
 * blocks the restart.
 */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'lock');
  const other = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(other) && other > 0 && other !== process.pid && isRunning(other)) {
    throw new DfsError('EBUSY', `data dir ${dir} is in use by another name node (pid ${other})`);
  }
  await fs.writeFile(file, `${process.pid}\n`);
  return () => fs.rm(file, { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
