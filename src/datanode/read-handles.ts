import fs from 'node:fs/promises';
import { LRUCache } from 'lru-cache';

interface Slot {
  fh: Promise<fs.FileHandle>;
  /** Reads using the handle now: an evicted handle is closed when the last one ends. */
  users: number;
  evicted: boolean;
}

export interface ReadHandle {
  fh: fs.FileHandle;
  release(): void;
}

/**
 * Read-only handles of recently read chunk files, kept open between reads.
 * Opening and closing a file are two thread-pool round trips; for a small read
 * they cost more than the read itself (each wakes a pool thread and then the
 * event loop, 0.1-1 ms apiece on a loaded VM). A handle that is evicted or
 * dropped (the chunk was deleted) while a read uses it is closed when that
 * read releases it.
 */
export class ReadHandles {
  private readonly cache: LRUCache<string, Slot>;

  constructor(max = 256) {
    this.cache = new LRUCache<string, Slot>({
      max,
      dispose: (slot) => {
        slot.evicted = true;
        if (slot.users === 0) closeSlot(slot);
      },
    });
  }

  async acquire(id: string, file: string): Promise<ReadHandle> {
    let slot = this.cache.get(id);
    if (!slot) {
      const opening: Slot = { fh: fs.open(file, 'r'), users: 0, evicted: false };
      // A failed open is not cached: the next read tries again.
      opening.fh.catch(() => {
        if (this.cache.peek(id) === opening) this.cache.delete(id);
      });
      this.cache.set(id, opening);
      slot = opening;
    }
    const held = slot;
    held.users++;
    let fh: fs.FileHandle;
    try {
      fh = await held.fh;
    } catch (err) {
      this.release(held);
      throw err;
    }
    let released = false;
    return {
      fh,
      release: () => {
        if (released) return;
        released = true;
        this.release(held);
      },
    };
  }

  /** Forgets a chunk's handle (its file is gone or replaced); reads still using it finish first. */
  drop(id: string): void {
    this.cache.delete(id);
  }

  /** Number of handles kept open (tests, metrics). */
  get size(): number {
    return this.cache.size;
  }

  closeAll(): void {
    this.cache.clear();
  }

  private release(slot: Slot): void {
    slot.users--;
    if (slot.evicted && slot.users === 0) closeSlot(slot);
  }
}

function closeSlot(slot: Slot): void {
  slot.fh.then((fh) => fh.close()).catch(() => undefined);
}
