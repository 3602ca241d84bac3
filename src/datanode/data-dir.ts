import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DfsError, asDfsError } from '../rpc/errors';

/** Creates the data dir if needed and proves it is writable, with a one-line error if not. */
export async function prepareDataDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  const probe = path.join(abs, `.probe-${process.pid}`);
  try {
    await fs.mkdir(abs, { recursive: true });
    await fs.writeFile(probe, 'ok');
    await fs.rm(probe, { force: true });
  } catch (err) {
    const e = asDfsError(err);
    throw new DfsError(e.errno, `data dir ${abs} is not writable (${e.errno})`);
  }
  return abs;
}

/** The node id: `--id` if given, else the one stored in DATA_DIR/node-id (created on first start). */
export async function resolveNodeId(dataDir: string, flag: string | undefined): Promise<string> {
  const file = path.join(dataDir, 'node-id');
  if (flag) return flag;
  try {
    const stored = (await fs.readFile(file, 'utf8')).trim();
    if (stored) return stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw asDfsError(err);
  }
  const id = `dn-${randomBytes(4).toString('hex')}`;
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, `${id}\n`);
  await fs.rename(tmp, file);
  return id;
}
