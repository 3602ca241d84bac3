import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * The mdtest-style metadata workload, run as one child process per repetition:
 *
 *   node dist/bench/metadata.js DIR [--files 5000] [--dirs 2000] [--concurrency 4] [--file-bytes 1024]
 *
 * In one fresh directory under DIR: creates N small files (open O_CREAT|O_EXCL,
 * write, close), stats them, renames each within the directory, deletes them;
 * then mkdir and rmdir of M directories. Prints one JSON line of ops/s per phase.
 *
 * Why Node and not a C helper: on a FUSE target one operation costs tens to
 * hundreds of microseconds in the kernel round trip and the daemon, against a
 * few microseconds of libuv overhead, so Node measures the file system, not
 * itself; it also needs no compiler at bench time. On local disk the Node
 * overhead does show (the local figures are a lower bound of the hardware).
 * A modest fixed concurrency (default 4 = libuv's thread pool) keeps several
 * requests in flight the way `cp`, `tar` and builds do not, but parallel
 * clients do; it is the same for every target.
 */

export interface MetadataResult {
  create: number;
  stat: number;
  rename: number;
  delete: number;
  mkdir: number;
  rmdir: number;
}

export interface MetadataOptions {
  files: number;
  dirs: number;
  concurrency: number;
  fileBytes: number;
}

/** Runs `op(i)` for i in [0, n) with `concurrency` in flight; returns ops per second. */
async function phase(n: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < n) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return n / seconds;
}

export async function runMetadata(dir: string, o: MetadataOptions): Promise<MetadataResult> {
  const root = await fsp.mkdtemp(path.join(dir, 'md-'));
  const payload = Buffer.alloc(o.fileBytes, 'x');
  const file = (i: number): string => path.join(root, `f${i}`);
  const moved = (i: number): string => path.join(root, `g${i}`);
  const sub = (i: number): string => path.join(root, `d${i}`);
  try {
    const create = await phase(o.files, o.concurrency, (i) => fsp.writeFile(file(i), payload, { flag: 'wx' }));
    const stat = await phase(o.files, o.concurrency, (i) => fsp.stat(file(i)));
    const rename = await phase(o.files, o.concurrency, (i) => fsp.rename(file(i), moved(i)));
    const del = await phase(o.files, o.concurrency, (i) => fsp.unlink(moved(i)));
    const mkdir = await phase(o.dirs, o.concurrency, (i) => fsp.mkdir(sub(i)));
    const rmdir = await phase(o.dirs, o.concurrency, (i) => fsp.rmdir(sub(i)));
    return { create, stat, rename, delete: del, mkdir, rmdir };
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} wants a non-negative integer`);
  return v;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const dir = args[0];
  if (!dir || dir.startsWith('-')) {
    process.stderr.write('usage: node dist/bench/metadata.js DIR [--files N] [--dirs M] [--concurrency C]\n');
    process.exit(2);
  }
  runMetadata(dir, {
    files: flag(args, '--files', 5000),
    dirs: flag(args, '--dirs', 2000),
    concurrency: Math.max(1, flag(args, '--concurrency', 4)),
    fileBytes: flag(args, '--file-bytes', 1024),
  }).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`metadata: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
