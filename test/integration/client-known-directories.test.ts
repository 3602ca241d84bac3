import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client';
import type { DfsClient } from '../../src/client/types';
import type { DfsError } from '../../src/rpc/errors';
import { startClientCluster } from '../helpers/client-cluster';
import type { TestCluster } from '../helpers/cluster';
import { nameNodeRequests } from '../helpers/rpc-requests';

/**
 * The lookup of a name about to be created (every create, mkdir and rename
 * target) is answered by the client from a listing it knows is complete,
 * with no name node call (src/client/known-dirs.ts), and what other clients
 * change is still seen: at once when this client's next change in the
 * directory reveals it, otherwise within the cache time (1 s). Counted on the
 * name node's own request metrics.
 */

const root = { uid: 0, gid: 0 };
const user = { uid: 1000, gid: 1000 };
const N = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function errnoOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (e as DfsError).errno,
  );
}

describe('client: names it knows are missing', () => {
  let cluster: TestCluster;
  let a: DfsClient;
  let b: DfsClient;

  const lookups = async <T>(fn: () => Promise<T>): Promise<number> => {
    const before = await nameNodeRequests(cluster);
    await fn();
    const after = await nameNodeRequests(cluster);
    return (after.get('Lookup') ?? 0) - (before.get('Lookup') ?? 0);
  };

  beforeAll(async () => {
    ({ cluster, client: a } = await startClientCluster({ dataNodes: 1, replication: 1 }, { attrCacheMs: 1_000 }));
    b = createClient({ namenode: cluster.address, attrCacheMs: 1_000 });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  it('creates, renames and removes in a directory it made without a Lookup of the new names', async () => {
    await a.mkdir('/made', 0o755, root);
    const calls = await lookups(async () => {
      for (let i = 0; i < N; i++) {
        expect(await errnoOf(a.stat(`/made/f${i}`, root))).toBe('ENOENT');
        await a.create(`/made/f${i}`, 0o644, root);
        expect(await errnoOf(a.stat(`/made/g${i}`, root))).toBe('ENOENT');
        await a.rename(`/made/f${i}`, `/made/g${i}`, root);
        expect(await errnoOf(a.stat(`/made/f${i}`, root))).toBe('ENOENT');
      }
      expect(await errnoOf(a.mkdir('/made/g0', 0o755, root))).toBe('EEXIST');
      expect(await errnoOf(a.stat('/made/sub', root))).toBe('ENOENT');
      await a.mkdir('/made/sub', 0o755, root);
      expect(await errnoOf(a.stat('/made/sub/x', root))).toBe('ENOENT');
      await a.unlink('/made/g1', root);
      expect(await errnoOf(a.stat('/made/g1', root))).toBe('ENOENT');
    });
    // The EEXIST dropped what the client knew of /made (the lookups of /made/sub and /made/g1 ask),
    // and a pause of over 100 ms on a busy machine lets a lease lapse: far fewer than the 92 without.
    expect(calls).toBeLessThan(N / 3);
    const names = (await a.readdir('/made', root)).map((e) => e.name);
    expect(names).toHaveLength(N); // g0..g29 and sub, without g1
    expect(names).toContain('sub');
  });

  it('after a whole listing and a change of its own, answers names missing from it without a call', async () => {
    await b.mkdir('/listed', 0o755, root);
    for (let i = 0; i < 5; i++) await b.create(`/listed/x${i}`, 0o644, root);
    await sleep(150); // b's lease has ended
    expect(await a.readdir('/listed', root)).toHaveLength(5);
    await a.create('/listed/mine', 0o644, root);
    const calls = await lookups(async () => {
      for (let i = 0; i < N; i++) expect(await errnoOf(a.stat(`/listed/missing${i}`, root))).toBe('ENOENT');
    });
    expect(calls).toBeLessThan(N / 3); // 0 unless a pause of over 100 ms lets the lease lapse
  });

  it('never reports missing a name that another client has made', async () => {
    await a.mkdir('/shared', 0o755, root);
    for (let i = 0; i < 10; i++) {
      await a.create(`/shared/a${i}`, 0o644, root);
      await b.create(`/shared/b${i}`, 0o644, root); // waits out a's lease on /shared (at most 100 ms)
      expect((await a.stat(`/shared/b${i}`, root)).size).toBe(0);
      await b.rename(`/shared/b${i}`, `/shared/c${i}`, root);
      expect((await a.stat(`/shared/c${i}`, root)).size).toBe(0);
    }
    await a.mkdir('/made-by-a', 0o755, root);
    await b.mkdir('/made-by-a/sub', 0o755, root);
    expect(await errnoOf(a.stat('/made-by-a/sub', root))).toBe('ok');
  });

  it('an exclusive create of a name another client made fails with EEXIST, and then the name is found', async () => {
    await a.mkdir('/taken', 0o755, root);
    await b.create('/taken/other', 0o644, root);
    expect(await errnoOf(a.create('/taken/other', 0o644, root, { exclusive: true }))).toBe('EEXIST');
    expect((await a.stat('/taken/other', root)).size).toBe(0);
  });

  it('still refuses a missing name with EACCES to a caller without search permission', async () => {
    await a.mkdir('/private', 0o700, root);
    expect(await errnoOf(a.stat('/private/none', user))).toBe('EACCES');
    expect(await errnoOf(a.stat('/private/none', root))).toBe('ENOENT');
  });
});
