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
   * them all). Every cached path is reachable from the root through it, even
   * when a directory's own entry has gone while entries beneath it are still
   * cached: a path leaves the index only when nothing beneath it is left.
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
    this.link(path);
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
    this.children.delete(path);
    for (const child of below ?? []) this.forgetSubtree(child);
    this.unindex(path);
  }

  clear(): void {
    this.entries?.clear();
    this.attrs?.clear();
    this.children.clear();
  }

  /** Links `path` and its ancestors into the index, up to the first one already linked. */
  private link(path: string): void {
    let child = path;
    while (child !== '/') {
      const { parent } = parentAndName(child);
      let set = this.children.get(parent);
      if (!set) this.children.set(parent, (set = new Set()));
      if (set.has(child)) return;
      set.add(child);
      child = parent;
    }
  }

  /**
   * `path` left the cache: unlink it unless paths beneath it are still
   * indexed, then each ancestor that is neither cached nor above anything.
   */
  private unindex(path: string): void {
    let p = path;
    while (p !== '/' && !this.children.get(p)?.size && (p === path || !this.entries?.has(p))) {
      this.children.delete(p);
      const { parent } = parentAndName(p);
      const set = this.children.get(parent);
      if (!set) return;
      set.delete(p);
      if (parent === '/' && set.size === 0) this.children.delete(parent);
      p = parent;
    }
  }
}
