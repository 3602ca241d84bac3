import { constants as fsConstants } from 'node:fs';
import type { Caller, DfsClient, FileAttr } from '../client/types';
import { hasErrno } from './errors';
import { ancestorsOf, isUnder, joinRel, remotePathOf } from './paths';

/**
 * The cluster side of the mirror, addressed by rel paths: directory creation
 * (remembering what exists, so a burst of uploads into one folder does not
 * stat it every time), recursive removal, and rename. ENOENT on a removal and
 * EEXIST on a mkdir mean the cluster is already as wanted: both succeed.
 */
export class RemoteSide {
  private readonly knownDirs = new Set<string>();

  constructor(
    readonly client: DfsClient,
    readonly caller: Caller,
    readonly root: string,
  ) {}

  pathOf(rel: string): string {
    return remotePathOf(this.root, rel);
  }

  /** Forget which directories exist (after a catch-up, or a rename/removal of a directory). */
  forgetDirs(): void {
    this.knownDirs.clear();
  }

  noteDir(rel: string): void {
    this.knownDirs.add(rel);
  }

  async statOrNull(rel: string): Promise<FileAttr | null> {
    try {
      return await this.client.stat(this.pathOf(rel), this.caller);
    } catch (err) {
      if (hasErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  /** Creates the remote root itself, with its missing parents. */
  async ensureRoot(): Promise<void> {
    const parts = this.root.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) await this.mkdirAbsolute('/' + parts.slice(0, i).join('/'), 0o755);
    this.knownDirs.add('');
  }

  /** `mkdir -p` of `rel` (true when this call created it). */
  async mkdirp(rel: string, mode = 0o755): Promise<boolean> {
    if (rel === '' || this.knownDirs.has(rel)) return false;
    for (const a of ancestorsOf(rel)) {
      if (!this.knownDirs.has(a)) await this.mkdirAbsolute(this.pathOf(a), 0o755);
      this.knownDirs.add(a);
    }
    const created = await this.mkdirAbsolute(this.pathOf(rel), mode);
    this.knownDirs.add(rel);
    return created;
  }

  private async mkdirAbsolute(p: string, mode: number): Promise<boolean> {
    try {
      // Owner rwx always: the sync must be able to write into what it created.
      await this.client.mkdir(p, (mode & 0o7777) | 0o700, this.caller);
      return true;
    } catch (err) {
      if (!hasErrno(err, 'EEXIST')) throw err;
      const attr = await this.client.stat(p, this.caller);
      if ((attr.mode & fsConstants.S_IFMT) !== fsConstants.S_IFDIR) throw err;
      return false;
    }
  }

  async unlinkQuiet(rel: string): Promise<void> {
    await this.client.unlink(this.pathOf(rel), this.caller).catch((err: unknown) => {
      if (!hasErrno(err, 'ENOENT')) throw err;
    });
  }

  /** Removes `rel` whatever it is, with everything below it (`rm -rf`). */
  async removeTree(rel: string): Promise<void> {
    const attr = await this.statOrNull(rel);
    if (!attr) return;
    if ((attr.mode & fsConstants.S_IFMT) !== fsConstants.S_IFDIR) return this.unlinkQuiet(rel);
    const entries = await this.client.readdir(this.pathOf(rel), this.caller).catch((err: unknown) => {
      if (hasErrno(err, 'ENOENT')) return [];
      throw err;
    });
    for (const e of entries) await this.removeTree(joinRel(rel, e.name));
    await this.client.rmdir(this.pathOf(rel), this.caller).catch((err: unknown) => {
      if (!hasErrno(err, 'ENOENT')) throw err;
    });
    for (const d of [...this.knownDirs]) if (isUnder(d, rel)) this.knownDirs.delete(d);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.client.rename(this.pathOf(from), this.pathOf(to), this.caller);
    for (const d of [...this.knownDirs]) if (isUnder(d, from)) this.knownDirs.delete(d);
  }
}
