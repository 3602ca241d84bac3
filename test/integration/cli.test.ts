import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, TestCluster, freePort, tempDir, waitFor } from '../helpers/cluster';

/**
 * The `dfs` command CLI as a user runs it: `node dist/cli/main.js ...` against
 * a real name node and data nodes, with its state (current directory) in a
 * temp dir.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  input?: string;
  uid?: number;
  gid?: number;
  cwd?: string;
  namenode?: string;
  env?: NodeJS.ProcessEnv;
}

const CLI = path.join(DIST, 'cli', 'main.js');

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, o: RunOptions): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd: o.cwd, uid: o.uid, gid: o.gid, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function writeRandomFile(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(4 << 20, bytes - done);
      fs.writeSync(fd, randomBytes(n));
      done += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** One clear line on stderr, prefixed `dfs: `, no stack trace. */
function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^dfs: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

function cliFor(cluster: () => TestCluster, stateDir: string) {
  const env = (o: RunOptions): NodeJS.ProcessEnv => ({
    ...process.env,
    DFS_NAMENODE: o.namenode ?? cluster().address,
    DFS_STATE_DIR: stateDir,
    DFS_LOG_LEVEL: 'warn',
    ...o.env,
  });
  const dfs = (args: string[], o: RunOptions = {}): Promise<Run> => run(process.execPath, [CLI, ...args], env(o), o);
  /** Runs dfs with a terminal on stdin/stdout (util-linux `script`), typing `input`. */
  const dfsTty = (args: string[], input: string, o: RunOptions = {}): Promise<Run> => {
    const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return run('script', ['-qec', quoted, '/dev/null'], env(o), { ...o, input });
  };
  return { dfs, dfsTty };
}

describe('dfs CLI against a real cluster', () => {
  let cluster: TestCluster;
  const stateDir = tempDir('cli-state');
  const localDir = tempDir('cli-local');
  const { dfs, dfsTty } = cliFor(() => cluster, stateDir);

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2 }).start();
    await waitFor('3 live data nodes', async () => {
      const r = await dfs(['--json', 'status']);
      return r.code === 0 && (JSON.parse(r.stdout) as { liveNodes: number }).liveNodes === 3;
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(localDir, { recursive: true, force: true });
  });

  it('status shows every data node live, with totals, chunk health and security', async () => {
    const r = await dfs(['status']);
    expect(r.code, r.stderr).toBe(0);
    for (const dn of cluster.datanodes) expect(r.stdout).toMatch(new RegExp(`${dn.id}\\s+${dn.address}\\s+live`));
    expect(r.stdout).toMatch(/total\s+3 live, 0 dead/);
    expect(r.stdout).toMatch(/under-replicated: 0\s+missing: 0/);
    expect(r.stdout).toMatch(/safe mode:/);
    expect(r.stdout).toMatch(/security:\s+none/);

    const j = JSON.parse((await dfs(['status', '--json'])).stdout);
    expect(j).toMatchObject({ ok: true, liveNodes: 3, deadNodes: 0, underReplicated: 0, missing: 0, secured: false });
    expect(j.nodes).toHaveLength(3);
    for (const n of j.nodes) {
      expect(Object.keys(n)).toEqual(
        expect.arrayContaining(['id', 'address', 'live', 'used', 'capacity', 'chunks', 'lastHeartbeatMs']),
      );
      expect(n.live).toBe(true);
    }
  });

  it('makes, lists and enters directories; the current directory persists between invocations', async () => {
    expect((await dfs(['make_directory', '/home'])).stdout).toBe('ok\n');
    expect((await dfs(['mkdir', '-p', '/home/alice/docs'])).stdout).toBe('ok\n');
    expect((await dfs(['open_directory', '/home'])).stdout).toBe('ok\n');
    expect((await dfs(['pwd'])).stdout).toBe('/home\n');
    expect((await dfs(['cd', 'alice'])).stdout).toBe('ok\n');
    expect((await dfs(['read_directory'])).stdout).toBe('docs/\n');
    expect((await dfs(['file_create', 'todo.txt'])).stdout).toBe('ok\n');
    expect((await dfs(['ls', '/home/alice'])).stdout).toBe('docs/\ntodo.txt\n');
    expect((await dfs(['open_directory', '..'])).stdout).toBe('ok\n');
    expect((await dfs(['pwd'])).stdout).toBe('/home\n');
    const long = await dfs(['ls', '-l', 'alice']);
    expect(long.stdout).toMatch(/^drwxr-xr-x\s+\d+\s+root\s+root\s+\d+\s+\S+ \S+\s+docs\/$/m);

    // A missing or non-directory target is an error and the current directory stays.
    expectOneLineError(
      await dfs(['open_directory', 'nope']),
      /open_directory: \/home\/nope: no such file or directory/,
    );
    expectOneLineError(await dfs(['cd', 'alice/todo.txt']), /\/home\/alice\/todo.txt: not a directory/);
    expect((await dfs(['pwd'])).stdout).toBe('/home\n');
    await dfs(['cd', '/']);
    expect((await dfs(['cd', '..'])).code).toBe(0);
    expect((await dfs(['pwd'])).stdout).toBe('/\n');

    // Per name node: another address has its own current directory.
    const other = await dfs(['pwd'], { namenode: '127.0.0.1:1' });
    expect(other.stdout).toBe('/\n');
  });

  it('file_write / file_read default to base names and show no progress bar without a TTY', async () => {
    await dfs(['mkdir', '/up']);
    await dfs(['cd', '/up']);
    const src = path.join(localDir, 'hello.txt');
    fs.writeFileSync(src, 'hello, dfs\n');
    const put = await dfs(['file_write', src]);
    expect(put).toMatchObject({ code: 0, stdout: 'ok\n', stderr: '' });
    const down = tempDir('cli-down');
    try {
      const get = await dfs(['file_read', 'hello.txt'], { cwd: down });
      expect(get).toMatchObject({ code: 0, stdout: 'ok\n', stderr: '' });
      expect(fs.readFileSync(path.join(down, 'hello.txt'), 'utf8')).toBe('hello, dfs\n');
      // Into a directory; no temp files left behind.
      expect((await dfs(['get', '/up/hello.txt', down + '/'])).code).toBe(0);
      expect(fs.readdirSync(down)).toEqual(['hello.txt']);
    } finally {
      fs.rmSync(down, { recursive: true, force: true });
    }
    // Upload into an existing directory, and overwrite an existing file.
    expect((await dfs(['put', src, '/up/'])).code).toBe(0);
    fs.writeFileSync(src, 'v2');
    expect((await dfs(['put', src, '/up/hello.txt'])).code).toBe(0);
    const again = path.join(localDir, 'again.txt');
    await dfs(['get', '/up/hello.txt', again]);
    expect(fs.readFileSync(again, 'utf8')).toBe('v2');
  });

  it('shows a progress bar with throughput only on a terminal', async () => {
    const src = path.join(localDir, 'tty.bin');
    writeRandomFile(src, 20 * 1024 * 1024);
    const tty = await dfsTty(['file_write', src, '/tty.bin'], '');
    expect(tty.code, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/put tty\.bin .*100% \| 20\.0 MiB \/ 20\.0 MiB \| [\d.]+ [KMG]?i?B\/s/);
    const plain = await dfs(['file_read', '/tty.bin', path.join(localDir, 'tty.back')]);
    expect(plain).toMatchObject({ code: 0, stdout: 'ok\n', stderr: '' });
    await dfs(['rm', '/tty.bin']);
  });

  it('file_info shows size, mode, owner, times, replication and each chunk with its data nodes', async () => {
    const src = path.join(localDir, 'info.bin');
    writeRandomFile(src, 3 * 1024 * 1024 + 5);
    expect((await dfs(['file_write', src, '/info.bin'])).code).toBe(0);
    const r = await dfs(['file_info', '/info.bin']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/size:\s+3\.0 MiB \(3145733 bytes\)/);
    expect(r.stdout).toMatch(/mode:\s+-rw-r--r-- \(0644\)/);
    expect(r.stdout).toMatch(/owner:\s+root \(0\)/);
    expect(r.stdout).toMatch(/modified:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(r.stdout).toMatch(/replication:\s+2/);
    expect(r.stdout).toMatch(/chunks:\s+1\n/);
    expect(r.stdout).toMatch(
      /^\s+0\s+\d+\s+\d+\s+3\.0 MiB\s+2\/2\s+dn\d \(127\.0\.0\.1:\d+\), dn\d \(127\.0\.0\.1:\d+\)$/m,
    );

    const j = JSON.parse((await dfs(['--json', 'info', '/info.bin'])).stdout);
    expect(j).toMatchObject({ ok: true, path: '/info.bin', type: 'file', size: 3145733, mode: 0o644, replication: 2 });
    expect(j.chunks).toHaveLength(1);
    expect(j.chunks[0]).toMatchObject({ index: 0, size: 3145733, underReplicated: false });
    expect(j.chunks[0].replicas).toHaveLength(2);
    const addresses = new Set(cluster.datanodes.map((d) => d.address));
    for (const rep of j.chunks[0].replicas) expect(addresses.has(rep.address)).toBe(true);
  });

  it('file_copy (default "NAME (copy)"), file_move and file_delete', async () => {
    await dfs(['mkdir', '/cp']);
    const src = path.join(localDir, 'orig.txt');
    fs.writeFileSync(src, 'original');
    await dfs(['put', src, '/cp/orig.txt']);
    expect((await dfs(['file_copy', '/cp/orig.txt'])).stdout).toBe('ok\n');
    expect((await dfs(['cp', '/cp/orig.txt'])).stdout).toBe('ok\n');
    expect((await dfs(['cp', '/cp/orig.txt', '/cp/explicit.txt'])).stdout).toBe('ok\n');
    expect((await dfs(['ls', '/cp'])).stdout).toBe('explicit.txt\norig.txt\norig.txt (copy 2)\norig.txt (copy)\n');
    const copy = path.join(localDir, 'copy.txt');
    await dfs(['get', '/cp/orig.txt (copy)', copy]);
    expect(fs.readFileSync(copy, 'utf8')).toBe('original');

    expect((await dfs(['file_move', '/cp/explicit.txt', '/cp/moved.txt'])).stdout).toBe('ok\n');
    await dfs(['mkdir', '/cp/sub']);
    expect((await dfs(['mv', '/cp/moved.txt', '/cp/sub'])).stdout).toBe('ok\n');
    expect((await dfs(['ls', '/cp/sub'])).stdout).toBe('moved.txt\n');

    expect((await dfs(['file_delete', '/cp/sub/moved.txt'])).stdout).toBe('ok\n');
    expect((await dfs(['ls', '/cp/sub'])).stdout).toBe('');
    expectOneLineError(await dfs(['rm', '/cp/sub']), /\/cp\/sub: is a directory.*delete_directory/);
  });

  it('every command speaks --json with ok: true', async () => {
    const src = path.join(localDir, 'j.txt');
    fs.writeFileSync(src, 'json');
    const local = path.join(localDir, 'j-down.txt');
    const cases: Array<[string[], Record<string, unknown>]> = [
      [['make_directory', '/j'], { path: '/j' }],
      [['open_directory', '/j'], { cwd: '/j' }],
      [['file_create', 'a'], { path: '/j/a' }],
      [['file_write', src, 'b'], { path: '/j/b', bytes: 4 }],
      [['file_read', 'b', local], { path: '/j/b', bytes: 4 }],
      [['file_copy', 'b', 'c'], { path: '/j/b', dest: '/j/c' }],
      [['file_move', 'c', 'd'], { path: '/j/c', dest: '/j/d' }],
      [['file_info', 'd'], { path: '/j/d', size: 4 }],
      [['read_directory'], { path: '/j' }],
      [['file_delete', 'd'], { path: '/j/d' }],
      [['pwd'], { cwd: '/j' }],
      [['status'], { liveNodes: 3 }],
      [['open_directory', '/'], { cwd: '/' }],
      [['delete_directory', '--yes', '/j'], { path: '/j' }],
    ];
    for (const [args, expected] of cases) {
      const r = await dfs(['--json', ...args]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(JSON.parse(r.stdout), args.join(' ')).toMatchObject({ ok: true, ...expected });
    }
    const ls = JSON.parse((await dfs(['--json', 'ls', '/cp'])).stdout);
    expect(ls.entries.map((e: { name: string }) => e.name)).toContain('orig.txt');
    expect(ls.entries[0]).toMatchObject({
      type: expect.any(String),
      size: expect.any(Number),
      mode: expect.any(Number),
    });
    // Errors too: one line on stderr, and a JSON object on stdout.
    const err = await dfs(['--json', 'file_info', '/does-not-exist']);
    expect(err.code).toBe(1);
    expect(JSON.parse(err.stdout)).toMatchObject({ ok: false, errno: 'ENOENT' });
  });

  it('reports missing arguments, missing files and an unreachable name node in one line each', async () => {
    for (const cmd of ['file_create', 'file_read', 'file_write', 'file_delete', 'file_info', 'file_copy']) {
      const r = await dfs([cmd]);
      expect(r.code).toBe(2);
      expectOneLineError(r, new RegExp(`^dfs: ${cmd}: missing required argument`));
    }
    expectOneLineError(await dfs(['file_move', '/a']), /file_move: missing required argument 'DEST'/);
    expectOneLineError(await dfs(['no_such_command']), /unknown command 'no_such_command'/);

    expectOneLineError(
      await dfs(['file_read', '/nope.txt', path.join(localDir, 'x')]),
      /\/nope.txt: no such file or directory/,
    );
    expect(fs.existsSync(path.join(localDir, 'x'))).toBe(false);
    expectOneLineError(
      await dfs(['file_write', path.join(localDir, 'missing.bin'), '/m']),
      /local file .*missing.bin: no such file or directory/,
    );
    expectOneLineError(await dfs(['file_write', localDir, '/m']), /is a directory/);
    expectOneLineError(await dfs(['file_delete', '/nope.txt']), /\/nope.txt: no such file or directory/);
    expectOneLineError(
      await dfs(['file_write', path.join(localDir, 'hello.txt'), '/no/such/dir/']),
      /\/no\/such\/dir: no such file/,
    );

    const port = await freePort();
    for (const args of [['status'], ['ls', '/'], ['file_read', '/x']]) {
      const r = await dfs(args, { namenode: `127.0.0.1:${port}` });
      expect(r.code).toBe(1);
      expectOneLineError(r, new RegExp(`cannot reach the name node at 127\\.0\\.0\\.1:${port}`));
    }
    expectOneLineError(await dfs(['status'], { namenode: 'not an address' }), /bad name node address/);
  });

  it('reports permission denied for a non-root user in a root-owned 0755 directory', async () => {
    await dfs(['mkdir', '/locked']);
    const src = path.join(localDir, 'perm.txt');
    fs.writeFileSync(src, 'x');
    fs.chmodSync(src, 0o644);
    fs.chmodSync(localDir, 0o755);
    const nobody = { uid: 65534, gid: 65534 };
    expectOneLineError(await dfs(['file_create', '/locked/f'], nobody), /file_create: \/locked\/f: permission denied/);
    expectOneLineError(await dfs(['make_directory', '/locked/d'], nobody), /\/locked\/d: permission denied/);
    expectOneLineError(
      await dfs(['file_write', src, '/locked/perm.txt'], nobody),
      /\/locked\/perm.txt: permission denied/,
    );
    // Reading is allowed by 0755.
    expect((await dfs(['ls', '/locked'], nobody)).code).toBe(0);
  });

  it('delete_directory asks before removing a non-empty directory', async () => {
    await dfs(['mkdir', '-p', '/full/inner']);
    await dfs(['touch', '/full/inner/f']);
    await dfs(['touch', '/full/g']);

    // No terminal and no --yes: refuse, change nothing.
    const refused = await dfs(['delete_directory', '/full']);
    expectOneLineError(refused, /delete_directory: \/full is not empty.*stdin is not a terminal \(pass --yes/);
    expect((await dfs(['ls', '/full'])).stdout).toBe('g\ninner/\n');

    // An empty directory needs no question.
    await dfs(['mkdir', '/empty']);
    expect((await dfs(['rmdir', '/empty'])).stdout).toBe('ok\n');

    {
      const no = await dfsTty(['delete_directory', '/full'], 'n\n');
      expect(no.code).not.toBe(0);
      expect(no.stdout).toMatch(/delete it and everything in it\? \[y\/N\]/);
      expect(no.stdout).toMatch(/cancelled/);
      expect((await dfs(['ls', '/full'])).stdout).toBe('g\ninner/\n');

      const yes = await dfsTty(['delete_directory', '/full'], 'y\n');
      expect(yes.code, yes.stdout).toBe(0);
      expect(yes.stdout).toMatch(/ok/);
      expectOneLineError(await dfs(['ls', '/full']), /no such file or directory/);
      await dfs(['mkdir', '-p', '/full/inner']);
      await dfs(['touch', '/full/inner/f']);
    }

    expect((await dfs(['delete_directory', '--yes', '/full'])).stdout).toBe('ok\n');
    expectOneLineError(await dfs(['ls', '/full']), /no such file or directory/);
    expectOneLineError(await dfs(['rmdir', '/cp/orig.txt']), /not a directory/);
  });

  it('file_write then file_read of a 100 MiB file is byte-identical', async () => {
    const src = path.join(localDir, 'big.bin');
    const back = path.join(localDir, 'big.back');
    writeRandomFile(src, 100 * 1024 * 1024);
    try {
      const put = await dfs(['file_write', src, '/big.bin']);
      expect(put, put.stderr).toMatchObject({ code: 0, stdout: 'ok\n' });
      const info = JSON.parse((await dfs(['--json', 'file_info', '/big.bin'])).stdout);
      expect(info.size).toBe(100 * 1024 * 1024);
      for (const c of info.chunks) expect(c.replicas).toHaveLength(2);
      const get = await dfs(['file_read', '/big.bin', back]);
      expect(get, get.stderr).toMatchObject({ code: 0, stdout: 'ok\n' });
      expect(await sha256File(back)).toBe(await sha256File(src));
    } finally {
      fs.rmSync(src, { force: true });
      fs.rmSync(back, { force: true });
      await dfs(['rm', '/big.bin']);
    }
  });

  it('initialize asks first, refuses without a terminal, and prints the available size', async () => {
    await dfs(['touch', '/keep-me']);
    const refused = await dfs(['initialize']);
    expectOneLineError(refused, /initialize: remove EVERYTHING under \/ .*stdin is not a terminal \(pass --yes/);
    expect((await dfs(['ls', '/'])).stdout).toMatch(/keep-me/);

    {
      const no = await dfsTty(['initialize'], 'no\n');
      expect(no.code).not.toBe(0);
      expect((await dfs(['ls', '/'])).stdout).toMatch(/keep-me/);
      const yes = await dfsTty(['initialize'], 'yes\n');
      expect(yes.code, yes.stdout).toBe(0);
      expect(yes.stdout).toMatch(/available: \d/);
      expect((await dfs(['ls', '/'])).stdout).toBe('');
      await dfs(['touch', '/keep-me']);
    }

    await dfs(['cd', '/up']);
    const r = await dfs(['initialize', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^available: \d+(\.\d)? [KMGT]?i?B \(\d+ bytes\)\n$/);
    expect((await dfs(['ls', '/'])).stdout).toBe('');
    // The old current directory is gone: initialize went back to /.
    expect((await dfs(['pwd'])).stdout).toBe('/\n');
    const j = JSON.parse((await dfs(['--json', '--yes', 'initialize'])).stdout);
    expect(j).toMatchObject({ ok: true, available: expect.any(Number) });
    expect(j.available).toBeGreaterThan(0);
  });
});

describe('dfs CLI on a full cluster', () => {
  let cluster: TestCluster;
  const stateDir = tempDir('cli-state');
  const localDir = tempDir('cli-local');
  const { dfs } = cliFor(() => cluster, stateDir);

  beforeAll(async () => {
    cluster = await new TestCluster({
      dataNodes: 2,
      replication: 2,
      chunkSize: '1MiB',
      dataNode: { capacity: '4MiB' },
    }).start();
    await waitFor('2 live data nodes', async () => {
      const r = await dfs(['--json', 'status']);
      return r.code === 0 && (JSON.parse(r.stdout) as { liveNodes: number }).liveNodes === 2;
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(localDir, { recursive: true, force: true });
  });

  it('reports no space in one line and leaves no partial file behind', async () => {
    const src = path.join(localDir, 'too-big.bin');
    writeRandomFile(src, 16 * 1024 * 1024);
    const r = await dfs(['file_write', src, '/too-big.bin']);
    expectOneLineError(r, /file_write: \/too-big.bin: no space left on the cluster/);
    expect((await dfs(['ls', '/'])).stdout).toBe('');
  });
});
