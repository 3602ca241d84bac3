import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createClient, type DfsClient, type FileAttr } from '../../src/client';
import { DIST, TestCluster, tempDir, waitFor } from '../helpers/cluster';

/**
 * `dfs sync` and `dfs fetch` as a user runs them (`node dist/cli/main.js`)
 * against a real name node and data nodes; the cluster side is checked
 * through the client library.
 */

const CLI = path.join(DIST, 'cli', 'main.js');
const MiB = 1024 * 1024;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

type SyncEvent = { event: string; path?: string; from?: string; to?: string; kind?: string } & Record<string, unknown>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function sha256File(file: string): string {
  return sha(fs.readFileSync(file));
}

function jsonLines(text: string): SyncEvent[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as SyncEvent);
}

/** A running `dfs --json sync --watch ...`: its stderr event stream, parsed as it comes. */
class WatchedSync {
  readonly events: SyncEvent[] = [];
  private buffered = '';
  readonly exited: Promise<number | null>;
  stdout = '';

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (d: Buffer) => {
      this.buffered += d.toString();
      const lines = this.buffered.split('\n');
      this.buffered = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith('{')) this.events.push(JSON.parse(l) as SyncEvent);
        else if (l.trim()) this.events.push({ event: 'text', line: l });
      }
    });
    child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  of(event: string, p?: string): SyncEvent[] {
    return this.events.filter((e) => e.event === event && (p === undefined || e.path === p));
  }

  /** Waits for `n` events of a kind (counting from the start). */
  async waitFor(event: string, n = 1, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `${n} '${event}' event(s); got ${JSON.stringify(this.events.slice(-8))}`,
      () => this.of(event).length >= n,
      timeoutMs,
    );
  }

  /** Ctrl-C, as a user stops it. */
  async stop(): Promise<number | null> {
    if (process.env.SYNC_TEST_DEBUG) console.log(this.events.map((e) => JSON.stringify(e)).join('\n'));
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

describe('dfs sync and dfs fetch against a real cluster', () => {
  let cluster: TestCluster;
  let client: DfsClient;
  const stateDir = tempDir('sync-state');
  const work = tempDir('sync-local');
  const watchers: WatchedSync[] = [];

  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    DFS_NAMENODE: cluster.address,
    DFS_STATE_DIR: stateDir,
    DFS_LOG_LEVEL: 'warn',
  });

  const dfs = (args: string[], cwd?: string): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: env(), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });

  const startWatch = async (args: string[]): Promise<WatchedSync> => {
    const child = spawn(process.execPath, [CLI, '--json', 'sync', '--watch', ...args], {
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const w = new WatchedSync(child);
    watchers.push(w);
    // A failure (a timeout above all) is explained by what sync reported up to it.
    onTestFailed(() =>
      console.error(
        `dfs sync --watch ${args.join(' ')} reported:\n${w.events.map((e) => JSON.stringify(e)).join('\n')}`,
      ),
    );
    await w.waitFor('pass');
    return w;
  };

  const local = (...parts: string[]): string => path.join(work, ...parts);

  const remoteStat = async (p: string): Promise<FileAttr | null> => {
    client.invalidate();
    try {
      return await client.stat(p, me);
    } catch {
      return null;
    }
  };

  const remoteRead = async (p: string): Promise<Buffer> => {
    const h = await client.open(p, { flags: constants.O_RDONLY }, me);
    const parts: Buffer[] = [];
    for (let at = 0; at < h.size; at += 8 * MiB) parts.push(await h.read(at, 8 * MiB));
    await h.close();
    return Buffer.concat(parts);
  };

  /** Every name under a remote directory, recursively (temp files included). */
  const remoteNames = async (dir: string): Promise<string[]> => {
    client.invalidate();
    const out: string[] = [];
    for (const e of await client.readdir(dir, me)) {
      const p = `${dir}/${e.name}`;
      out.push(p);
      if ((e.attr.mode & constants.S_IFMT) === constants.S_IFDIR) out.push(...(await remoteNames(p)));
    }
    return out;
  };

  const waitRemote = (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) =>
    waitFor(what, check, timeoutMs, 200);

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 2, replication: 2, nodeTimeout: '3s' }).start();
    client = createClient({ namenode: cluster.address, metadataTimeoutMs: 20_000 });
    await waitFor(
      '2 live data nodes',
      async () => (await client.clusterStatus()).nodes.filter((n) => n.live).length === 2,
    );
  });

  afterAll(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    await client?.close();
    await cluster?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  describe('one-shot', () => {
    const src = local('one');

    beforeAll(() => {
      fs.mkdirSync(path.join(src, 'sub', 'deeper'), { recursive: true });
      fs.mkdirSync(path.join(src, 'empty'));
      fs.writeFileSync(path.join(src, 'a.txt'), 'hello\n');
      fs.writeFileSync(path.join(src, 'sub', 'b.bin'), randomBytes(3 * MiB));
      fs.writeFileSync(path.join(src, 'sub', 'deeper', 'c.txt'), 'deep\n');
    });

    it('creates the directories, uploads every file with its mtime, and a second run uploads nothing', async () => {
      const first = await dfs(['--json', 'sync', src, '/one']);
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, uploaded: 3, mkdirs: 3, errors: 0 });
      expect(jsonLines(first.stderr).filter((e) => e.event === 'upload')).toHaveLength(3);

      for (const rel of ['a.txt', 'sub/b.bin', 'sub/deeper/c.txt']) {
        const st = fs.statSync(path.join(src, rel));
        const attr = await remoteStat(`/one/${rel}`);
        expect(attr, rel).not.toBeNull();
        expect(attr!.size).toBe(st.size);
        expect(attr!.mtimeMs).toBe(Math.floor(st.mtimeMs));
        expect(attr!.mode & 0o777).toBe(st.mode & 0o777);
      }
      expect(sha(await remoteRead('/one/sub/b.bin'))).toBe(sha256File(path.join(src, 'sub', 'b.bin')));
      expect((await remoteStat('/one/empty'))?.mode ?? 0).toBeTruthy();
      expect((await remoteNames('/one')).filter((n) => n.includes('.dfs-sync-'))).toEqual([]);

      const second = await dfs(['--json', 'sync', src, '/one']);
      expect(second.code, second.stderr).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ ok: true, uploaded: 0, mkdirs: 0, unchanged: 6 });
      expect(jsonLines(second.stderr).filter((e) => e.event === 'upload')).toEqual([]);
    });

    it('uploads only what changed (size or mtime), and says so in text on stderr', async () => {
      fs.appendFileSync(path.join(src, 'a.txt'), 'more\n');
      const r = await dfs(['sync', src, '/one']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^synced: 1 uploaded/);
      expect(r.stderr).toMatch(/^sync: uploaded a\.txt \(.*changed\)$/m);
      expect(r.stderr).not.toMatch(/b\.bin/);
      expect((await remoteRead('/one/a.txt')).toString()).toBe('hello\nmore\n');
    });

    it('keeps remote files absent locally, and removes them with --delete', async () => {
      fs.rmSync(path.join(src, 'sub', 'deeper'), { recursive: true });
      fs.rmSync(path.join(src, 'a.txt'));
      const keep = await dfs(['sync', src, '/one']);
      expect(keep.code, keep.stderr).toBe(0);
      expect(await remoteStat('/one/a.txt')).not.toBeNull();

      const del = await dfs(['--json', 'sync', '--delete', src, '/one']);
      expect(del.code, del.stderr).toBe(0);
      expect(JSON.parse(del.stdout)).toMatchObject({ ok: true, deleted: 2, uploaded: 0 });
      expect(await remoteStat('/one/a.txt')).toBeNull();
      expect(await remoteStat('/one/sub/deeper')).toBeNull();
      expect(await remoteStat('/one/sub/b.bin')).not.toBeNull();
    });

    it('refuses a local path that is not a directory, with one clear line', async () => {
      const r = await dfs(['sync', path.join(src, 'sub', 'b.bin'), '/one']);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toMatch(/^dfs: sync: local directory .*b\.bin: not a directory$/);
    });
  });

  describe('fetch', () => {
    it('lists the files under a directory with their sizes', async () => {
      const r = await dfs(['fetch', '/one']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/3\.0 MiB\s+sub\/b\.bin/);
      expect(r.stdout).toMatch(/1 file, 3\.0 MiB/);
      const j = await dfs(['--json', 'fetch', '/one']);
      expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, files: [{ path: 'sub/b.bin', size: 3 * MiB }] });
    });

    it('downloads a file, by default to its base name in the current local directory', async () => {
      const into = local('fetched');
      fs.mkdirSync(into);
      const r = await dfs(['fetch', '/one/sub/b.bin'], into);
      expect(r.code, r.stderr).toBe(0);
      expect(sha256File(path.join(into, 'b.bin'))).toBe(sha256File(local('one', 'sub', 'b.bin')));
      const named = await dfs(['fetch', '/one/sub/b.bin', path.join(into, 'copy.bin')]);
      expect(named.code, named.stderr).toBe(0);
      expect(fs.statSync(path.join(into, 'copy.bin')).size).toBe(3 * MiB);
    });

    it('says clearly when the remote path does not exist', async () => {
      const r = await dfs(['fetch', '/nope']);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toMatch(/^dfs: fetch: \/nope: no such file or directory/);
    });
  });

  describe('--watch', () => {
    it('follows creates, modifications, renames and deletions within seconds', async () => {
      const src = local('watched');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'before.txt'), 'was here before the watch\n');
      const w = await startWatch(['--delete', '--settle', '500ms', src, '/w']);
      // A file written just before the start may still be settling during the first pass: it follows shortly.
      await waitRemote('before.txt uploaded', async () => (await remoteStat('/w/before.txt')) !== null);

      fs.writeFileSync(path.join(src, 'f1.txt'), 'one\n');
      await waitRemote('f1.txt uploaded', async () => (await remoteStat('/w/f1.txt'))?.size === 4);

      fs.appendFileSync(path.join(src, 'f1.txt'), 'two\n');
      await waitRemote('f1.txt modified', async () => (await remoteStat('/w/f1.txt'))?.size === 8);

      fs.mkdirSync(path.join(src, 'd'));
      fs.writeFileSync(path.join(src, 'd', 'x.bin'), randomBytes(MiB));
      await waitRemote('d/x.bin uploaded', async () => (await remoteStat('/w/d/x.bin'))?.size === MiB);
      // The file is complete on the cluster a moment before sync reports it: count after the report.
      await waitFor('the upload of d/x.bin reported', () => w.of('upload', 'd/x.bin').length === 1, 10_000);
      const uploadsBeforeRenames = w.of('upload').length;

      fs.renameSync(path.join(src, 'f1.txt'), path.join(src, 'f2.txt'));
      await waitRemote(
        'f1 renamed to f2',
        async () => !(await remoteStat('/w/f1.txt')) && !!(await remoteStat('/w/f2.txt')),
      );
      expect((await remoteRead('/w/f2.txt')).toString()).toBe('one\ntwo\n');

      fs.renameSync(path.join(src, 'd'), path.join(src, 'e'));
      await waitRemote('d renamed to e', async () => !(await remoteStat('/w/d')) && !!(await remoteStat('/w/e/x.bin')));
      expect(w.of('rename')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ from: 'f1.txt', to: 'f2.txt', kind: 'file' }),
          expect.objectContaining({ from: 'd', to: 'e', kind: 'dir' }),
        ]),
      );

      fs.rmSync(path.join(src, 'f2.txt'));
      await waitRemote('f2 deleted', async () => !(await remoteStat('/w/f2.txt')));
      fs.rmSync(path.join(src, 'e'), { recursive: true });
      await waitRemote('e deleted', async () => !(await remoteStat('/w/e')));

      // A rename is a rename: nothing was uploaded again.
      expect(w.of('upload').length).toBe(uploadsBeforeRenames);
      expect(await w.stop()).toBe(0);
      expect(w.of('stopped')).toHaveLength(1);
      expect((await remoteNames('/w')).filter((n) => n.includes('.dfs-sync-'))).toEqual([]);
      expect(w.of('error')).toEqual([]);
    });

    it('uploads a 200 MiB file that is written slowly once, complete', async () => {
      const src = local('big');
      fs.mkdirSync(src);
      const w = await startWatch([src, '/big']);
      const file = path.join(src, 'big.bin');
      const h = createHash('sha256');
      const fd = fs.openSync(file, 'w');
      try {
        for (let i = 0; i < 10; i++) {
          const piece = randomBytes(20 * MiB);
          h.update(piece);
          fs.writeSync(fd, piece);
          await sleep(300);
        }
      } finally {
        fs.closeSync(fd);
      }
      const digest = h.digest('hex');
      await waitRemote('big.bin uploaded', async () => w.of('upload', 'big.bin').length > 0, 120_000);
      await sleep(2_000);
      expect(w.of('upload', 'big.bin')).toHaveLength(1);
      expect(w.of('upload', 'big.bin')[0]).toMatchObject({ bytes: 200 * MiB });
      expect((await remoteStat('/big/big.bin'))?.size).toBe(200 * MiB);
      expect(sha(await remoteRead('/big/big.bin'))).toBe(digest);
      expect(await w.stop()).toBe(0);
    }, 240_000);

    it('catches up after the name node is killed and restarted mid-sync', async () => {
      const src = local('restart');
      fs.mkdirSync(src);
      const w = await startWatch(['--settle', '300ms', src, '/restart']);
      fs.writeFileSync(path.join(src, 'a.txt'), 'a1\n');
      await waitRemote('a.txt uploaded', async () => (await remoteStat('/restart/a.txt'))?.size === 3);

      await cluster.namenode.proc.kill('SIGKILL');
      fs.writeFileSync(path.join(src, 'b.txt'), 'written while the name node was down\n');
      fs.appendFileSync(path.join(src, 'a.txt'), 'a2\n');
      fs.mkdirSync(path.join(src, 'later'));
      fs.writeFileSync(path.join(src, 'later', 'c.bin'), randomBytes(2 * MiB));
      await sleep(3_000);
      await cluster.namenode.start();

      await waitRemote(
        'the sync to catch up',
        async () =>
          (await remoteStat('/restart/a.txt'))?.size === 6 &&
          (await remoteStat('/restart/b.txt'))?.size === 37 &&
          (await remoteStat('/restart/later/c.bin'))?.size === 2 * MiB,
        90_000,
      );
      expect(sha(await remoteRead('/restart/later/c.bin'))).toBe(sha256File(path.join(src, 'later', 'c.bin')));
      expect(w.of('retry').length + w.of('catch-up').length).toBeGreaterThan(0);
      expect(await w.stop()).toBe(0);
      // Whatever the outage interrupted, no temp file is left behind once caught up.
      const r = await dfs(['--json', 'sync', src, '/restart']);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, uploaded: 0 });
      expect((await remoteNames('/restart')).filter((n) => n.includes('.dfs-sync-'))).toEqual([]);
    }, 180_000);

    it('finishes an upload that the name node restart interrupted, without leftovers', async () => {
      const src = local('restart-mid-upload');
      fs.mkdirSync(src);
      const w = await startWatch(['--settle', '300ms', src, '/restart2']);
      const file = path.join(src, 'large.bin');
      const fd = fs.openSync(file, 'w');
      for (let i = 0; i < 12; i++) fs.writeSync(fd, randomBytes(10 * MiB));
      fs.closeSync(fd);
      await waitFor('the upload to start', () => w.of('upload-start', 'large.bin').length > 0, 30_000, 20);
      await cluster.namenode.proc.kill('SIGKILL');
      await sleep(2_000);
      await cluster.namenode.start();
      await waitRemote(
        'large.bin uploaded',
        async () => (await remoteStat('/restart2/large.bin'))?.size === 120 * MiB,
        90_000,
      );
      expect(sha(await remoteRead('/restart2/large.bin'))).toBe(sha256File(file));
      // The interrupted attempt's temp file is removed by the catch-up (or by the attempt itself).
      await waitRemote('no temp files', async () =>
        (await remoteNames('/restart2')).every((n) => !n.includes('.dfs-sync-')),
      );
      expect(await w.stop()).toBe(0);
    }, 180_000);

    it('stops cleanly on Ctrl-C in the middle of an upload, leaving no temp file', async () => {
      const src = local('interrupt');
      fs.mkdirSync(src);
      const w = await startWatch(['--settle', '300ms', src, '/interrupt']);
      const file = path.join(src, 'large.bin');
      const fd = fs.openSync(file, 'w');
      for (let i = 0; i < 12; i++) fs.writeSync(fd, randomBytes(10 * MiB));
      fs.closeSync(fd);
      await waitFor('the upload to start', () => w.of('upload-start', 'large.bin').length > 0, 30_000, 20);
      expect(await w.stop()).toBe(0);
      expect(w.of('upload-abandoned', 'large.bin')).toEqual([expect.objectContaining({ reason: 'interrupted' })]);
      expect(w.of('upload', 'large.bin')).toEqual([]);
      expect(await remoteStat('/interrupt/large.bin')).toBeNull();
      expect((await remoteNames('/interrupt')).filter((n) => n.includes('.dfs-sync-'))).toEqual([]);
    }, 120_000);
  });
});
