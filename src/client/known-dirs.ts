import { LRUCache } from 'lru-cache';

/** How a mutation changed one directory's entries (common.proto DirChange); before = 0: a new directory. */
export interface DirChange {
  dir: number;
  before: number;
  after: number;
  /** This client's lease on the directory's names, from when it sent the call; 0: none. */
  leaseMs: number;
}

/** This client's own change to a directory's names, applied once the name node has confirmed it. */
export interface NameEdit {
  dir: number;
  add?: string;
  remove?: string;
}

interface Known {
  /** The name node's change stamp of the directory that `names` is complete at. */
  stamp: number;
  names: Set<string>;
  /** Until when (this client's clock) nobody else adds a name: the lease (src/namenode/dir-leases.ts). */
  until: number;
}

/**
 * Directories of which this client knows every name: those it made (empty at
 * their first stamp), and those it listed whole. Its own creates, renames and
 * removals keep a listing complete when the name node's reply shows that
 * nobody else changed the directory in between (the stamp before the change
 * is the one the listing is at); any other stamp, an error or an unanswered
 * call drops the listing.
 *
 * A name missing from a known listing is answered as missing without asking
 * the name node while the client holds a lease on the directory: the lookup
 * of the name a create, mkdir or rename is about to make. The lease comes
 * with the reply to the client's own change and lasts from when it sent the
 * call; no one else adds a name while it runs, so a name another client has
 * made is never reported missing.
 */
export class KnownDirs {
  private readonly dirs?: LRUCache<number, Known>;

  constructor(enabled: boolean, maxNames = 200_000) {
    if (!enabled) return;
    this.dirs = new LRUCache({ maxSize: maxNames, sizeCalculation: (k) => Math.max(1, k.names.size) });
  }

  /** True when `name` is known not to be in directory `dir` (listing complete, lease running). */
  absent(dir: number, name: string, now = Date.now()): boolean {
    const known = this.dirs?.get(dir);
    if (!known) return false;
    if (now >= known.until) return false;
    return !known.names.has(name);
  }

  /** The name node found `name` in `dir`: a listing without it is out of date. */
  found(dir: number, name: string): void {
    const known = this.dirs?.get(dir);
    if (known && !known.names.has(name)) this.dirs!.delete(dir);
  }

  /** Every name of `dir` at `stamp` (a whole listing): no lease yet, but the next own change may bring one. */
  learnListing(dir: number, stamp: number, names: Iterable<string>, until = 0): void {
    if (!this.dirs || stamp === 0) return;
    const known = { stamp, names: new Set(names), until };
    // Over the size limit: not kept (lru-cache refuses it).
    this.dirs.set(dir, known);
  }

  /**
   * The name node applied this client's change (sent at `at`) and reports
   * `changes`: keep each listing at `before` complete by applying `edits`,
   * drop any other; a new directory starts empty.
   */
  applied(changes: readonly DirChange[], edits: readonly NameEdit[], at: number): void {
    if (!this.dirs) return;
    for (const c of changes) {
      if (c.before === 0) {
        this.learnListing(c.dir, c.after, [], at + c.leaseMs);
        continue;
      }
      const known = this.dirs.get(c.dir);
      if (!known) continue;
      if (known.stamp !== c.before) {
        this.dirs.delete(c.dir);
        continue;
      }
      for (const e of edits) {
        if (e.dir !== c.dir) continue;
        if (e.remove !== undefined) known.names.delete(e.remove);
        if (e.add !== undefined) known.names.add(e.add);
      }
      known.stamp = c.after;
      known.until = at + c.leaseMs;
      // Re-set so the size limit sees the new count.
      this.dirs.set(c.dir, known);
    }
    // A directory the edits name but the reply does not (an older name node): its listing is unknown now.
    for (const e of edits) if (!changes.some((c) => c.dir === e.dir)) this.dirs.delete(e.dir);
  }

  /** Nothing is known of `dir` any more (an error, or a call whose outcome is unknown). */
  forget(...dirs: number[]): void {
    for (const d of dirs) this.dirs?.delete(d);
  }

  clear(): void {
    this.dirs?.clear();
  }
}
