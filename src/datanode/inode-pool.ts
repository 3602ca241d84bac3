import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/logger';

/**
 * Emptied files of deleted chunks, kept to become new chunk files (Lustre's
 * object servers precreate theirs for the same reason: making an inode is
 * the costly part of a new small object).
 *
 * On ext4 without a journal, as on this machine, allocating an inode skips
 * every inode of its group freed in the last 30 s and reads each one's
 * on-disk record to find out (`recently_deleted` in `find_inode_bit`). After
 * a few thousand deletions a create costs 0.4-0.7 ms of kernel CPU instead
 * of 30-40 us, and a data node makes one per small chunk replica. A deleted
 * chunk's inode that is truncated and renamed here is never freed, and
 * renaming it into place again is as cheap as a create on a quiet file system.
 *
 * The pool directory holds empty files only: a file is truncated before it
 * is moved in. Anything there at start-up is reused (opened with O_TRUNC).
 *
 * With `spare` > 0 the pool also makes new empty files, one at a time, when a
 * take leaves fewer than half that many (Lustre's precreation): a run of
 * creates with no deletions before it then finds its inodes made in the
 * pauses between requests rather than on its own path.
 */
export class InodePool {
  private readonly names: string[] = [];
  private next = 0;
  /** Files being moved in, counted against `max` before they arrive. */
  private incoming = 0;
  private refilling = false;
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly max: number,
    readonly spare: number,
    private readonly log: Logger,
  ) {}

  static async open(dir: string, max: number, log: Logger, spare = 0): Promise<InodePool> {
    const pool = new InodePool(dir, max, Math.min(spare, max), log);
    await fs.mkdir(dir, { recursive: true });
    for (const name of await fs.readdir(dir)) {
      if (!/^[0-9]+$/.test(name)) continue;
      pool.next = Math.max(pool.next, Number(name) + 1);
      if (pool.names.length < max) pool.names.push(name);
      else await fs.rm(path.join(dir, name), { force: true });
    }
    return pool;
  }

  get size(): number {
    return this.names.length;
  }

  /**
   * A pooled file for the caller to open (with O_TRUNC) and rename to where
   * the new file belongs, or undefined when the pool is empty. The file is
   * the caller's from now on: if it vanished, opening it with O_CREAT makes a
   * new one in its place, so the caller needs no second path.
   */
  take(): string | undefined {
    const name = this.names.pop();
    if (this.names.length < this.spare / 2) this.refill();
    return name === undefined ? undefined : path.join(this.dir, name);
  }

  /** Stops making spare files (the store is closing). */
  close(): void {
    this.closed = true;
  }

  private refill(): void {
    if (this.refilling || this.closed) return;
    this.refilling = true;
    void (async () => {
      try {
        while (!this.closed && this.names.length + this.incoming < this.spare) {
          const name = String(this.next++);
          await (await fs.open(path.join(this.dir, name), 'wx', 0o644)).close();
          this.names.push(name);
        }
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'stopped making spare chunk files');
      } finally {
        this.refilling = false;
      }
    })();
  }

  /**
   * Removes `file` from where it is: emptied and kept for reuse while the pool
   * has room, unlinked otherwise. A file that does not exist is no error.
   */
  async give(file: string): Promise<void> {
    if (this.names.length + this.incoming >= this.max) {
      await fs.rm(file, { force: true });
      return;
    }
    this.incoming++;
    try {
      const name = String(this.next++);
      await fs.truncate(file, 0);
      await fs.rename(file, path.join(this.dir, name));
      this.names.push(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      this.log.debug({ file, err: (err as Error).message }, 'could not keep a file for reuse; unlinking it');
      await fs.rm(file, { force: true });
    } finally {
      this.incoming--;
    }
  }
}
