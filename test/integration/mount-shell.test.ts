import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, tempDir } from '../helpers/cluster';
import { MOUNT_MAIN, TestMount, sh, shOk } from '../helpers/mount';

/** A sizeable real tree: all of /usr/include is ~130 MB of small files, too slow for 2 shared cores. */
const TREE = process.env.DFS_MOUNT_TREE ?? '/usr/include/linux';

describe('dfs-mount: the cluster behaves like a local disk for the shell', () => {
  let cluster: TestCluster;
  let mount: TestMount;
  const scratch = tempDir('mount-shell');

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2 }).start();
    mount = await new TestMount(cluster.address).start();
  });

  afterAll(async () => {
    await mount?.stop();
    await cluster?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('copies a real directory tree in and back out identically', async () => {
    await shOk(`cp -r ${TREE} ${mount.path('tree')}`, { timeoutMs: 180_000 });
    await shOk(`diff -r ${TREE} ${mount.path('tree')}`, { timeoutMs: 120_000 });
    await shOk(`cp -r ${mount.path('tree')} ${scratch}/out && diff -r ${TREE} ${scratch}/out`, { timeoutMs: 120_000 });
  });

  it('moves across directories, makes parents, removes trees', async () => {
    await shOk(`mkdir -p ${mount.path('a/b/c')} && echo hi > ${mount.path('a/b/c/f')}`);
    await shOk(`mkdir -p ${mount.path('x/y')} && mv ${mount.path('a/b/c/f')} ${mount.path('x/y/g')}`);
    expect(fs.readFileSync(mount.path('x/y/g'), 'utf8')).toBe('hi\n');
    expect(fs.existsSync(mount.path('a/b/c/f'))).toBe(false);
    await shOk(`mv ${mount.path('a/b')} ${mount.path('x/b')}`);
    expect(fs.readdirSync(mount.path('x')).sort()).toEqual(['b', 'y']);
    await shOk(`rm -r ${mount.path('x')} ${mount.path('a')}`);
    expect(fs.existsSync(mount.path('x'))).toBe(false);
  });

  it('replaces an existing file atomically on rename', async () => {
    fs.writeFileSync(mount.path('target'), 'old');
    fs.writeFileSync(mount.path('new.tmp'), 'new contents');
    fs.renameSync(mount.path('new.tmp'), mount.path('target'));
    expect(fs.readFileSync(mount.path('target'), 'utf8')).toBe('new contents');
    expect(fs.existsSync(mount.path('new.tmp'))).toBe(false);
  });

  it('shows sizes, modes and owners in ls -l', async () => {
    fs.writeFileSync(mount.path('sized'), Buffer.alloc(12345, 7));
    fs.chmodSync(mount.path('sized'), 0o640);
    const line = (await shOk(`ls -l ${mount.path('sized')}`)).trim();
    expect(line).toMatch(/^-rw-r-----\s+1\s+root\s+root\s+12345 /);
    const dirLine = (await shOk(`ls -ld ${mount.path('tree')}`)).trim();
    expect(dirLine.startsWith('d')).toBe(true);
  });

  it('df shows the capacity of the cluster', async () => {
    const out = await shOk(`df -B1 --output=fstype,size,used,avail ${mount.dir} | tail -1`);
    const [, size] = out.trim().split(/\s+/);
    expect(Number(size)).toBeGreaterThan(1024 * 1024);
    const src = (await shOk(`df --output=source ${mount.dir} | tail -1`)).trim();
    expect(src).toBe('dfs');
  });

  it('supports symlinks, hard links (nlink) and special files', async () => {
    fs.writeFileSync(mount.path('orig'), 'linked');
    fs.symlinkSync('orig', mount.path('sym'));
    expect(fs.readlinkSync(mount.path('sym'))).toBe('orig');
    expect(fs.readFileSync(mount.path('sym'), 'utf8')).toBe('linked');
    fs.linkSync(mount.path('orig'), mount.path('hard'));
    const a = fs.statSync(mount.path('orig'));
    const b = fs.statSync(mount.path('hard'));
    expect(a.nlink).toBe(2);
    expect(b.ino).toBe(a.ino);
    fs.unlinkSync(mount.path('orig'));
    expect(fs.statSync(mount.path('hard')).nlink).toBe(1);
    expect(fs.readFileSync(mount.path('hard'), 'utf8')).toBe('linked');
    await shOk(`mkfifo ${mount.path('fifo')}`);
    expect(fs.statSync(mount.path('fifo')).isFIFO()).toBe(true);
  });

  it('keeps chmod, chown and explicit times (touch -m, cp -p)', async () => {
    fs.writeFileSync(mount.path('perm'), 'x');
    await shOk(`chmod 751 ${mount.path('perm')} && chown 1234:4321 ${mount.path('perm')}`);
    const st = fs.statSync(mount.path('perm'));
    expect(st.mode & 0o7777).toBe(0o751);
    expect([st.uid, st.gid]).toEqual([1234, 4321]);

    await shOk(`touch -m -d '2001-02-03 04:05:06' ${mount.path('perm')}`);
    await shOk(`touch -a -d '2002-02-03 04:05:06' ${mount.path('perm')}`);
    const t = fs.statSync(mount.path('perm'));
    expect(t.mtime.toISOString()).toBe(new Date('2001-02-03T04:05:06').toISOString());
    expect(t.atime.toISOString()).toBe(new Date('2002-02-03T04:05:06').toISOString());

    const src = path.join(scratch, 'dated');
    fs.writeFileSync(src, Buffer.alloc(300_000, 1));
    fs.utimesSync(src, new Date('2010-01-01T00:00:00Z'), new Date('2011-01-01T00:00:00Z'));
    await shOk(`cp -p ${src} ${mount.path('dated')}`);
    expect(fs.statSync(mount.path('dated')).mtime.toISOString()).toBe('2011-01-01T00:00:00.000Z');
  });

  it('keeps user extended attributes and refuses file capabilities (getfattr, setfattr)', async () => {
    const f = mount.path('attrs');
    fs.writeFileSync(f, 'x');
    await shOk(`setfattr -n user.color -v blue ${f} && setfattr -n user.size -v 42 ${f}`);
    expect(await shOk(`getfattr --only-values -n user.color ${f}`)).toBe('blue');
    const all = await shOk(`getfattr -d --absolute-names ${f}`);
    expect(all).toMatch(/user\.color="blue"/);
    expect(all).toMatch(/user\.size="42"/);
    await shOk(`setfattr -x user.color ${f}`);
    expect((await sh(`getfattr -n user.color ${f}`)).stderr).toMatch(/No such attribute/);

    // The kernel asks for security.capability before each write (answered "none" by fuse-native).
    fs.appendFileSync(f, 'yz');
    expect(fs.readFileSync(f, 'utf8')).toBe('xyz');
    expect((await sh(`getfattr -n security.capability ${f}`)).stderr).toMatch(/No such attribute/);
    const setCap = await sh(`setfattr -n security.capability -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= ${f}`);
    expect(setCap.code).not.toBe(0);
    expect(setCap.stderr).toMatch(/Operation not supported/);
    expect(await shOk(`getfattr --only-values -n user.size ${f}`)).toBe('42');
  });

  it('answers bad names with ENAMETOOLONG', () => {
    const long = 'n'.repeat(256);
    expect(() => fs.writeFileSync(mount.path(long), 'x')).toThrow(/ENAMETOOLONG/);
    expect(() => fs.mkdirSync(mount.path(long))).toThrow(/ENAMETOOLONG/);
    fs.writeFileSync(mount.path('n'.repeat(255)), 'ok');
    expect(fs.readFileSync(mount.path('n'.repeat(255)), 'utf8')).toBe('ok');
  });

  it('refuses missing, non-directory and busy mount points with a clear error', async () => {
    const missing = await sh(`node ${MOUNT_MAIN} ${scratch}/nope --namenode ${cluster.address} -f`);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/does not exist/);
    fs.writeFileSync(path.join(scratch, 'file'), '');
    const notDir = await sh(`node ${MOUNT_MAIN} ${scratch}/file --namenode ${cluster.address} -f`);
    expect(notDir.stderr).toMatch(/not a directory/);
    const busy = await sh(`node ${MOUNT_MAIN} ${mount.dir} --namenode ${cluster.address} -f`);
    expect(busy.stderr).toMatch(/already mounted/);
  });

  it('fails at start with a clear message when the name node is unreachable', async () => {
    fs.mkdirSync(path.join(scratch, 'empty'), { recursive: true });
    const r = await sh(`node ${MOUNT_MAIN} ${scratch}/empty --namenode 127.0.0.1:1 -f`, { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cannot reach the name node at 127\.0\.0\.1:1/);
  });

  it('detaches without -f once the mount is live, and --unmount ends it', async () => {
    const dir = path.join(scratch, 'detached');
    fs.mkdirSync(dir, { recursive: true });
    try {
      await shOk(`node ${MOUNT_MAIN} ${dir} --namenode ${cluster.address}`, { timeoutMs: 60_000 });
      expect(fs.readdirSync(dir)).toContain('tree');
      await shOk(`node ${MOUNT_MAIN} --unmount ${dir}`);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      await sh(`fusermount -uz ${dir}`);
    }
  });
});
