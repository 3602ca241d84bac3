import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renameSourceFor } from '../../src/sync/renames';
import { localEntryOf } from '../../src/sync/scanner';
import { MirroredState } from '../../src/sync/state';

/** How the watcher's unlink + add pair is recognised as one rename. */
describe('rename detection over the mirrored state', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-sync-renames-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const entry = (rel: string) => localEntryOf(fs.lstatSync(path.join(root, rel)))!;

  it('matches a moved file by inode, size and mtime once the old path is gone', async () => {
    const state = new MirroredState();
    fs.writeFileSync(path.join(root, 'a.txt'), 'x');
    state.set('a.txt', entry('a.txt'));
    fs.renameSync(path.join(root, 'a.txt'), path.join(root, 'b.txt'));
    expect(await renameSourceFor(root, state, 'b.txt', entry('b.txt'))).toBe('a.txt');
  });

  it('does not take a hard link (old path still there) or a modified file for a rename', async () => {
    const state = new MirroredState();
    fs.writeFileSync(path.join(root, 'c.txt'), 'x');
    state.set('c.txt', entry('c.txt'));
    fs.linkSync(path.join(root, 'c.txt'), path.join(root, 'link.txt'));
    expect(await renameSourceFor(root, state, 'link.txt', entry('link.txt'))).toBeNull();
    fs.renameSync(path.join(root, 'c.txt'), path.join(root, 'd.txt'));
    fs.appendFileSync(path.join(root, 'd.txt'), 'more');
    expect(await renameSourceFor(root, state, 'd.txt', entry('d.txt'))).toBeNull();
  });

  it('moves a whole directory subtree in the state when a directory is renamed', () => {
    const state = new MirroredState();
    state.set('dir', { kind: 'dir', size: 0, mtimeMs: 0, ino: 10, mode: 0o755 });
    state.set('dir/f', { kind: 'file', size: 1, mtimeMs: 1, ino: 11, mode: 0o644 });
    state.set('dirx', { kind: 'file', size: 1, mtimeMs: 1, ino: 12, mode: 0o644 });
    state.moveTree('dir', 'new/dir');
    expect(state.get('dir/f')).toBeUndefined();
    expect(state.get('new/dir/f')?.ino).toBe(11);
    expect(state.get('dirx')?.ino).toBe(12);
    expect(state.pathsWithIno(11, '')).toEqual(['new/dir/f']);
  });
});
