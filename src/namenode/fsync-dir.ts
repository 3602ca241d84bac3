import fs from 'node:fs/promises';

/** Makes a rename or file creation in `dir` durable (the directory entry itself must reach the disk). */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
