import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Caller, ROOT_INO, S_IFDIR, S_IFLNK, S_IFREG, isDir } from '../../src/namenode/inode';
import { MetaStore } from '../../src/namenode/metadata-store';
import type { MetaRecord } from '../../src/namenode/records';
import { DfsError } from '../../src/rpc/errors';

const log = pino({ level: 'silent' });
const ROOT: Caller = { uid: 0, gid: 0, groups: [] };
const CHUNK = 1024 * 1024;
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-checkpoint-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const open = (checkpointEvery: number) =>
  MetaStore.open({ dataDir: dir, chunkSize: CHUNK, checkpointEvery, rootOwner: { uid: 0, gid: 0 } }, log);

/** A deterministic pseudo-random generator, so a failing sequence can be reproduced from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Random namespace and chunk operations through the same plan + mutate path the name node uses. */
async function randomOps(store: MetaStore, n: number, seed: number): Promise<void> {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const ns = store.state.namespace;
  let t = 1_000;
  for (let i = 0; i < n; i++) {
    const inodes = [...ns.inodes.values()];
    const dirs = inodes.filter(isDir);
    const files = inodes.filter((x) => (x.mode & 0o170000) === S_IFREG);
    const dir = pick(dirs);
    const names = [...(dir.entries?.keys() ?? [])];
    const name = `n${Math.floor(r() * 12)}`;
    let rec: MetaRecord | null | { existing: unknown } = null;
    try {
      switch (Math.floor(r() * 10)) {
        case 0:
          rec = ns.planMknod(ROOT, dir.ino, name, S_IFDIR | 0o755, 0, '', true, t++);
          break;
        case 1:
          rec = ns.planMknod(ROOT, dir.ino, name, S_IFREG | 0o644, 0, '', true, t++);
          break;
        case 2:
          rec = ns.planMknod(ROOT, dir.ino, name, S_IFLNK, 0, 'target', true, t++);
          break;
        case 3:
          if (names.length) rec = ns.planUnlink(ROOT, dir.ino, pick(names), t++);
          break;
        case 4:
          if (names.length) rec = ns.planRmdir(ROOT, dir.ino, pick(names), t++);
          break;
        case 5:
          if (names.length)
            rec = ns.planRename(ROOT, dir.ino, pick(names), pick(dirs).ino, name, Math.floor(r() * 3), t++);
          break;
        case 6:
          if (files.length) rec = ns.planLink(ROOT, pick(files).ino, dir.ino, name, t++);
          break;
        case 7:
          if (files.length)
            rec = ns.planSetAttr(ROOT, pick(files).ino, { size: Math.floor(r() * 3 * CHUNK), mode: 0o600 }, t++);
          break;
        case 8:
          if (files.length) rec = ns.planSetXattr(ROOT, pick(files).ino, `user.${name}`, Buffer.from(name), 0, t++);
          break;
        case 9:
          if (files.length) {
            const f = pick(files);
            const index = Math.floor(r() * 4);
            const existing = store.state.chunks.at(f.ino, index);
            const chunkId = existing?.id ?? String(store.state.chunks.nextChunkId);
            const version = (existing?.version ?? 0) + 1;
            await store.mutate({ op: 'prepare', ino: f.ino, index, chunkId, version, replicas: ['dn1', 'dn2'] });
            const size = Math.floor(r() * CHUNK);
            rec = {
              op: 'commit',
              ino: f.ino,
              chunks: [{ index, chunkId, version, size, replicas: ['dn2', 'dn3'] }],
              minSize: index * CHUNK + size,
              mtimeMs: t,
              now: t++,
            };
          }
          break;
      }
    } catch (err) {
      if (!(err instanceof DfsError)) throw err;
      continue; // the rules refused it: nothing to apply, as on the live path
    }
    if (rec && 'op' in rec) await store.mutate(rec);
  }
}

const snapshotOf = (store: MetaStore) => JSON.stringify(store.state.snapshot());

describe('checkpoint + replay', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`rebuilds exactly the live state from checkpoint + journal after a crash (seed ${seed})`, async () => {
      // Checkpoints every 37 records: the crash lands between two, so both the checkpoint and the journal count.
      const store = await open(37);
      await randomOps(store, 400, seed);
      const live = snapshotOf(store);
      expect(store.state.namespace.inodes.size).toBeGreaterThan(5);
      // No close(): like kill -9, only what is already durable is on disk. (In one process the old
      // store's background checkpoint must finish first, or it would race with the reopened one.)
      await store.idle();
      const reopened = await open(37);
      expect(snapshotOf(reopened)).toBe(live);
      await reopened.close();
    });
  }

  it('restarts with the same state after a clean shutdown, from the checkpoint alone', async () => {
    const store = await open(1_000_000);
    await randomOps(store, 200, 9);
    const live = snapshotOf(store);
    await store.close();
    expect(fs.statSync(path.join(dir, 'journal', fs.readdirSync(path.join(dir, 'journal'))[0])).size).toBe(0);
    const reopened = await open(1_000_000);
    expect(snapshotOf(reopened)).toBe(live);
    await reopened.close();
  });

  it('keeps the chunk size the cluster was created with', async () => {
    const store = await open(100);
    await store.close();
    const other = await MetaStore.open(
      { dataDir: dir, chunkSize: 2 * CHUNK, checkpointEvery: 100, rootOwner: { uid: 0, gid: 0 } },
      log,
    );
    expect(other.state.chunkSize).toBe(CHUNK);
    expect(other.state.namespace.get(ROOT_INO)).toBeDefined();
    await other.close();
  });
});
