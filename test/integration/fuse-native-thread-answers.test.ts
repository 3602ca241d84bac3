import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../helpers/cluster';
import { fusermount, requireFuse, sh } from '../helpers/mount';

/**
 * A file system served by fuse-native in its own process (the caller must not
 * share the server's event loop), recording the calls its JS handlers get. It
 * answers each line on stdin with what it recorded so far. Every open gets
 * handle 7.
 */
const SERVER = `
const Fuse = require(${JSON.stringify(require.resolve('fuse-native'))});
const [mnt, options] = process.argv.slice(1);
const seen = { capability: 0, otherXattr: 0, flush: [], read: [], release: [] };
const now = new Date();
const st = (mode, size) => ({ mtime: now, atime: now, ctime: now, size, mode, uid: 0, gid: 0 });
const fuse = new Fuse(mnt, {
  getattr: (p, cb) => (p === '/' ? cb(0, st(0o40755, 4096)) : p === '/f' ? cb(0, st(0o100644, 4)) : cb(Fuse.ENOENT)),
  open: (p, flags, cb) => cb(0, 7),
  read: (p, fd, buf, len, pos, cb) => { seen.read.push(fd); cb(Buffer.from('data').copy(buf, 0, pos)); },
  write: (p, fd, buf, len, pos, cb) => cb(len),
  flush: (p, fd, cb) => { seen.flush.push(fd); cb(0); },
  release: (p, fd, cb) => { seen.release.push(fd); cb(0); },
  getxattr: (p, name, pos, cb) => {
    if (name === 'security.capability') seen.capability++;
    else seen.otherXattr++;
    cb(Fuse.ENODATA);
  },
}, { ...JSON.parse(options), timeout: false });
fuse.mount((err) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log('mounted');
});
process.stdin.on('data', () => console.log(JSON.stringify(seen)));
process.on('SIGTERM', () => fuse.unmount(() => process.exit(0)));
`;

interface Seen {
  capability: number;
  otherXattr: number;
  flush: number[];
  read: number[];
  release: number[];
}

interface Server {
  dir: string;
  seen(releases: number): Promise<Seen>;
}

describe('fuse-native (dfs patch): fixed answers given on the FUSE thread', () => {
  const dirs: string[] = [];
  const servers: ChildProcessWithoutNullStreams[] = [];

  afterEach(async () => {
    for (const s of servers.splice(0)) s.kill('SIGTERM');
    for (const d of dirs.splice(0)) {
      await fusermount(['-uz', d]).catch(() => undefined);
      fs.rmSync(path.dirname(d), { recursive: true, force: true });
    }
  });

  async function serve(options: { noSecurityCapability?: boolean; noReadOnlyFlush?: boolean }): Promise<Server> {
    requireFuse();
    const dir = path.join(tempDir('fuse-thread'), 'm');
    fs.mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    const server = spawn(process.execPath, ['-e', SERVER, dir, JSON.stringify(options)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    servers.push(server);
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    server.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // fuse-native calls back once the kernel mount is in place.
    await waitFor(`fuse-native mount at ${dir}`, () => out.includes('mounted'), 20_000, 50);
    return {
      dir,
      // RELEASE reaches the file system after close(2) has returned: wait for `releases` of them.
      seen: (releases: number) =>
        waitFor(
          `${releases} releases`,
          async () => {
            const before = out.length;
            server.stdin.write('\n');
            await waitFor('what the server saw', () => out.slice(before).includes('}'), 10_000, 20);
            const seen = JSON.parse(out.slice(before).trim().split('\n')[0]) as Seen;
            return seen.release.length >= releases ? seen : undefined;
          },
          10_000,
          50,
        ),
    };
  }

  async function writeFiveTimes(file: string): Promise<void> {
    const h = await fs.promises.open(file, 'r+');
    try {
      for (let i = 0; i < 5; i++) await h.write(Buffer.from('data'), 0, 4, i * 4);
    } finally {
      await h.close();
    }
  }

  it('without the options, every ask for security.capability and every flush reaches JS', async () => {
    const fsys = await serve({});
    await writeFiveTimes(`${fsys.dir}/f`);
    expect(await fs.promises.readFile(`${fsys.dir}/f`, 'utf8')).toBe('data');
    const seen = await fsys.seen(2);
    expect(seen.capability).toBe(5); // the kernel asks before every write
    expect(seen.flush).toEqual([7, 7]);
  });

  it('noSecurityCapability: the FUSE thread answers ENODATA for it, other names still reach JS', async () => {
    const fsys = await serve({ noSecurityCapability: true });
    await writeFiveTimes(`${fsys.dir}/f`);
    expect((await sh(`getfattr -n security.capability ${fsys.dir}/f`)).stderr).toMatch(/No such attribute/);
    expect((await sh(`getfattr -n user.note ${fsys.dir}/f`)).stderr).toMatch(/No such attribute/);
    const seen = await fsys.seen(1);
    expect(seen.capability).toBe(0);
    expect(seen.otherXattr).toBe(1);
  });

  it('noReadOnlyFlush: closing a read-only handle does not reach JS, a writable one does; handles keep their number', async () => {
    const fsys = await serve({ noReadOnlyFlush: true });
    expect(await fs.promises.readFile(`${fsys.dir}/f`, 'utf8')).toBe('data');
    let seen = await fsys.seen(1);
    expect(seen.flush).toEqual([]);
    expect(seen.read.length).toBeGreaterThan(0);
    expect(new Set([...seen.read, ...seen.release])).toEqual(new Set([7]));

    await writeFiveTimes(`${fsys.dir}/f`);
    seen = await fsys.seen(2);
    expect(seen.flush).toEqual([7]);
    expect(seen.release).toEqual([7, 7]);
  });
});
