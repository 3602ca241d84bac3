import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

let fifoCount = 0;

/**
 * Occupies every thread of libuv's pool with an open of a FIFO (made in
 * `dir`) that has no writer, so any asynchronous file system call waits until
 * the returned `release`. Throws if the pool did not block (a larger
 * UV_THREADPOOL_SIZE than it knows of).
 */
export async function blockThreadPool(dir: string): Promise<() => Promise<void>> {
  const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE) || 4 }, (_, i) => {
    const fifo = path.join(dir, `pool-${++fifoCount}-${i}.fifo`);
    execFileSync('mkfifo', [fifo]);
    return fifo;
  });
  const opens = fifos.map((f) => fs.promises.open(f, 'r'));
  const probe = fs.promises.stat(dir);
  if (await settlesWithin(probe, 200)) throw new Error('the thread pool did not block');
  return async () => {
    for (const f of fifos) fs.closeSync(fs.openSync(f, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    for (const fh of await Promise.all(opens)) await fh.close();
    await probe;
    for (const f of fifos) fs.rmSync(f, { force: true });
  };
}

/** Whether `p` settles (resolves or rejects) within `ms`. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return settled;
}
