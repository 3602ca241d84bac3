import type { Logger } from '../common/logger';
import { BLOCK_SIZE } from '../rpc/checksum';
import type { ChunkStore } from './chunk-store';

/**
 * What one chunk costs the rate limit at least: an open, a seek and a read of
 * a block, whatever its size. Counting bytes alone let a pass over 1 KiB
 * chunks run as fast as the node could open them (4 MiB/s is 4,000 chunks a
 * second, about 1 ms of CPU each here), taking the CPU from whatever the node
 * served meanwhile.
 */
export const MIN_CHUNK_CHARGE = BLOCK_SIZE;

export interface ScrubberOptions {
  store: ChunkStore;
  logger: Logger;
  /** Bytes per second to re-read (a chunk counts as at least MIN_CHUNK_CHARGE); 0 disables scrubbing. */
  bytesPerSecond: number;
  /** Pause between full passes. */
  passIntervalMs?: number;
  /** Delay before the first pass, so start-up I/O is not disturbed. */
  initialDelayMs?: number;
  /** Called when a pass found new bad chunks (registration sends a report). */
  onBad?: () => void;
}

/**
 * Background re-verification of every chunk at a bounded rate, so silent disk
 * corruption is found (and reported, and repaired from another replica)
 * before a reader trips over it.
 */
export class Scrubber {
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  /** For /metrics: passes completed, where the current pass is, bytes verified since start. */
  private readonly done = { passes: 0, passChunksDone: 0, passChunks: 0, bytesVerified: 0 };

  constructor(private readonly opts: ScrubberOptions) {}

  progress(): { passes: number; passChunksDone: number; passChunks: number; bytesVerified: number } {
    return { ...this.done };
  }

  start(): void {
    if (this.opts.bytesPerSecond <= 0) return;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async run(): Promise<void> {
    await this.sleep(this.opts.initialDelayMs ?? 30_000);
    while (!this.stopped) {
      await this.pass();
      await this.sleep(this.opts.passIntervalMs ?? 10 * 60_000);
    }
  }

  /** One pass over every chunk; returns the number of chunks found bad. */
  async pass(): Promise<number> {
    const { store, logger, bytesPerSecond } = this.opts;
    const before = store.badChunks().length;
    const started = Date.now();
    let bytes = 0;
    let charged = 0;
    const chunks = store.list();
    Object.assign(this.done, { passChunks: chunks.length, passChunksDone: 0 });
    for (const chunk of chunks) {
      if (this.stopped) break;
      const verified = await store.verify(chunk.chunkId);
      bytes += verified;
      charged += Math.max(verified, MIN_CHUNK_CHARGE);
      this.done.bytesVerified += verified;
      this.done.passChunksDone++;
      // Rate limit: stay behind the budget for the chunks read so far.
      const aheadMs = (charged / bytesPerSecond) * 1000 - (Date.now() - started);
      if (aheadMs > 0) await this.sleep(aheadMs);
    }
    if (!this.stopped) this.done.passes++;
    const found = store.badChunks().length - before;
    if (found > 0) this.opts.onBad?.();
    logger.info({ bytes, found, ms: Date.now() - started }, 'scrub pass done');
    return found;
  }
}
