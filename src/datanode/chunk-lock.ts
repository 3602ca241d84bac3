/**
 * Serialises mutations of one chunk (a write stream, truncate, delete) without
 * blocking reads: readers use the chunk's generation counter instead (see ChunkStore.read).
 */
export class ChunkLock {
  private tail: Promise<void> = Promise.resolve();
  private holders = 0;

  /** Resolves with a release function once every earlier holder has released. */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    this.holders++;
    await prev;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
      release();
    };
  }

  get idle(): boolean {
    return this.holders === 0;
  }
}
