import { LRUCache } from 'lru-cache';
import { parentAndName } from './paths';
import type { FileAttr } from './types';

/** What path traversal needs of an entry: its inode and type (which never change for an inode). */
export interface InodeRef {
  ino: number;
  mode: number;
}

/**
 * Short-lived caches of path -> inode (entries) and inode -> attributes.
 * Entries expire after `ttlMs`; this client's own mutations drop what they
 * change at once (a rename or rmdir drops the whole subtree of cached paths),
 * other clients' changes are seen after the TTL (close-to-open revalidates).
 */
export class MetadataCache {
  private readonly entries?: LRUCache<string, InodeRef>;
  private readonly attrs?: LRUCache<number, FileAttr>;
  /**
   * Cached paths by parent path, so dropping a subtree touches only what is
   * beneath it (a rename in a directory of 5,000 cached names must not scan
   * them all). A child can outlive its parent's entry: the index is kept
   * until the child itself goes.
   */
  private readonly children = new Map<string, Set<string>>();

  constructor(ttlMs: number, max = 50_000) {
    if (ttlMs > 0) {
      this.entries = new LRUCache({
        max,
        ttl: ttlMs,
        dispose: (_ref, path) => this.unindex(path),
      });
      this.attrs = new LRUCache({ max, ttl: ttlMs });
    }
  }

  /** False when caching is off (a zero TTL): nothing put is kept. */
  get enabled(): boolean {
    return this.entries !== undefined;
  }

  /** The inode `path` names (even when its attributes have expired or been dropped). */
  entry(path: string): InodeRef | undefined {
    return this.entries?.get(path);
  }

  /** The attributes of the inode `path` names, when both are cached. */
  entryAttr(path: string): FileAttr | undefined {
    const ref = this.entries?.get(path);
    return ref === undefined ? undefined : this.attrs?.get(ref.ino);
  }

  attr(ino: number): FileAttr | undefined {
    return this.attrs?.get(ino);
  }

  /** Remembers that `path` names the inode `attr` describes. */
  putEntry(path: string, attr: FileAttr): void {
    if (!this.entries) return;
    this.entries.set(path, { ino: attr.ino, mode: attr.mode });
    this.attrs?.set(attr.ino, attr);
    if (path === '/') return;
    const { parent } = parentAndName(path);
    let set = this.children.get(parent);
    if (!set) this.children.set(parent, (set = new Set()));
    set.add(path);
  }

  putAttr(attr: FileAttr): void {
    this.attrs?.set(attr.ino, attr);
  }

  forgetAttr(ino: number): void {
    this.attrs?.delete(ino);
  }

  forgetPath(path: string): void {
    const ref = this.entries?.get(path);
    if (ref !== undefined) this.attrs?.delete(ref.ino);
    this.entries?.delete(path);
  }

  /** Drops `path` and every cached path beneath it. */
  forgetSubtree(path: string): void {
    if (!this.entries) return;
    this.forgetPath(path);
    const below = this.children.get(path);
    if (!below) return;
    this.children.delete(path);
    for (const child of below) this.forgetSubtree(child);
  }

  clear(): void {
    this.entries?.clear();
    this.attrs?.clear();
    this.children.clear();
  }

  private unindex(path: string): void {
    if (path === '/') return;
    const { parent } = parentAndName(path);
    const set = this.children.get(parent);
    if (!set) return;
    set.delete(path);
    if (set.size === 0) this.children.delete(parent);
  }
}
