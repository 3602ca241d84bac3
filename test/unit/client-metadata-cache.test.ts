import { describe, expect, it } from 'vitest';
import { MetadataCache } from '../../src/client/metadata-cache';
import type { FileAttr } from '../../src/client/types';
import { mayAccess, R_OK, W_OK, X_OK } from '../../src/client/permissions';

function attr(ino: number, mode = 0o100644, uid = 1000, gid = 1000): FileAttr {
  return {
    ino,
    mode,
    uid,
    gid,
    size: 0,
    nlink: 1,
    atimeMs: 0,
    mtimeMs: 0,
    ctimeMs: 0,
    rdev: 0,
    generation: 0,
    storageClass: '',
    replication: 2,
  };
}

describe('client metadata cache', () => {
  it('forgets a renamed directory and every path beneath it, and nothing else', () => {
    const c = new MetadataCache(60_000);
    c.putEntry('/a', attr(2, 0o40755));
    c.putEntry('/a/b', attr(3, 0o40755));
    c.putEntry('/a/b/f', attr(4));
    c.putEntry('/ab', attr(5));
    c.forgetSubtree('/a');
    expect(c.entry('/a')).toBeUndefined();
    expect(c.entry('/a/b')).toBeUndefined();
    expect(c.entry('/a/b/f')).toBeUndefined();
    expect(c.entry('/ab')?.ino).toBe(5);
    expect(c.entryAttr('/ab')?.ino).toBe(5);
  });

  it('forgets paths beneath a directory whose own entry has expired', async () => {
    const c = new MetadataCache(30);
    c.putEntry('/d', attr(2, 0o40755));
    await new Promise((r) => setTimeout(r, 45));
    c.putEntry('/d/e', attr(3, 0o40755));
    c.putEntry('/d/e/f', attr(4));
    c.putEntry('/d2', attr(5));
    expect(c.entry('/d')).toBeUndefined();
    c.forgetSubtree('/d');
    expect(c.entry('/d/e')).toBeUndefined();
    expect(c.entry('/d/e/f')).toBeUndefined();
    expect(c.entry('/d2')?.ino).toBe(5);
  });

  it('forgets a path two levels beneath a renamed directory whose middle entry has gone', async () => {
    const c = new MetadataCache(60_000);
    c.putEntry('/a', attr(2, 0o40755));
    c.putEntry('/a/b', attr(3, 0o40755));
    c.putEntry('/a/b/c', attr(4, 0o40755));
    c.forgetPath('/a/b'); // its entry goes (expiry, eviction, an unlink elsewhere): /a/b/c stays
    expect(c.entry('/a/b/c')?.ino).toBe(4);
    c.forgetSubtree('/a');
    expect(c.entry('/a/b/c')).toBeUndefined();
  });

  it('keeps no index for paths that have left the cache', () => {
    const c = new MetadataCache(60_000);
    for (let i = 0; i < 100; i++) {
      c.putEntry(`/t/d${i}/f`, attr(10 + i));
      c.forgetSubtree(`/t/d${i}/f`);
    }
    expect((c as unknown as { children: Map<string, Set<string>> }).children.size).toBe(0);
  });

  it('forgets one renamed file among thousands of cached names and keeps the rest', () => {
    const c = new MetadataCache(60_000);
    c.putEntry('/big', attr(2, 0o40755));
    for (let i = 0; i < 5_000; i++) c.putEntry(`/big/f${i}`, attr(10 + i));
    c.forgetSubtree('/big/f7');
    expect(c.entry('/big/f7')).toBeUndefined();
    expect(c.entry('/big/f8')?.ino).toBe(18);
    expect(c.entry('/big')?.ino).toBe(2);
    c.putEntry('/big/f7', attr(99)); // cached again under the same name: indexed again
    c.forgetSubtree('/big');
    expect(c.entry('/big/f7')).toBeUndefined();
    expect(c.entry('/big/f4999')).toBeUndefined();
  });

  it('expires entries after the attribute TTL', async () => {
    const c = new MetadataCache(20);
    c.putEntry('/x', attr(7));
    expect(c.entryAttr('/x')?.ino).toBe(7);
    await new Promise((r) => setTimeout(r, 40));
    expect(c.entry('/x')).toBeUndefined();
  });

  it('caches nothing with a zero TTL', () => {
    const c = new MetadataCache(0);
    c.putEntry('/x', attr(7));
    expect(c.entry('/x')).toBeUndefined();
  });
});

describe('client access checks', () => {
  it('applies owner, group and other bits and lets root bypass read/write', () => {
    const f = attr(9, 0o100640, 1000, 100);
    expect(mayAccess(f, R_OK | W_OK, { uid: 1000, gid: 1000 })).toBe(true);
    expect(mayAccess(f, W_OK, { uid: 2000, gid: 100 })).toBe(false);
    expect(mayAccess(f, R_OK, { uid: 2000, gid: 5, groups: [100] })).toBe(true);
    expect(mayAccess(f, R_OK, { uid: 3000, gid: 3000 })).toBe(false);
    expect(mayAccess(f, R_OK | W_OK, { uid: 0, gid: 0 })).toBe(true);
    expect(mayAccess(f, X_OK, { uid: 0, gid: 0 })).toBe(false);
  });
});
