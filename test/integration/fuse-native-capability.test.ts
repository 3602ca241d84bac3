import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../helpers/cluster';
import { requireFuse, sh } from '../helpers/mount';

/**
 * A file system served by fuse-native in its own process (the writer must not
 * share the server's event loop), counting the getxattr calls its JS handler
 * gets. It answers each line on stdin with the counts so far.
 */
const SERVER = `
const Fuse = require(${JSON.stringify(require.resolve('fuse-native'))});
const [mnt, mode] = process.argv.slice(1);
const counts = { capability: 0, other: 0 };
const now = new Date();
const st = (mode, size) => ({ mtime: now, atime: now, ctime: now, size, mode, uid: 0, gid: 0 });
const fuse = new Fuse(mnt, {
  getattr: (p, cb) => (p === '/' ? cb(0, st(0o40755, 4096)) : p === '/f' ? cb(0, st(0o100644, 0)) : cb(Fuse.ENOENT)),
  open: (p, flags, cb) => cb(0, 1),
  write: (p, fd, buf, len, pos, cb) => cb(len),
  release: (p, fd, cb) => cb(0),
  getxattr: (p, name, pos, cb) => {
    if (name === 'security.capability') counts.capability++;
    else counts.other++;
    cb(Fuse.ENODATA);
  },
}, { noSecurityCapability: mode === 'on', timeout: false });
fuse.mount((err) => {
  if (err) { console.error(err.message); process.exit(1); }
  console.log('mounted');
});
process.stdin.on('data', () => console.log(JSON.stringify(counts)));
process.on('SIGTERM', () => fuse.unmount(() => process.exit(0)));
`;

interface Counts {
  capability: number;
  other: number;
}

describe('fuse-native (dfs patch): a file system without file capabilities', () => {
  const dirs: string[] = [];
  const servers: ChildProcessWithoutNullStreams[] = [];

  afterEach(async () => {
    for (const s of servers.splice(0)) s.kill('SIGTERM');
    for (const d of dirs.splice(0)) {
      await sh(`fusermount -uz ${d}`);
      fs.rmSync(path.dirname(d), { recursive: true, force: true });
    }
  });

  /** Mounts the counting file system, writes `writes` times to /f, asks for two attributes; returns what reached JS. */
  async function serve(
    mode: 'on' | 'off',
    writes: number,
  ): Promise<{ counts: Counts; capability: string; user: string }> {
    requireFuse();
    const dir = path.join(tempDir('fuse-cap'), 'm');
    fs.mkdirSync(dir, { recursive: true });
    dirs.push(dir);
    const server = spawn(process.execPath, ['-e', SERVER, dir, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
    servers.push(server);
    let out = '';
    server.stdout.on('data', (d: Buffer) => (out += d.toString()));
    server.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // fuse-native calls back once the kernel mount is in place.
    await waitFor(`fuse-native mount at ${dir}`, () => out.includes('mounted'), 20_000, 50);

    const file = await fs.promises.open(path.join(dir, 'f'), 'r+');
    try {
      for (let i = 0; i < writes; i++) await file.write(Buffer.from('data'), 0, 4, i * 4);
    } finally {
      await file.close();
    }
    const capability = (await sh(`getfattr -n security.capability ${dir}/f`)).stderr;
    const user = (await sh(`getfattr -n user.note ${dir}/f`)).stderr;

    const before = out.length;
    server.stdin.write('\n');
    await waitFor('counts from the server', () => out.slice(before).includes('}'), 10_000, 20);
    const counts = JSON.parse(out.slice(before).trim().split('\n')[0]) as Counts;
    return { counts, capability, user };
  }

  it('the kernel asks for security.capability before every write; without the option each ask reaches JS', async () => {
    const { counts, capability } = await serve('off', 5);
    expect(counts.capability).toBe(6); // five writes and getfattr
    expect(capability).toMatch(/No such attribute/);
  });

  it('with noSecurityCapability the FUSE thread answers it, and other names still reach JS', async () => {
    const { counts, capability, user } = await serve('on', 5);
    expect(counts).toEqual({ capability: 0, other: 1 });
    expect(capability).toMatch(/No such attribute/);
    expect(user).toMatch(/No such attribute/);
  });
});
