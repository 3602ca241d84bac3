import { isUnder } from './paths';
import type { LocalEntry } from './types';

/**
 * What the cluster holds, as far as this sync knows: for each rel path the
 * local entry that was last mirrored there (size, mtime, inode). It answers
 * "is this file already uploaded?" without asking the cluster, and "which
 * mirrored path had this inode?" so a rename is recognised as one.
 */
export class MirroredState {
  private readonly byPath = new Map<string, LocalEntry>();
  private readonly byIno = new Map<number, Set<string>>();

  get(rel: string): LocalEntry | undefined {
    return this.byPath.get(rel);
  }

  get size(): number {
    return this.byPath.size;
  }

  set(rel: string, entry: LocalEntry): void {
    this.delete(rel);
    this.byPath.set(rel, entry);
    let paths = this.byIno.get(entry.ino);
    if (!paths) this.byIno.set(entry.ino, (paths = new Set()));
    paths.add(rel);
  }

  delete(rel: string): void {
    const old = this.byPath.get(rel);
    if (!old) return;
    this.byPath.delete(rel);
    const paths = this.byIno.get(old.ino);
    paths?.delete(rel);
    if (paths?.size === 0) this.byIno.delete(old.ino);
  }

  /** Drops `dir` and everything below it. */
  deleteTree(dir: string): void {
    for (const rel of [...this.byPath.keys()]) if (isUnder(rel, dir)) this.delete(rel);
  }

  /** Moves `from` and everything below it to `to` (a directory rename). */
  moveTree(from: string, to: string): void {
    const moved: Array<[string, LocalEntry]> = [];
    for (const [rel, e] of this.byPath) if (isUnder(rel, from)) moved.push([to + rel.slice(from.length), e]);
    this.deleteTree(from);
    for (const [rel, e] of moved) this.set(rel, e);
  }

  clear(): void {
    this.byPath.clear();
    this.byIno.clear();
  }

  /** Mirrored paths (other than `rel`) whose entry had inode `ino`. */
  pathsWithIno(ino: number, except: string): string[] {
    return [...(this.byIno.get(ino) ?? [])].filter((p) => p !== except);
  }
}
