import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, tempDir } from '../helpers/cluster';
import { TestMount } from '../helpers/mount';
import { seededRandom } from '../helpers/prng';

/**
 * Model-based test: the same random operations go to the mount and to a
 * local directory (the model); results, errors, contents and listings must
 * match. Reproduce a failure with DFS_MODEL_SEED=<seed> (printed on failure).
 */
const SEED = Number(process.env.DFS_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31));
const MAX_OPS = Number(process.env.DFS_MODEL_OPS ?? 3000);
const TIME_BUDGET_MS = Number(process.env.DFS_MODEL_MS ?? 60_000);
const CHECK_TREE_EVERY = 150;

/** An fd opened on both sides; `rel` follows renames of the file and of its parents. */
interface OpenPair {
  rel: string;
  mine: number;
  model: number;
}

type Outcome = { ok: true; value?: string } | { ok: false; code: string };

function describeOutcome(o: Outcome): string {
  if (!o.ok) return o.code;
  const data = Buffer.from(o.value ?? '', 'base64');
  const firstNonZero = data.findIndex((x) => x !== 0);
  return `${data.length} bytes, first non-zero byte at ${firstNonZero}`;
}

function attempt(fn: () => string | void): Outcome {
  try {
    const v = fn();
    return { ok: true, value: v ?? undefined };
  } catch (err) {
    return { ok: false, code: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

/** Listing of a tree: relative path -> 'd' or file size, ignoring libfuse's hidden open-unlinked files. */
function walk(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      if (name.startsWith('.fuse_hidden')) continue;
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, r));
      if (st.isDirectory()) {
        out.set(r, 'd');
        visit(r);
      } else out.set(r, `f${st.size}`);
    }
  };
  visit('');
  return out;
}

/** The first differing line of two outcomes (listings are JSON arrays of [path, kind]). */
function describeDifference(a: Outcome, b: Outcome): string {
  if (a.ok && b.ok && a.value?.startsWith('[[') && b.value?.startsWith('[[')) {
    const la = new Map(JSON.parse(a.value) as [string, string][]);
    const lb = new Map(JSON.parse(b.value) as [string, string][]);
    const diff: string[] = [];
    for (const [k, v] of la) if (lb.get(k) !== v) diff.push(`mount has ${k}=${v}, model ${lb.get(k) ?? 'nothing'}`);
    for (const [k, v] of lb) if (!la.has(k)) diff.push(`model has ${k}=${v}, mount nothing`);
    return diff.slice(0, 10).join('\n');
  }
  const show = (o: Outcome): string =>
    o.ok ? `ok ${(o.value ?? '').length} chars ${(o.value ?? '').slice(0, 80)}` : o.code;
  return `mount: ${show(a)}\nmodel: ${show(b)}`;
}

describe('dfs-mount: random operations behave as on a local disk', () => {
  let cluster: TestCluster;
  let mount: TestMount;
  const model = tempDir('model');

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2, chunkSize: '1MiB' }).start();
    mount = await new TestMount(cluster.address).start();
  });

  afterAll(async () => {
    await mount?.stop();
    await cluster?.stop();
    fs.rmSync(model, { recursive: true, force: true });
  });

  it(`matches a local directory op by op (seed ${SEED})`, () => {
    const rand = seededRandom(SEED);
    const int = (n: number): number => Math.floor(rand() * n);
    const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[int(xs.length)] : undefined);
    const root = mount.path('model');
    fs.mkdirSync(root);
    const opens: OpenPair[] = [];
    const log: string[] = [];
    const started = Date.now();

    const both = (desc: string, fn: (base: string) => string | void): Outcome => {
      log.push(desc);
      const a = attempt(() => fn(root));
      const b = attempt(() => fn(model));
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        throw new Error(
          `seed ${SEED}, op #${log.length}: ${desc}\n${describeDifference(a, b)}\nlast ops:\n${log.slice(-15).join('\n')}`,
        );
      }
      return a;
    };

    const entries = (): { files: string[]; dirs: string[] } => {
      const files: string[] = [];
      const dirs: string[] = [''];
      for (const [rel, kind] of walk(model)) (kind === 'd' ? dirs : files).push(rel);
      return { files, dirs };
    };
    const newName = (dirs: string[]): string => {
      const d = pick(dirs) ?? '';
      const n = `${int(2) ? 'f' : 'n'}${int(40)}`;
      return d ? `${d}/${n}` : n;
    };
    const closePair = (p: OpenPair): void => {
      fs.closeSync(p.mine);
      fs.closeSync(p.model);
      opens.splice(opens.indexOf(p), 1);
    };
    /** libfuse hides open files that are unlinked or replaced: close them first (a local-disk detail, not ours). */
    const closeUnder = (rel: string): void => {
      for (const p of [...opens]) if (p.rel === rel || p.rel.startsWith(`${rel}/`)) closePair(p);
    };
    const data = (n: number): Buffer => {
      const b = Buffer.allocUnsafe(n);
      const fill = int(256);
      for (let i = 0; i < n; i += 4096) b.fill((fill + i / 4096) & 0xff, i, Math.min(n, i + 4096));
      return b;
    };
    const size = (): number => (int(10) === 0 ? int(2_500_000) : int(10) < 3 ? int(100) : int(200_000));
    const offset = (): number => (int(8) === 0 ? int(4_000_000) : int(300_000));
    const compareTree = (): void => {
      const a = walk(root);
      const b = walk(model);
      expect([...a], `seed ${SEED} after op #${log.length}: listings differ`).toEqual([...b]);
      for (const [rel, kind] of b) {
        if (kind === 'd') continue;
        const same = fs.readFileSync(path.join(root, rel)).equals(fs.readFileSync(path.join(model, rel)));
        expect(same, `seed ${SEED} after op #${log.length}: contents of ${rel} differ`).toBe(true);
      }
    };

    let ops = 0;
    while (ops < MAX_OPS && Date.now() - started < TIME_BUDGET_MS) {
      ops++;
      const { files, dirs } = entries();
      const roll = int(100);
      if (roll < 12) {
        const rel = newName(dirs);
        closeUnder(rel);
        const buf = data(size());
        both(`create ${rel} (${buf.length} bytes)`, (base) => fs.writeFileSync(path.join(base, rel), buf));
      } else if (roll < 30) {
        const p = pick(opens);
        if (!p) continue;
        const buf = data(size());
        const at = offset();
        log.push(`write fd(${p.rel}) ${buf.length} @ ${at}`);
        const a = attempt(() => void fs.writeSync(p.mine, buf, 0, buf.length, at));
        const b = attempt(() => void fs.writeSync(p.model, buf, 0, buf.length, at));
        expect(a, `seed ${SEED} op #${log.length}: ${log[log.length - 1]}`).toEqual(b);
      } else if (roll < 38) {
        // Several fds of one file at once, as processes on a local disk have them: the client shares
        // one writer and size between them. DFS_MODEL_SHARED_FDS=0 keeps one fd per file.
        const rel = pick(
          files.filter((f) => process.env.DFS_MODEL_SHARED_FDS !== '0' || !opens.some((o) => o.rel === f)),
        );
        if (!rel || opens.length >= 6) continue;
        const flags = pick(['r+', 'r', 'a'])!;
        log.push(`open ${rel} ${flags}`);
        const mine = attempt(() => String(fs.openSync(path.join(root, rel), flags)));
        const mdl = attempt(() => String(fs.openSync(path.join(model, rel), flags)));
        expect(mine.ok, `seed ${SEED} op #${log.length}: ${log[log.length - 1]}`).toBe(mdl.ok);
        if (mine.ok && mdl.ok) opens.push({ rel, mine: Number(mine.value), model: Number(mdl.value) });
      } else if (roll < 44) {
        const p = pick(opens);
        if (!p) continue;
        log.push(`close fd(${p.rel})`);
        closePair(p);
      } else if (roll < 50) {
        const rel = pick(files);
        if (!rel) continue;
        const to = int(3) === 0 ? 0 : offset();
        both(`truncate ${rel} ${to}`, (base) => fs.truncateSync(path.join(base, rel), to));
      } else if (roll < 54) {
        const p = pick(opens.filter((o) => o.rel));
        if (!p) continue;
        const to = offset();
        log.push(`ftruncate fd(${p.rel}) ${to}`);
        const a = attempt(() => fs.ftruncateSync(p.mine, to));
        const b = attempt(() => fs.ftruncateSync(p.model, to));
        expect(a, `seed ${SEED} op #${log.length}: ${log[log.length - 1]}`).toEqual(b);
      } else if (roll < 66) {
        const rel = pick(files);
        if (!rel) continue;
        both(`read ${rel}`, (base) => fs.readFileSync(path.join(base, rel)).toString('base64'));
      } else if (roll < 70) {
        const p = pick(opens);
        if (!p) continue;
        const at = offset();
        const n = size();
        log.push(`pread fd(${p.rel}) ${n} @ ${at}`);
        const read = (fd: number): Outcome =>
          attempt(() => {
            const b = Buffer.alloc(n);
            return b.subarray(0, fs.readSync(fd, b, 0, n, at)).toString('base64');
          });
        const a = read(p.mine);
        const b = read(p.model);
        expect(
          a.ok === b.ok && (!a.ok || (b.ok && a.value === b.value)),
          `seed ${SEED} op #${log.length}: ${log[log.length - 1]}\n` +
            `mount: ${describeOutcome(a)}\nlocal: ${describeOutcome(b)}\n` +
            `last ops:\n${log.slice(-25).join('\n')}`,
        ).toBe(true);
      } else if (roll < 80) {
        const from = pick(int(4) === 0 ? dirs.filter((d) => d) : files);
        if (!from) continue;
        const to = int(3) === 0 ? (pick(files) ?? newName(dirs)) : newName(dirs);
        closeUnder(to);
        const moved = both(`rename ${from} -> ${to}`, (base) =>
          fs.renameSync(path.join(base, from), path.join(base, to)),
        );
        // Only a rename that happened moves the open files (a failed one, e.g. a directory into
        // itself, left them where they were: following it lost track of them).
        for (const p of moved.ok ? opens : []) {
          if (p.rel === from) p.rel = to;
          else if (p.rel.startsWith(`${from}/`)) p.rel = to + p.rel.slice(from.length);
        }
      } else if (roll < 86) {
        const rel = pick(files);
        if (!rel) continue;
        closeUnder(rel);
        both(`unlink ${rel}`, (base) => fs.unlinkSync(path.join(base, rel)));
      } else if (roll < 93) {
        const rel = newName(dirs).replace(/\/?[fn](\d+)$/, (m, n: string) => `${m.startsWith('/') ? '/' : ''}d${n}`);
        both(`mkdir ${rel}`, (base) => fs.mkdirSync(path.join(base, rel)));
      } else if (roll < 97) {
        const rel = pick(dirs.filter((d) => d));
        if (!rel) continue;
        closeUnder(rel);
        both(`rmdir ${rel}`, (base) => fs.rmdirSync(path.join(base, rel)));
      } else {
        both('list', (base) => JSON.stringify([...walk(base)]));
      }
      if (ops % CHECK_TREE_EVERY === 0) compareTree();
    }
    for (const p of [...opens]) closePair(p);
    compareTree();
    console.log(`model test: seed ${SEED}, ${ops} ops in ${Date.now() - started} ms`);
    expect(ops).toBeGreaterThan(500);
  });

  it('keeps every byte when a file open for appending is truncated by path and written past a chunk', () => {
    const p = mount.path('append-truncate');
    const fd = fs.openSync(p, 'a');
    fs.writeSync(fd, Buffer.from('before'));
    fs.truncateSync(p, 0);
    const data = Buffer.alloc(1024 * 1024 + 4096, 0x5a);
    fs.writeSync(fd, data);
    expect(fs.fstatSync(fd).size).toBe(data.length);
    fs.closeSync(fd);
    expect(fs.readFileSync(p).equals(data)).toBe(true);
  });

  it('reads a hole as zeros after a write in a later chunk grew the file past data it had read (seed 922233648)', () => {
    const p = mount.path('grown-past-read');
    fs.closeSync(fs.openSync(p, 'w'));
    const fd = fs.openSync(p, 'r+');
    fs.writeSync(fd, Buffer.alloc(125_500, 1), 0, 125_500, 20_254);
    fs.readSync(fd, Buffer.alloc(118_244), 0, 118_244, 117_341);
    fs.writeSync(fd, Buffer.alloc(22_117, 2), 0, 22_117, 1_083_337); // chunk 1: nothing in chunk 0 changes
    const hole = Buffer.alloc(85, 0xff);
    expect(fs.readSync(fd, hole, 0, 85, 279_744)).toBe(85);
    expect(hole.equals(Buffer.alloc(85))).toBe(true);
    fs.closeSync(fd);
  });

  it('shares one file between fds: each sees the others, and the file is the union after both close', () => {
    const p = mount.path('two-fds');
    const a = fs.openSync(p, 'w+');
    const b = fs.openSync(p, 'r+');
    fs.writeSync(a, Buffer.alloc(1536 * 1024, 1), 0, 1536 * 1024, 0);
    expect(fs.fstatSync(b).size).toBe(1536 * 1024);
    fs.writeSync(b, Buffer.alloc(1024, 2), 0, 1024, 1536 * 1024);
    const seen = Buffer.alloc(16);
    expect(fs.readSync(a, seen, 0, 16, 1536 * 1024 - 8)).toBe(16);
    expect([...seen]).toEqual([...Array(8).fill(1), ...Array(8).fill(2)]);
    fs.ftruncateSync(b, 1024 * 1024 + 10);
    expect(fs.fstatSync(a).size).toBe(1024 * 1024 + 10);
    fs.closeSync(a);
    fs.closeSync(b);
    expect(fs.readFileSync(p).equals(Buffer.alloc(1024 * 1024 + 10, 1))).toBe(true);
  });
});
