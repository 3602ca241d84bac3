import { describe, expect, it } from 'vitest';
import { DfsError } from '../../src/rpc/errors';
import { type Caller, ROOT_INO, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_ISGID, S_ISVTX } from '../../src/namenode/inode';
import {
  Namespace,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  XATTR_CREATE,
  XATTR_REPLACE,
} from '../../src/namenode/namespace';
import type { NamespaceRecord } from '../../src/namenode/records';

const ROOT: Caller = { uid: 0, gid: 0, groups: [] };
const ALICE: Caller = { uid: 1000, gid: 1000, groups: [] };
const BOB: Caller = { uid: 1001, gid: 1001, groups: [2000] };

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof DfsError) return err.errno;
    throw err;
  }
  return 'ok';
}

/** A namespace plus helpers that plan and apply like the name node does. */
function fixture() {
  const ns = Namespace.fresh({ uid: 0, gid: 0 }, 1);
  ns.get(ROOT_INO).mode = S_IFDIR | 0o777;
  const apply = (rec: NamespaceRecord | null) => {
    if (rec) ns.apply(rec);
  };
  const mk = (parent: number, name: string, mode: number, caller: Caller = ROOT, target = '') => {
    const plan = ns.planMknod(caller, parent, name, mode, 0, target, true, 2);
    if ('existing' in plan) throw new Error('exists');
    ns.apply(plan);
    return plan.ino;
  };
  const mkdir = (parent: number, name: string, caller: Caller = ROOT, mode = 0o755) =>
    mk(parent, name, S_IFDIR | mode, caller);
  const create = (parent: number, name: string, caller: Caller = ROOT, mode = 0o644) =>
    mk(parent, name, S_IFREG | mode, caller);
  const rename = (p: number, n: string, np: number, nn: string, flags = 0, caller: Caller = ROOT) =>
    apply(ns.planRename(caller, p, n, np, nn, flags, 3));
  const names = (dir: number) => ns.readDir(ROOT, dir, '', 1000).entries.map((e) => e.name);
  return { ns, apply, mk, mkdir, create, rename, names };
}

describe('names', () => {
  it('refuses empty names, "." and "..", slashes and NUL with EINVAL', () => {
    const { ns } = fixture();
    for (const bad of ['', '.', '..', 'a/b', 'a\0b']) {
      expect(errno(() => ns.planMknod(ROOT, ROOT_INO, bad, S_IFREG | 0o644, 0, '', true, 1))).toBe('EINVAL');
    }
  });

  it('accepts 255-byte names and refuses 256 bytes with ENAMETOOLONG (counted in UTF-8 bytes)', () => {
    const { ns, create } = fixture();
    expect(() => create(ROOT_INO, 'a'.repeat(255))).not.toThrow();
    expect(errno(() => ns.planMknod(ROOT, ROOT_INO, 'a'.repeat(256), S_IFREG, 0, '', true, 1))).toBe('ENAMETOOLONG');
    // 128 two-byte characters = 256 bytes
    expect(errno(() => ns.planMknod(ROOT, ROOT_INO, 'é'.repeat(128), S_IFREG, 0, '', true, 1))).toBe('ENAMETOOLONG');
  });

  it('creating an existing name is EEXIST when exclusive and returns the file otherwise', () => {
    const { ns, create } = fixture();
    const ino = create(ROOT_INO, 'f');
    expect(errno(() => ns.planMknod(ROOT, ROOT_INO, 'f', S_IFREG | 0o644, 0, '', true, 1))).toBe('EEXIST');
    const again = ns.planMknod(ROOT, ROOT_INO, 'f', S_IFREG | 0o644, 0, '', false, 1);
    expect('existing' in again && again.existing.ino).toBe(ino);
  });

  it('lookup of a missing name is ENOENT and under a file is ENOTDIR', () => {
    const { ns, create } = fixture();
    const f = create(ROOT_INO, 'f');
    expect(errno(() => ns.lookup(ROOT, ROOT_INO, 'nope'))).toBe('ENOENT');
    expect(errno(() => ns.lookup(ROOT, f, 'x'))).toBe('ENOTDIR');
  });
});

describe('directories', () => {
  it('rmdir removes only empty directories and keeps link counts right', () => {
    const { ns, mkdir, create, apply } = fixture();
    const d = mkdir(ROOT_INO, 'd');
    expect(ns.get(ROOT_INO).nlink).toBe(3);
    create(d, 'f');
    expect(errno(() => ns.planRmdir(ROOT, ROOT_INO, 'd', 1))).toBe('ENOTEMPTY');
    apply(ns.planUnlink(ROOT, d, 'f', 1));
    apply(ns.planRmdir(ROOT, ROOT_INO, 'd', 1));
    expect(ns.get(ROOT_INO).nlink).toBe(2);
    expect(errno(() => ns.get(d))).toBe('ENOENT');
  });

  it('unlink of a directory is EISDIR, rmdir of a file is ENOTDIR', () => {
    const { ns, mkdir, create } = fixture();
    mkdir(ROOT_INO, 'd');
    create(ROOT_INO, 'f');
    expect(errno(() => ns.planUnlink(ROOT, ROOT_INO, 'd', 1))).toBe('EISDIR');
    expect(errno(() => ns.planRmdir(ROOT, ROOT_INO, 'f', 1))).toBe('ENOTDIR');
  });

  it('readdir pages through entries in name order', () => {
    const { ns, create } = fixture();
    for (const n of ['c', 'a', 'e', 'b', 'd']) create(ROOT_INO, n);
    const p1 = ns.readDir(ROOT, ROOT_INO, '', 2);
    expect(p1.entries.map((e) => e.name)).toEqual(['a', 'b']);
    expect(p1.more).toBe(true);
    const p2 = ns.readDir(ROOT, ROOT_INO, 'b', 10);
    expect(p2.entries.map((e) => e.name)).toEqual(['c', 'd', 'e']);
    expect(p2.more).toBe(false);
  });

  it('resolves paths through symlinks and detects loops', () => {
    const { ns, mkdir, create, mk } = fixture();
    const d = mkdir(ROOT_INO, 'd');
    const f = create(d, 'f');
    mk(ROOT_INO, 'link', S_IFLNK, ROOT, 'd');
    mk(ROOT_INO, 'loop', S_IFLNK, ROOT, '/loop');
    expect(ns.resolvePath(ROOT, '/link/f', true).ino).toBe(f);
    expect(ns.resolvePath(ROOT, '/link', false).mode & S_IFLNK).toBe(S_IFLNK);
    expect(errno(() => ns.resolvePath(ROOT, '/loop/x', true))).toBe('ELOOP');
    expect(ns.resolvePath(ROOT, '/d/../d/./f', true).ino).toBe(f);
  });
});

describe('rename', () => {
  it('moves a file and replaces an existing file atomically (the old target is gone)', () => {
    const { ns, create, rename, names } = fixture();
    const a = create(ROOT_INO, 'a');
    const b = create(ROOT_INO, 'b');
    rename(ROOT_INO, 'a', ROOT_INO, 'b');
    expect(names(ROOT_INO)).toEqual(['b']);
    expect(ns.lookup(ROOT, ROOT_INO, 'b').ino).toBe(a);
    expect(ns.inodes.has(b)).toBe(false);
  });

  it('replaces an empty directory but not a non-empty one', () => {
    const { ns, mkdir, create, rename } = fixture();
    const src = mkdir(ROOT_INO, 'src');
    mkdir(ROOT_INO, 'empty');
    const full = mkdir(ROOT_INO, 'full');
    create(full, 'x');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'src', ROOT_INO, 'full', 0, 1))).toBe('ENOTEMPTY');
    rename(ROOT_INO, 'src', ROOT_INO, 'empty');
    expect(ns.lookup(ROOT, ROOT_INO, 'empty').ino).toBe(src);
    expect(ns.get(ROOT_INO).nlink).toBe(4); // '.', '..'-less root: 2 + full + empty
  });

  it('refuses dir over file (ENOTDIR) and file over dir (EISDIR)', () => {
    const { ns, mkdir, create } = fixture();
    mkdir(ROOT_INO, 'd');
    create(ROOT_INO, 'f');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'd', ROOT_INO, 'f', 0, 1))).toBe('ENOTDIR');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'f', ROOT_INO, 'd', 0, 1))).toBe('EISDIR');
  });

  it('refuses to move a directory into its own subtree (EINVAL)', () => {
    const { ns, mkdir } = fixture();
    const a = mkdir(ROOT_INO, 'a');
    const b = mkdir(a, 'b');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'a', b, 'x', 0, 1))).toBe('EINVAL');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'a', a, 'x', 0, 1))).toBe('EINVAL');
  });

  it('moving a directory updates both parents link counts and its parent', () => {
    const { ns, mkdir, rename } = fixture();
    const a = mkdir(ROOT_INO, 'a');
    const b = mkdir(ROOT_INO, 'b');
    const c = mkdir(a, 'c');
    rename(a, 'c', b, 'c');
    expect(ns.get(a).nlink).toBe(2);
    expect(ns.get(b).nlink).toBe(3);
    expect(ns.get(c).parent).toBe(b);
    expect(ns.lookup(ROOT, c, '..').ino).toBe(b);
  });

  it('renaming one hard link onto another of the same inode does nothing', () => {
    const { ns, create, apply } = fixture();
    const f = create(ROOT_INO, 'f');
    apply(ns.planLink(ROOT, f, ROOT_INO, 'g', 1));
    expect(ns.planRename(ROOT, ROOT_INO, 'f', ROOT_INO, 'g', 0, 1)).toBeNull();
    expect(ns.get(f).nlink).toBe(2);
  });

  it('RENAME_NOREPLACE refuses an existing target; RENAME_EXCHANGE swaps two entries', () => {
    const { ns, create, mkdir, rename } = fixture();
    const f = create(ROOT_INO, 'f');
    const d = mkdir(ROOT_INO, 'd');
    const g = create(d, 'g');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'f', ROOT_INO, 'd', RENAME_NOREPLACE, 1))).toBe('EEXIST');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'f', ROOT_INO, 'nope', RENAME_EXCHANGE, 1))).toBe('ENOENT');
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'f', ROOT_INO, 'x', 3, 1))).toBe('EINVAL');
    rename(ROOT_INO, 'f', d, 'g', RENAME_EXCHANGE);
    expect(ns.lookup(ROOT, ROOT_INO, 'f').ino).toBe(g);
    expect(ns.lookup(ROOT, d, 'g').ino).toBe(f);
  });

  it('a missing source is ENOENT', () => {
    const { ns } = fixture();
    expect(errno(() => ns.planRename(ROOT, ROOT_INO, 'nope', ROOT_INO, 'x', 0, 1))).toBe('ENOENT');
  });
});

describe('hard links', () => {
  it('counts links and frees the inode only when the last name goes', () => {
    const { ns, create, mkdir, apply } = fixture();
    const f = create(ROOT_INO, 'f');
    const d = mkdir(ROOT_INO, 'd');
    apply(ns.planLink(ROOT, f, d, 'f2', 1));
    expect(ns.get(f).nlink).toBe(2);
    const rec = ns.planUnlink(ROOT, ROOT_INO, 'f', 1);
    expect(ns.apply(rec)).toEqual([]);
    expect(ns.get(f).nlink).toBe(1);
    expect(ns.apply(ns.planUnlink(ROOT, d, 'f2', 1))).toEqual([f]);
    expect(ns.inodes.has(f)).toBe(false);
  });

  it('refuses hard links to directories (EPERM) and onto existing names (EEXIST)', () => {
    const { ns, create, mkdir } = fixture();
    const d = mkdir(ROOT_INO, 'd');
    const f = create(ROOT_INO, 'f');
    expect(errno(() => ns.planLink(ROOT, d, ROOT_INO, 'd2', 1))).toBe('EPERM');
    expect(errno(() => ns.planLink(ROOT, f, ROOT_INO, 'd', 1))).toBe('EEXIST');
  });
});

describe('permissions', () => {
  it('needs write and search permission on the parent to create and remove', () => {
    const { ns, mkdir, create } = fixture();
    const d = mkdir(ROOT_INO, 'd', ALICE, 0o755);
    expect(errno(() => ns.planMknod(BOB, d, 'x', S_IFREG | 0o644, 0, '', true, 1))).toBe('EACCES');
    create(d, 'mine', ALICE);
    expect(errno(() => ns.planUnlink(BOB, d, 'mine', 1))).toBe('EACCES');
    const locked = mkdir(ROOT_INO, 'locked', ALICE, 0o700);
    create(locked, 'f', ALICE);
    expect(errno(() => ns.lookup(BOB, locked, 'f'))).toBe('EACCES');
    expect(errno(() => ns.resolvePath(BOB, '/locked/f', true))).toBe('EACCES');
    expect(errno(() => ns.readDir(BOB, locked, '', 10))).toBe('EACCES');
  });

  it('uses group bits for supplementary groups and lets root bypass the bits', () => {
    const { ns, mkdir, apply } = fixture();
    const d = mkdir(ROOT_INO, 'd', ALICE, 0o770);
    apply(ns.planSetAttr(ROOT, d, { gid: 2000 }, 1));
    expect(errno(() => ns.planMknod(BOB, d, 'x', S_IFREG | 0o644, 0, '', true, 1))).toBe('ok');
    expect(errno(() => ns.planMknod({ uid: 1002, gid: 1002, groups: [] }, d, 'x', S_IFREG, 0, '', true, 1))).toBe(
      'EACCES',
    );
    expect(errno(() => ns.planMknod(ROOT, d, 'x', S_IFREG, 0, '', true, 1))).toBe('ok');
  });

  it('in a sticky directory only the owner of an entry (or of the dir, or root) may remove or rename it', () => {
    const { ns, mkdir, create } = fixture();
    const tmp = mkdir(ROOT_INO, 'tmp', ROOT, 0o777 | S_ISVTX);
    create(tmp, 'alice', ALICE);
    expect(errno(() => ns.planUnlink(BOB, tmp, 'alice', 1))).toBe('EPERM');
    expect(errno(() => ns.planRename(BOB, tmp, 'alice', tmp, 'x', 0, 1))).toBe('EPERM');
    expect(errno(() => ns.planUnlink(ALICE, tmp, 'alice', 1))).toBe('ok');
    expect(errno(() => ns.planUnlink(ROOT, tmp, 'alice', 1))).toBe('ok');
  });

  it('only the owner may chmod or set explicit times, only root may chown', () => {
    const { ns, create } = fixture();
    const f = create(ROOT_INO, 'f', ALICE, 0o666);
    expect(errno(() => ns.planSetAttr(BOB, f, { mode: 0o777 }, 1))).toBe('EPERM');
    expect(errno(() => ns.planSetAttr(BOB, f, { mtimeMs: 5 }, 1))).toBe('EPERM');
    expect(errno(() => ns.planSetAttr(BOB, f, { mtimeMs: -1 }, 1))).toBe('ok'); // touch: write permission suffices
    expect(errno(() => ns.planSetAttr(ALICE, f, { uid: 1001 }, 1))).toBe('EPERM');
    expect(errno(() => ns.planSetAttr(ALICE, f, { gid: 2000 }, 1))).toBe('EPERM');
    expect(errno(() => ns.planSetAttr(ROOT, f, { uid: 1001 }, 1))).toBe('ok');
    expect(errno(() => ns.planSetAttr(ALICE, f, { mode: 0o600 }, 1))).toBe('ok');
  });

  it('truncate needs write permission unless the caller owns the file', () => {
    const { ns, create } = fixture();
    const f = create(ROOT_INO, 'f', ALICE, 0o444);
    expect(errno(() => ns.planSetAttr(BOB, f, { size: 0 }, 1))).toBe('EACCES');
    expect(errno(() => ns.planSetAttr(ALICE, f, { size: 0 }, 1))).toBe('ok');
  });

  it('files created in a setgid directory take its group; non-root cannot create devices', () => {
    const { ns, mkdir, apply, create } = fixture();
    const d = mkdir(ROOT_INO, 'd', ROOT, 0o777);
    apply(ns.planSetAttr(ROOT, d, { gid: 2000, mode: 0o777 | S_ISGID }, 1));
    const f = create(d, 'f', ALICE);
    expect(ns.get(f).gid).toBe(2000);
    expect(errno(() => ns.planMknod(ALICE, d, 'dev', 0o020000 | 0o644, 5, '', true, 1))).toBe('EPERM');
    expect(errno(() => ns.planMknod(ALICE, d, 'fifo', S_IFIFO | 0o644, 0, '', true, 1))).toBe('ok');
  });
});

describe('xattrs', () => {
  it('sets, replaces, lists and removes user attributes with create/replace flags', () => {
    const { ns, create, apply } = fixture();
    const f = create(ROOT_INO, 'f', ALICE);
    apply(ns.planSetXattr(ALICE, f, 'user.a', Buffer.from('1'), XATTR_CREATE, 1));
    expect(errno(() => ns.planSetXattr(ALICE, f, 'user.a', Buffer.from('2'), XATTR_CREATE, 1))).toBe('EEXIST');
    expect(errno(() => ns.planSetXattr(ALICE, f, 'user.b', Buffer.from('2'), XATTR_REPLACE, 1))).toBe('ENODATA');
    expect(ns.getXattr(ALICE, f, 'user.a').toString()).toBe('1');
    expect(ns.listXattr(ALICE, f)).toEqual(['user.a']);
    expect(errno(() => ns.planSetXattr(BOB, f, 'user.a', Buffer.from('x'), 0, 1))).toBe('EACCES');
    expect(errno(() => ns.planSetXattr(ALICE, f, 'trusted.a', Buffer.from('x'), 0, 1))).toBe('EPERM');
    expect(errno(() => ns.planSetXattr(ALICE, f, 'bogus', Buffer.from('x'), 0, 1))).toBe('EOPNOTSUPP');
    apply(ns.planRemoveXattr(ALICE, f, 'user.a', 1));
    expect(errno(() => ns.getXattr(ALICE, f, 'user.a'))).toBe('ENODATA');
  });
});

describe('change stamps of directories', () => {
  it('every change to a directory’s names gives it a new stamp; other changes and other directories keep theirs', () => {
    const { ns, mkdir, create, rename, apply } = fixture();
    const a = mkdir(ROOT_INO, 'a');
    const b = mkdir(ROOT_INO, 'b');
    const seen = new Set([ns.stampOf(ROOT_INO)]);
    const fresh = (dir: number) => {
      const s = ns.stampOf(dir);
      expect(seen.has(s)).toBe(false);
      seen.add(s);
    };
    const atB = ns.stampOf(b);
    const f = create(a, 'f');
    fresh(a);
    rename(a, 'f', a, 'g');
    fresh(a);
    rename(a, 'g', b, 'g');
    fresh(a);
    fresh(b);
    expect(ns.stampOf(b)).not.toBe(atB);
    const atA = ns.stampOf(a);
    apply(ns.planSetAttr(ROOT, f, { mode: 0o600 }, 4));
    apply(ns.planSetXattr(ROOT, f, 'user.k', Buffer.from('v'), 0, 4));
    create(b, 'h');
    expect(ns.stampOf(a)).toBe(atA);
    apply(ns.planUnlink(ROOT, b, 'h', 5));
    fresh(b);
    expect(ns.readDir(ROOT, b, '', 10).stamp).toBe(ns.stampOf(b));
    expect(ns.stampOf(f)).toBe(0); // not a directory
    expect(ns.stampOf(9_999)).toBe(0);
  });

  it('a restarted name node gives out stamps above every stamp of the run before it (stamps are not persisted)', async () => {
    const { ns, mkdir, create } = fixture();
    const d = mkdir(ROOT_INO, 'd');
    for (let i = 0; i < 100; i++) create(d, `f${i}`);
    const last = ns.stampOf(d);
    await new Promise((r) => setTimeout(r, 2));
    const restored = Namespace.restore(JSON.parse(JSON.stringify(ns.snapshot())) as ReturnType<Namespace['snapshot']>);
    expect(restored.readDir(ROOT, d, '', 1000).entries).toHaveLength(100);
    expect(restored.stampOf(d)).toBeGreaterThan(last);
    expect(restored.stampOf(ROOT_INO)).toBe(restored.stampOf(d)); // unchanged since the start: the first stamp
  });
});
