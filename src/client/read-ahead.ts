/**
 * Sequential read detection. A read that continues an earlier one grows the
 * window, doubling up to `max`, and prefetches beyond the furthest byte read
 * so far; a jump far away shrinks it back, so random reads do not pay for
 * data they never use.
 *
 * "Continues" has to survive the kernel: its read-ahead sends up to
 * max_readahead (twice that after POSIX_FADV_SEQUENTIAL, which fio and cp
 * ask for) in 128 KiB requests that arrive in any order. So a read continues
 * the stream when it starts within a couple of requests of where the last
 * one ended, or touches exactly one of the last few reads; a read that does
 * neither but stays near the stream is neither a continuation nor a jump.
 *
 * That slack makes one continuation weak evidence: 4 KiB reads at random
 * places in a 256 MiB file land within it of the previous read about once in
 * 500, and each such coincidence fetched a whole window nobody read. So a
 * stream is trusted from its second continuation in a row (or from a read at
 * offset 0, where most streams start, as the kernel's read-ahead does).
 */
/** Two of the kernel's largest FUSE reads (128 KiB each). */
export const REORDER_SLACK_BYTES = 256 * 1024;
/** How far out of order the kernel's read-ahead requests of one stream can arrive. */
export const STREAM_SLACK_BYTES = 4 * 1024 * 1024;
const RECENT_READS = 32;

export class ReadAheadWindow {
  private expected = 0;
  private frontier = 0;
  /** Continuations since the last jump. */
  private streak = 0;
  private window: number;
  private readonly recent: { start: number; end: number }[] = [];

  constructor(
    readonly initial: number,
    readonly max: number,
  ) {
    this.window = Math.min(initial, max);
  }

  get size(): number {
    return this.window;
  }

  /** Records a read of [position, position + length); returns the range worth prefetching, if any. */
  onRead(position: number, length: number): { start: number; end: number } | null {
    const end = position + length;
    const continues =
      Math.abs(position - this.expected) <= Math.min(this.window, REORDER_SLACK_BYTES) ||
      this.recent.some((r) => r.end === position || r.start === end);
    this.expected = end;
    this.recent.push({ start: position, end });
    if (this.recent.length > RECENT_READS) this.recent.shift();
    if (this.max <= 0) return null;
    if (!continues) {
      if (Math.abs(position - this.frontier) > Math.min(STREAM_SLACK_BYTES, 2 * this.max)) {
        this.window = Math.min(this.initial, this.max);
        this.frontier = end;
        this.streak = 0;
      }
      return null;
    }
    this.frontier = Math.max(this.frontier, end);
    this.streak++;
    if (this.streak < 2 && position !== 0) return null;
    const ahead = { start: this.frontier, end: this.frontier + this.window };
    this.window = Math.min(this.window * 2, this.max);
    return ahead;
  }
}
