import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { MetadataResult } from './metadata';
import { run } from './processes';

/**
 * The workloads, each measured on a directory of a target: fio for throughput
 * and IOPS, the metadata tool (metadata.ts, one process per repetition) for
 * mdtest-style rates, `cp -r` + `diff -r` for a real tree.
 */

const MiB = 1024 * 1024;

export interface Sizes {
  seqBytes: number;
  randBytes: number;
  randSeconds: number;
  files: number;
  dirs: number;
  concurrency: number;
  tree: string;
}

export const FULL: Sizes = {
  seqBytes: 1024 * MiB,
  randBytes: 256 * MiB,
  randSeconds: 5,
  files: 5000,
  dirs: 2000,
  concurrency: 4,
  tree: '/usr/include',
};
export const QUICK: Sizes = {
  seqBytes: 128 * MiB,
  randBytes: 32 * MiB,
  randSeconds: 2,
  files: 500,
  dirs: 200,
  concurrency: 4,
  tree: '/usr/include/linux',
};
/** Only proves that every tool and target works: the numbers mean nothing. */
export const DRY: Sizes = {
  seqBytes: 4 * MiB,
  randBytes: 4 * MiB,
  randSeconds: 1,
  files: 20,
  dirs: 10,
  concurrency: 4,
  tree: '/usr/include/asm-generic',
};

/** One run's figures; keys are the report's metric keys. */
export type Sample = Record<string, number>;

interface FioSide {
  bw_bytes: number;
  iops: number;
  io_bytes: number;
}
interface FioJob {
  read: FioSide;
  write: FioSide;
  error: number;
}

async function fio(file: string, args: string[]): Promise<FioJob> {
  const res = await run('fio', [
    '--output-format=json',
    '--name=bench',
    `--filename=${file}`,
    '--ioengine=psync',
    '--fallocate=none',
    ...args,
  ]);
  // fio may print warnings before the JSON document.
  const json = JSON.parse(res.stdout.slice(res.stdout.indexOf('{'))) as { jobs: FioJob[] };
  const job = json.jobs[0];
  if (job.error) throw new Error(`fio ${args.join(' ')}: job error ${job.error}`);
  return job;
}

let dropWarned = false;

/** Writes back and drops the page cache (root only) so reads come from the file system, not the kernel. */
export async function dropCaches(warn: (msg: string) => void): Promise<void> {
  await run('sync', []);
  try {
    await fsp.writeFile('/proc/sys/vm/drop_caches', '3');
  } catch (err) {
    if (!dropWarned) warn(`page cache not dropped (${(err as Error).message}): read figures include cache hits`);
    dropWarned = true;
  }
}

/** Sequential write of `seqBytes` with an fsync at the end, then a cold sequential read of it. */
export async function sequential(dir: string, s: Sizes, warn: (m: string) => void): Promise<Sample> {
  const file = path.join(dir, 'seq.fio');
  try {
    await fsp.rm(file, { force: true });
    const w = await fio(file, ['--rw=write', '--bs=1M', `--size=${s.seqBytes}`, '--end_fsync=1']);
    await dropCaches(warn);
    const r = await fio(file, ['--rw=read', '--bs=1M', `--size=${s.seqBytes}`]);
    return { seqWrite: w.write.bw_bytes / MiB, seqRead: r.read.bw_bytes / MiB };
  } finally {
    await fsp.rm(file, { force: true });
  }
}

/** The file random I/O works on, laid out once per target (not timed). */
export async function layOutRandomFile(dir: string, s: Sizes): Promise<string> {
  const file = path.join(dir, 'rand.fio');
  await fio(file, ['--rw=write', '--bs=1M', `--size=${s.randBytes}`, '--end_fsync=1']);
  return file;
}

/** Time-bounded 4 KiB random reads (cold cache), then random writes (buffered, fsync at the end). */
export async function random(file: string, s: Sizes, warn: (m: string) => void): Promise<Sample> {
  const common = ['--bs=4k', `--size=${s.randBytes}`, '--time_based', `--runtime=${s.randSeconds}`];
  await dropCaches(warn);
  const r = await fio(file, ['--rw=randread', ...common]);
  const w = await fio(file, ['--rw=randwrite', '--end_fsync=1', ...common]);
  return { randRead: r.read.iops, randWrite: w.write.iops };
}

/** create/stat/rename/delete of small files and mkdir/rmdir, by the metadata tool in its own process. */
export async function metadata(dir: string, s: Sizes): Promise<Sample> {
  const tool = path.join(__dirname, 'metadata.js');
  const args = [
    tool,
    dir,
    '--files',
    String(s.files),
    '--dirs',
    String(s.dirs),
    '--concurrency',
    String(s.concurrency),
  ];
  const res = await run(process.execPath, args);
  return { ...(JSON.parse(res.stdout) as MetadataResult) };
}

/**
 * `cp -r` of a real tree into the target and back out to local disk; `diff -r` says if it survived.
 * Each repetition copies into a directory of its own and leaves it there: removing ~8,000 files
 * from a dfs mount took half a minute per repetition, measured nothing, and the target's teardown
 * removes everything anyway.
 */
export async function copyTree(
  dir: string,
  outRoot: string,
  rep: number,
  s: Sizes,
  warn: (m: string) => void,
): Promise<Sample> {
  const inside = path.join(dir, `tree-${rep}`);
  const out = path.join(outRoot, 'tree-out');
  try {
    // Absent on a fresh target; were it there, cp -r would copy into it instead of making it.
    await fsp.rm(inside, { recursive: true, force: true });
    await fsp.rm(out, { recursive: true, force: true });
    const cpIn = await run('cp', ['-r', s.tree, inside]);
    await dropCaches(warn);
    const cpOut = await run('cp', ['-r', inside, out]);
    const diff = await run('diff', ['-r', '-q', s.tree, out], { allowFail: true });
    if (diff.code !== 0) warn(`cp -r round trip differs: ${diff.stdout.trim().split('\n').slice(0, 3).join(' | ')}`);
    return { cpIn: cpIn.ms / 1000, cpOut: cpOut.ms / 1000, cpIdentical: diff.code === 0 ? 1 : 0 };
  } finally {
    await fsp.rm(out, { recursive: true, force: true });
  }
}

/** Numbers in client-bench's output that are settings or its own targets, not figures. */
const CLIENT_BENCH_SETTINGS = new Set(['clients', 'writeTargetMiBs']);

/**
 * The client library without FUSE (src/bench/client-bench.ts, another engineer's script), run as a
 * child process against the target's cluster: `node dist/bench/client-bench.js --namenode HOST:PORT
 * --json [--size S --files N]`. Its last stdout line that is a JSON object gives the figures (nested
 * objects are flattened as `a.b`); null when the script is not built yet.
 */
export async function clientLibrary(namenode: string, mode: 'full' | 'quick' | 'dry'): Promise<Sample | null> {
  const script = path.join(__dirname, 'client-bench.js');
  if (!existsSync(script)) return null;
  const sizes = { full: [], quick: ['--size', '128MiB', '--files', '250'], dry: ['--size', '4MiB', '--files', '16'] };
  const args = [script, '--namenode', namenode, '--json', ...sizes[mode]];
  const res = await run(process.execPath, args, { timeoutMs: 5 * 60_000 });
  const line = res.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.trim().startsWith('{'));
  if (!line) throw new Error('client-bench printed no JSON line');
  const sample: Sample = {};
  const flatten = (prefix: string, value: unknown): void => {
    if (typeof value === 'number' && !CLIENT_BENCH_SETTINGS.has(prefix)) sample[`client.${prefix}`] = value;
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v);
  };
  flatten('', JSON.parse(line));
  return sample;
}
