import { describe, expect, it } from 'vitest';
import { planSync } from '../../src/sync/planner';
import type { LocalTree, RemoteTree } from '../../src/sync/scanner';
import type { LocalEntry, RemoteEntry } from '../../src/sync/types';

const file = (size: number, mtimeMs: number, ino = 1): LocalEntry => ({
  kind: 'file',
  size,
  mtimeMs,
  ino,
  mode: 0o644,
});
const dir = (ino = 2): LocalEntry => ({ kind: 'dir', size: 0, mtimeMs: 0, ino, mode: 0o755 });
const rfile = (size: number, mtimeMs: number): RemoteEntry => ({ kind: 'file', size, mtimeMs });
const rdir = (): RemoteEntry => ({ kind: 'dir', size: 0, mtimeMs: 0 });

describe('the sync planner (local tree vs remote tree)', () => {
  it('creates missing directories parents first and uploads new files', () => {
    const local: LocalTree = new Map([
      ['a/b', dir()],
      ['a', dir()],
      ['a/b/f', file(3, 1000)],
    ]);
    const plan = planSync(local, new Map(), { delete: false });
    expect(plan.mkdirs).toEqual(['a', 'a/b']);
    expect(plan.uploads).toEqual([{ rel: 'a/b/f', reason: 'new', size: 3 }]);
  });

  it('treats a file with the same size and mtime (to the millisecond) as unchanged', () => {
    const local: LocalTree = new Map([
      ['same', file(10, 1234.9)],
      ['bigger', file(11, 1234)],
      ['touched', file(10, 2000)],
    ]);
    const remote: RemoteTree = new Map([
      ['same', rfile(10, 1234)],
      ['bigger', rfile(10, 1234)],
      ['touched', rfile(10, 1234)],
    ]);
    const plan = planSync(local, remote, { delete: false });
    expect(plan.unchanged).toEqual(['same']);
    expect(plan.uploads.map((u) => [u.rel, u.reason])).toEqual([
      ['bigger', 'changed'],
      ['touched', 'changed'],
    ]);
  });

  it('leaves remote-only entries alone unless deletions are mirrored, and removes only the outermost', () => {
    const local: LocalTree = new Map([['keep', file(1, 1)]]);
    const remote: RemoteTree = new Map([
      ['keep', rfile(1, 1)],
      ['gone', rdir()],
      ['gone/x', rfile(1, 1)],
      ['gone/y', rdir()],
      ['old.txt', rfile(5, 5)],
    ]);
    expect(planSync(local, remote, { delete: false }).deletes).toEqual([]);
    expect(planSync(local, remote, { delete: true }).deletes).toEqual([
      { rel: 'gone', kind: 'dir' },
      { rel: 'old.txt', kind: 'file' },
    ]);
  });

  it('reports a type clash as a conflict, or replaces the remote entry with --delete', () => {
    const local: LocalTree = new Map([
      ['x', file(1, 1)],
      ['y', dir()],
    ]);
    const remote: RemoteTree = new Map([
      ['x', rdir()],
      ['x/inner', rfile(1, 1)],
      ['y', rfile(1, 1)],
    ]);
    const keep = planSync(local, remote, { delete: false });
    expect(keep.conflicts.map((c) => c.rel)).toEqual(['x', 'y']);
    expect(keep.uploads).toEqual([]);
    const replace = planSync(local, remote, { delete: true });
    expect(replace.deletes).toEqual([
      { rel: 'x', kind: 'dir' },
      { rel: 'y', kind: 'file' },
    ]);
    expect(replace.uploads.map((u) => u.rel)).toEqual(['x']);
    expect(replace.mkdirs).toEqual(['y']);
  });

  it('collects leftover upload temp files and never deletes them as content', () => {
    const remote: RemoteTree = new Map([
      ['.f.dfs-sync-123-abcd', rfile(9, 9)],
      ['d', rdir()],
      ['d/.g.dfs-sync-9-ffff', rfile(9, 9)],
    ]);
    const local: LocalTree = new Map([['d', dir()]]);
    const plan = planSync(local, remote, { delete: true });
    expect(plan.staleTemps).toEqual(['.f.dfs-sync-123-abcd', 'd/.g.dfs-sync-9-ffff']);
    expect(plan.deletes).toEqual([]);
  });
});
