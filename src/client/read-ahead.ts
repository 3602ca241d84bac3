/**
 * Sequential read detection. A read that starts where the previous one ended
 * (give or take the kernel's reordering of concurrent requests) grows the
 * window, doubling up to `max`; a jump elsewhere shrinks it back and prefetches
 * nothing, so random reads do not pay for data they never use.
 */
/** Two of the kernel's largest FUSE reads (128 KiB each). */
export const REORDER_SLACK_BYTES = 256 * 1024;

export class ReadAheadWindow {
  private expected = 0;
  private window: number;

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
    // The kernel may reorder a few concurrent requests of one stream, but no more than a couple
    // of its largest reads: a wider tolerance would take random reads for a stream.
    const sequential = Math.abs(position - this.expected) <= Math.min(this.window, REORDER_SLACK_BYTES);
    const end = position + length;
    this.expected = end;
    if (!sequential || this.max <= 0) {
      this.window = Math.min(this.initial, this.max);
      return null;
    }
    const ahead = { start: end, end: end + this.window };
    this.window = Math.min(this.window * 2, this.max);
    return ahead;
  }
}
