/**
 * Debounce for files still being written: a path is "settled" once two looks
 * at least `settleMs` apart see the same size and mtime (and the mtime itself
 * is that old). A writer that keeps appending keeps the path unsettled, so a
 * 200 MiB file written in bursts is uploaded once, after the last burst.
 */

export interface Snapshot {
  size: number;
  mtimeMs: number;
}

/** Current size/mtime of a path, or null when it is gone or no longer a regular file. */
export type Probe = (rel: string) => Promise<Snapshot | null>;

interface Tracked {
  seen: Snapshot | null;
  timer?: NodeJS.Timeout;
}

export class Settler {
  private readonly tracked = new Map<string, Tracked>();
  private stopped = false;

  constructor(
    private readonly settleMs: number,
    private readonly probe: Probe,
    private readonly onSettled: (rel: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Something happened to `rel`: (re)start watching it until it settles. */
  touch(rel: string): void {
    if (this.stopped || this.tracked.has(rel)) return;
    const t: Tracked = { seen: null };
    this.tracked.set(rel, t);
    void this.look(rel, t);
  }

  /** `rel` is gone: stop watching it. */
  cancel(rel: string): void {
    const t = this.tracked.get(rel);
    if (t?.timer) clearTimeout(t.timer);
    this.tracked.delete(rel);
  }

  has(rel: string): boolean {
    return this.tracked.has(rel);
  }

  get pending(): number {
    return this.tracked.size;
  }

  stop(): void {
    this.stopped = true;
    for (const rel of [...this.tracked.keys()]) this.cancel(rel);
  }

  private async look(rel: string, t: Tracked): Promise<void> {
    const snap = await this.probe(rel).catch(() => null);
    if (this.tracked.get(rel) !== t) return;
    if (!snap) {
      this.tracked.delete(rel);
      return;
    }
    const stable =
      t.seen !== null &&
      t.seen.size === snap.size &&
      t.seen.mtimeMs === snap.mtimeMs &&
      // An mtime in the future (clock skew, `touch -d`) cannot age: two equal looks must do.
      (this.now() - snap.mtimeMs >= this.settleMs || snap.mtimeMs > this.now());
    if (stable) {
      this.tracked.delete(rel);
      this.onSettled(rel);
      return;
    }
    t.seen = snap;
    t.timer = setTimeout(() => void this.look(rel, t), this.settleMs);
  }
}
