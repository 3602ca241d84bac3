import { constants } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DfsClient } from '../../src/client/types';
import type { DfsError } from '../../src/rpc/errors';
import { startClientCluster } from '../helpers/client-cluster';
import type { TestCluster } from '../helpers/cluster';
import { nameNodeRequests } from '../helpers/rpc-requests';

/**
 * A scan of a directory (stat of every entry, as `ls -l`, `rm -r`, `cp -r`
 * and builds do once the caches have expired) costs one listing, not one
 * Lookup per name (src/client/metadata.ts lookup). Counted on the name node's
 * own request metrics.
 */

const root = { uid: 0, gid: 0 };
const user = { uid: 1000, gid: 1000 };
const FILES = 60;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('client: scanning a directory', () => {
  let cluster: TestCluster;
  let client: DfsClient;

  beforeAll(async () => {
    ({ cluster, client } = await startClientCluster({ dataNodes: 1, replication: 1 }, { attrCacheMs: 1_000 }));
    await client.mkdir('/scan', 0o755, root);
    await client.mkdir('/secret', 0o700, root);
    for (let i = 0; i < FILES; i++) {
      await client.create(`/scan/f${i}`, 0o644, root);
      await client.create(`/secret/f${i}`, 0o644, root);
    }
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('answers most lookups of a scan from one listing of the directory', async () => {
    await sleep(1_100); // every cached entry has expired
    const before = await nameNodeRequests(cluster);
    for (let i = 0; i < FILES; i++) expect((await client.stat(`/scan/f${i}`, root)).size).toBe(0);
    const after = await nameNodeRequests(cluster);
    const lookups = (after.get('Lookup') ?? 0) - (before.get('Lookup') ?? 0);
    const listings = (after.get('ReadDir') ?? 0) - (before.get('ReadDir') ?? 0);
    expect(listings).toBeGreaterThanOrEqual(1);
    // The parent once, the misses that reveal the scan, then nothing: far fewer than one per file.
    expect(lookups).toBeLessThan(FILES / 3);
  });

  it('still refuses a name to a caller without search permission after root listed the directory', async () => {
    await sleep(1_100);
    for (let i = 0; i < 20; i++) await client.stat(`/secret/f${i}`, root); // lists /secret
    const err = (await client.stat('/secret/f30', user).catch((e: unknown) => e)) as DfsError;
    expect(err.errno).toBe('EACCES');
  });

  it('does not list a directory for the opens of a copy out, which a listing cannot answer', async () => {
    await sleep(1_100);
    const before = await nameNodeRequests(cluster);
    for (let i = 0; i < FILES; i++) {
      const h = await client.open(`/scan/f${i}`, { flags: constants.O_RDONLY }, root);
      await h.close();
    }
    const after = await nameNodeRequests(cluster);
    // Every open looks its name up afresh (close-to-open) whatever was listed.
    expect((after.get('LookupFile') ?? 0) - (before.get('LookupFile') ?? 0)).toBe(FILES);
    expect((after.get('ReadDir') ?? 0) - (before.get('ReadDir') ?? 0)).toBe(0);
  });

  it('does not list a directory for names that do not exist', async () => {
    await sleep(1_100);
    const before = await nameNodeRequests(cluster);
    for (let i = 0; i < 30; i++) await client.stat(`/scan/missing${i}`, root).catch(() => undefined);
    const after = await nameNodeRequests(cluster);
    expect((after.get('ReadDir') ?? 0) - (before.get('ReadDir') ?? 0)).toBe(0);
  });
});
