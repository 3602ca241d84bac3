import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/client/options';
import { TestCluster, waitFor } from '../helpers/cluster';
import { TestMount, isMounted, requireFuse } from '../helpers/mount';

/**
 * Robustness of the mount (issue 3, DESIGN.md guarantees 4 and 5): a dead name
 * node, a full cluster, other users with -o allow_other, bad names. Real
 * processes throughout; every mount and process is stopped in afterAll.
 */

/** The errno code (e.g. 'EIO') an async fs call failed with, or 'ok'. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

/** The time `p` took to settle and its errno code. */
async function timed(p: Promise<unknown>): Promise<{ code: string; ms: number }> {
  const t0 = Date.now();
  const code = await codeOf(p);
  return { code, ms: Date.now() - t0 };
}

const NOBODY = 65534;

/**
 * Runs `body` (an async JS function body with `fs` = node:fs/promises) as
 * uid/gid 65534 in a separate node process; resolves with what it returned
 * (JSON). Errors thrown by fs calls are reported by the helper `code(p)`.
 */
function asNobody(body: string, timeoutMs = 30_000): Promise<unknown> {
  const script = `
    const fs = require('node:fs/promises');
    const code = (p) => p.then(() => 'ok', (e) => e.code ?? String(e));
    (async () => { ${body} })().then(
      (v) => process.stdout.write(JSON.stringify(v ?? null)),
      (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(3); },
    );`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`script as nobody exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as unknown);
    });
  });
}

/** tempDir() makes 0700 directories: other users must be able to reach the mount point. */
function openParent(m: TestMount): void {
  fs.chmodSync(path.dirname(m.dir), 0o755);
}

describe('dfs-mount robustness: the name node dies and comes back', () => {
  let cluster: TestCluster;
  let mount: TestMount;
  // Every name node call is bounded by the client's metadata budget (the mount
  // has no option to change it); allow a few seconds for the kernel round trip.
  const ONE_CALL_MS = DEFAULTS.metadataTimeoutMs + 4_000;
  const TWO_CALLS_MS = 2 * DEFAULTS.metadataTimeoutMs + 5_000;

  beforeAll(async () => {
    requireFuse();
    cluster = await new TestCluster({ dataNodes: 2, replication: 2, chunkSize: '1MiB' }).start();
    mount = await new TestMount(cluster.address).start();
  });

  afterAll(async () => {
    await mount?.stop();
    await cluster?.stop();
  });

  it('fails operations with EIO/ETIMEDOUT in bounded time, stays mounted, and recovers', async () => {
    const before = Buffer.alloc(1024 * 1024 + 123, 0x42);
    await fs.promises.mkdir(mount.path('kept'));
    await fs.promises.writeFile(mount.path('kept/before.bin'), before);

    await cluster.namenode.proc.kill('SIGKILL');

    // One after the other: libfuse2 mounts get no parallel lookups in one directory.
    // A name never seen costs one lookup; a listing through a name the kernel has
    // cached costs two (it revalidates the name, then looks it up again).
    const st = await timed(fs.promises.stat(mount.path('never-seen')));
    expect(['EIO', 'ETIMEDOUT']).toContain(st.code);
    expect(st.ms).toBeLessThan(ONE_CALL_MS);
    const ls = await timed(fs.promises.readdir(mount.path('kept')));
    expect(['EIO', 'ETIMEDOUT']).toContain(ls.code);
    expect(ls.ms).toBeLessThan(TWO_CALLS_MS);

    expect(mount.proc.running).toBe(true);
    expect(await isMounted(mount.dir)).toBe(true);

    await cluster.namenode.start();

    // No retry here: the data nodes re-register within a heartbeat or two, and the
    // client waits for them (within its budget) when the name node is starting.
    const after = Buffer.from('written after the restart\n');
    await fs.promises.writeFile(mount.path('after.txt'), after);
    expect((await fs.promises.readFile(mount.path('after.txt'))).equals(after)).toBe(true);
    expect((await fs.promises.readFile(mount.path('kept/before.bin'))).equals(before)).toBe(true);
    expect((await fs.promises.readdir(mount.path('kept'))).sort()).toEqual(['before.bin']);
    await fs.promises.mkdir(mount.path('made-after'));
    expect(fs.statSync(mount.path('made-after')).isDirectory()).toBe(true);
  }, 60_000);
});

describe('dfs-mount robustness: a full cluster answers ENOSPC', () => {
  let cluster: TestCluster;
  let mount: TestMount;

  beforeAll(async () => {
    requireFuse();
    cluster = await new TestCluster({
      dataNodes: 2,
      replication: 2,
      chunkSize: '1MiB',
      dataNode: { capacity: '8MiB' },
    }).start();
    mount = await new TestMount(cluster.address).start();
  });

  afterAll(async () => {
    await mount?.stop();
    await cluster?.stop();
  });

  it('fails a write larger than the cluster with ENOSPC and keeps everything else', async () => {
    const small = Buffer.from('small and safe\n');
    await fs.promises.writeFile(mount.path('small.txt'), small);

    const big = Buffer.alloc(12 * 1024 * 1024, 0x17);
    const r = await timed(fs.promises.writeFile(mount.path('big.bin'), big));
    expect(r.code).toBe('ENOSPC');

    expect(mount.proc.running).toBe(true);
    expect(await isMounted(mount.dir)).toBe(true);
    expect((await fs.promises.readFile(mount.path('small.txt'))).equals(small)).toBe(true);
    // What part of big.bin made it in is real data: the file does not claim bytes no replica holds.
    const kept = await fs.promises.readFile(mount.path('big.bin'));
    expect(kept.length).toBeLessThan(big.length);
    expect(kept.equals(big.subarray(0, kept.length))).toBe(true);

    // Deleting the failed file gives the space back (data nodes drop chunks on their next report).
    await fs.promises.unlink(mount.path('big.bin'));
    const again = Buffer.alloc(2 * 1024 * 1024, 0x33);
    await waitFor(
      'space to come back after deleting the failed file',
      async () => {
        await fs.promises.writeFile(mount.path('again.bin'), again);
        return true;
      },
      30_000,
      500,
    );
    expect((await fs.promises.readFile(mount.path('again.bin'))).equals(again)).toBe(true);
    expect((await fs.promises.readFile(mount.path('small.txt'))).equals(small)).toBe(true);
  }, 60_000);
});

describe('dfs-mount robustness: other users with -o allow_other; bad names', () => {
  let cluster: TestCluster;
  let shared: TestMount;
  let private_: TestMount;

  beforeAll(async () => {
    requireFuse();
    cluster = await new TestCluster({ dataNodes: 2, replication: 2 }).start();
    shared = await new TestMount(cluster.address, ['-o', 'allow_other']).start();
    private_ = await new TestMount(cluster.address).start();
    openParent(shared);
    openParent(private_);
  });

  afterAll(async () => {
    await shared?.stop();
    await private_?.stop();
    await cluster?.stop();
  });

  it('applies POSIX permission checks to each user', async () => {
    await fs.promises.mkdir(shared.path('secret-dir'), { mode: 0o700 });
    await fs.promises.chmod(shared.path('secret-dir'), 0o700);
    await fs.promises.writeFile(shared.path('secret-dir/inside'), 'x');
    await fs.promises.writeFile(shared.path('secret.txt'), 'root only', { mode: 0o600 });
    await fs.promises.chmod(shared.path('secret.txt'), 0o600);
    await fs.promises.writeFile(shared.path('public.txt'), 'anyone may read', { mode: 0o644 });
    await fs.promises.chmod(shared.path('public.txt'), 0o644);
    await fs.promises.mkdir(shared.path('tmp'));
    await fs.promises.chmod(shared.path('tmp'), 0o1777);
    await fs.promises.writeFile(shared.path('tmp/roots'), 'mine');

    const m = JSON.stringify(shared.dir);
    const r = (await asNobody(`
      const m = ${m};
      return {
        readSecret: await code(fs.readFile(m + '/secret.txt')),
        writePublic: await code(fs.appendFile(m + '/public.txt', 'y')),
        readPublic: await fs.readFile(m + '/public.txt', 'utf8'),
        listSecretDir: await code(fs.readdir(m + '/secret-dir')),
        statInsideSecretDir: await code(fs.stat(m + '/secret-dir/inside')),
        createInRoot: await code(fs.writeFile(m + '/mine-at-root', 'n')),
        createInTmp: await code(fs.writeFile(m + '/tmp/nobodys', 'hello')),
        readOwn: await fs.readFile(m + '/tmp/nobodys', 'utf8'),
        deleteRoots: await code(fs.unlink(m + '/tmp/roots')),
        renameRoots: await code(fs.rename(m + '/tmp/roots', m + '/tmp/stolen')),
        chmodRoots: await code(fs.chmod(m + '/tmp/roots', 0o666)),
      };
    `)) as Record<string, string>;

    expect(r).toEqual({
      readSecret: 'EACCES',
      writePublic: 'EACCES',
      readPublic: 'anyone may read',
      listSecretDir: 'EACCES',
      statInsideSecretDir: 'EACCES',
      createInRoot: 'EACCES',
      createInTmp: 'ok',
      readOwn: 'hello',
      // The sticky bit: as on Linux's local file systems, EPERM.
      deleteRoots: 'EPERM',
      renameRoots: 'EPERM',
      chmodRoots: 'EPERM',
    });

    const st = await fs.promises.stat(shared.path('tmp/nobodys'));
    expect([st.uid, st.gid]).toEqual([NOBODY, NOBODY]);
    expect(fs.existsSync(shared.path('tmp/roots'))).toBe(true);
    expect(fs.existsSync(shared.path('mine-at-root'))).toBe(false);

    // The owner may delete its own file in the sticky directory.
    const own = (await asNobody(`return code(fs.unlink(${JSON.stringify(shared.path('tmp/nobodys'))}));`)) as string;
    expect(own).toBe('ok');
  });

  it('without allow_other, other users cannot enter the mount at all', async () => {
    const r = (await asNobody(`return code(fs.stat(${JSON.stringify(private_.path('public.txt'))}));`)) as string;
    expect(r).toBe('EACCES');
    // Root (the mounting user) still can.
    expect(fs.readFileSync(private_.path('public.txt'), 'utf8')).toBe('anyone may read');
  });

  it('measures names in bytes: 255 bytes of UTF-8 work, 256 give ENAMETOOLONG everywhere', async () => {
    const ok = '\u20ac'.repeat(85); // 255 bytes
    const long = '\u20ac'.repeat(85) + 'x'; // 256 bytes, 86 characters
    await fs.promises.writeFile(shared.path(ok), 'euro');
    expect(await fs.promises.readFile(shared.path(ok), 'utf8')).toBe('euro');
    expect(await fs.promises.readdir(shared.dir)).toContain(ok);
    expect(await codeOf(fs.promises.writeFile(shared.path(long), 'x'))).toBe('ENAMETOOLONG');
    expect(await codeOf(fs.promises.stat(shared.path(long)))).toBe('ENAMETOOLONG');
    expect(await codeOf(fs.promises.rename(shared.path(ok), shared.path(long)))).toBe('ENAMETOOLONG');
    expect(await codeOf(fs.promises.symlink(ok, shared.path(long)))).toBe('ENAMETOOLONG');
    expect(await codeOf(fs.promises.link(shared.path(ok), shared.path(long)))).toBe('ENAMETOOLONG');
    expect(await fs.promises.readFile(shared.path(ok), 'utf8')).toBe('euro');
  });
});
