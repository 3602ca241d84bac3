import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatBytes } from '../common/units';
import { commandExists, killEverythingSync, run } from './processes';
import { formatNumber, METRICS, renderReport, writeReport, type RunInfo, type Samples } from './report';
import { setUpTarget, TARGET_IDS, TARGET_LABELS, type Target, type TargetId } from './targets';
import {
  clientLibrary,
  copyTree,
  DRY,
  FULL,
  layOutRandomFile,
  metadata,
  QUICK,
  random,
  sequential,
  type Sample,
  type Sizes,
} from './workloads';

/**
 * `npm run bench`: the same workloads on local disk, memfs (the FUSE ceiling)
 * and dfs mounts at replication 2 and 1, in one run, reported side by side.
 *
 *   node dist/bench/main.js [--quick] [--dry] [--targets local,memfs,dfs2,dfs1] [--out FILE] [--reps N]
 */

const USAGE = `usage: node dist/bench/main.js [options]
  --quick            small sizes, 1 repetition (whole run under 2 minutes)
  --dry              tiny sizes, 1 repetition: only proves the harness, tools and targets work
  --targets LIST     comma-separated, from ${TARGET_IDS.join(',')} (default: all)
  --out FILE         where to write the report (default BENCHMARKS.md; --dry writes none unless given)
  --reps N           repetitions per figure (default 3; 1 with --quick/--dry)
`;

interface Options {
  mode: 'full' | 'quick' | 'dry';
  targets: TargetId[];
  out?: string;
  reps: number;
}

function parseArgs(argv: string[]): Options {
  let quick = false;
  let dry = false;
  let targets: TargetId[] = [...TARGET_IDS];
  let out: string | undefined;
  let reps: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') quick = true;
    else if (a === '--dry') dry = true;
    else if (a === '--targets') {
      targets = value()
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean) as TargetId[];
      const bad = targets.filter((t) => !TARGET_IDS.includes(t));
      if (bad.length || !targets.length)
        throw new Error(`unknown target(s) '${bad.join(',')}'; pick from ${TARGET_IDS.join(',')}`);
    } else if (a === '--out') out = value();
    else if (a === '--reps') {
      reps = Number(value());
      if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps wants a positive integer');
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option '${a}'\n${USAGE}`);
  }
  const mode = dry ? 'dry' : quick ? 'quick' : 'full';
  const root = path.resolve(__dirname, '../..');
  if (!out && mode !== 'dry') out = path.join(root, 'BENCHMARKS.md');
  return { mode, targets, out, reps: reps ?? (mode === 'full' ? 3 : 1) };
}

const startedAt = Date.now();

function log(msg: string): void {
  process.stderr.write(`bench +${Math.round((Date.now() - startedAt) / 1000)}s: ${msg}\n`);
}

function describeSizes(s: Sizes): string {
  return (
    `seq ${formatBytes(s.seqBytes)}, random 4 KiB on ${formatBytes(s.randBytes)} for ${s.randSeconds} s each, ` +
    `${s.files} files (1 KiB) and ${s.dirs} dirs at concurrency ${s.concurrency}, cp -r ${s.tree}`
  );
}

async function hostInfo(): Promise<string> {
  const fio = await run('fio', ['--version'], { allowFail: true }).catch(() => undefined);
  return `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${formatBytes(os.totalmem())} RAM, Linux ${os.release()}, Node ${process.version}, ${fio?.stdout.trim() ?? 'no fio'}; shared machine, other jobs running`;
}

const TEMPLATE = `# dfs benchmarks

\`npm run bench\` measures the same workloads, in one run on one machine, on:
1. a plain directory on local disk (the hardware ceiling);
2. \`memfs\` (\`src/bench/memfs.ts\`): a minimal in-memory file system on fuse-native with \`big_writes\`,
   the ceiling of FUSE + Node.js on this machine;
3. a dfs mount on a local cluster (1 name node + 3 data nodes on loopback) at replication 2 and 1.

Each dfs figure is given as a ratio to both ceilings of the same run, because absolute numbers on a
shared machine mean little. MooseFS's figures are quoted from issue 6 (measured earlier on this
machine), not measured by this run.

\`npm run bench -- --quick\` (small sizes, one repetition, under 2 minutes) and \`--dry\` (tiny sizes,
CI only: proves the harness works, no figures) are the short forms; \`--targets local,memfs\` picks targets.
`;

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const sizes = opts.mode === 'full' ? FULL : opts.mode === 'quick' ? QUICK : DRY;
  for (const tool of ['fio', 'cp', 'diff', 'fusermount']) {
    if (!commandExists(tool))
      throw new Error(`${tool} not found (DFS_NEED_FIO=1 bash scripts/ensure-env.sh installs it)`);
  }
  const started = Date.now();
  const workRoot = await fsp.mkdtemp(path.join(process.env.DFS_BENCH_DIR ?? os.tmpdir(), 'dfs-bench-'));
  const warnings: string[] = [];
  const warn = (m: string): void => {
    if (!warnings.includes(m)) warnings.push(m);
    log(`note: ${m}`);
  };
  const samples: Samples = new Map();
  const identical = new Map<TargetId, boolean>();
  const unavailable = new Map<TargetId, string>();
  let current: Target | undefined;

  const stop = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping`);
    killEverythingSync();
    void fsp.rm(workRoot, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.on('exit', killEverythingSync);

  log(`${opts.mode} run, ${opts.reps} repetition(s): ${describeSizes(sizes)}`);
  try {
    for (const id of opts.targets) {
      try {
        current = await setUpTarget(id, workRoot);
      } catch (err) {
        const why = (err as Error).message;
        unavailable.set(id, why);
        log(`${id.startsWith('dfs') ? 'dfs' : id} target unavailable (${id}): ${why}`);
        continue;
      }
      log(`[${id}] set up at ${current.dir}`);
      const figures = new Map<string, number[]>();
      samples.set(id, figures);
      await measure(current, sizes, opts, workRoot, figures, identical, warn);
      await current.teardown();
      current = undefined;
    }
  } finally {
    await current?.teardown().catch(() => undefined);
    await fsp.rm(workRoot, { recursive: true, force: true });
  }

  const info: RunInfo = {
    mode: opts.mode,
    reps: opts.reps,
    sizes: describeSizes(sizes),
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    host: await hostInfo(),
    elapsedSeconds: (Date.now() - started) / 1000,
    unavailable,
    warnings,
  };
  const report = renderReport(samples, opts.targets, info, identical);
  process.stdout.write(`${report}\n`);
  if (opts.out) {
    await writeReport(opts.out, report, TEMPLATE);
    log(`report written to ${opts.out}`);
  }
}

/** Runs every workload `reps` times on one target; a failing workload is noted and the rest go on. */
async function measure(
  target: Target,
  sizes: Sizes,
  opts: Options,
  workRoot: string,
  figures: Map<string, number[]>,
  identical: Map<TargetId, boolean>,
  warn: (m: string) => void,
): Promise<void> {
  const reps = opts.reps;
  const record = (sample: Sample, rep: number): void => {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(sample)) {
      if (key === 'cpIdentical') {
        identical.set(target.id, (identical.get(target.id) ?? true) && value === 1);
        continue;
      }
      figures.set(key, [...(figures.get(key) ?? []), value]);
      const unit = METRICS.find((m) => m.key === key)?.unit ?? '';
      parts.push(`${key} ${formatNumber(value, unit)}${unit ? ` ${unit}` : ''}`);
    }
    if (parts.length) log(`[${target.id}] ${rep + 1}/${reps}: ${parts.join(', ')}`);
  };
  const attempt = async (name: string, rep: number, fn: () => Promise<Sample>): Promise<void> => {
    try {
      record(await fn(), rep);
    } catch (err) {
      warn(`${TARGET_LABELS[target.id]}: ${name} failed: ${(err as Error).message}`);
    }
  };
  let randFile: string | undefined;
  try {
    randFile = await layOutRandomFile(target.dir, sizes);
  } catch (err) {
    warn(`${TARGET_LABELS[target.id]}: laying out the random I/O file failed: ${(err as Error).message}`);
  }
  for (let rep = 0; rep < reps; rep++) {
    await attempt('sequential I/O', rep, () => sequential(target.dir, sizes, warn));
    if (randFile) await attempt('random I/O', rep, () => random(randFile!, sizes, warn));
    await attempt('metadata', rep, () => metadata(target.dir, sizes));
    await attempt('cp -r', rep, () => copyTree(target.dir, workRoot, rep, sizes, warn));
    // The client library without FUSE: on the replication-2 cluster only (it moves 1 GiB each way).
    const namenode = target.namenode;
    if (namenode && target.id === 'dfs2') {
      await attempt('client library bench', rep, async () => {
        const sample = await clientLibrary(namenode, opts.mode);
        if (!sample) warn('client library bench (src/bench/client-bench.ts) is not built yet: not run');
        return sample ?? {};
      });
    }
  }
  if (randFile) await fsp.rm(randFile, { force: true }).catch(() => undefined);
}

main().catch((err: unknown) => {
  log(`error: ${err instanceof Error ? err.message : String(err)}`);
  killEverythingSync();
  process.exit(1);
});
