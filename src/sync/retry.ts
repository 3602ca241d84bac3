import { StoppedError, isRetryable } from './errors';

/** Backoff and retry for cluster calls that may fail while the name node restarts. */

export class Backoff {
  private current: number;
  constructor(
    private readonly firstMs = 250,
    private readonly maxMs = 5_000,
  ) {
    this.current = firstMs;
  }
  next(): number {
    const ms = this.current;
    this.current = Math.min(this.current * 2, this.maxMs);
    return ms;
  }
  reset(): void {
    this.current = this.firstMs;
  }
}

/** Resolves after `ms`, or rejects with StoppedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StoppedError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new StoppedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  budgetMs: number;
  signal?: AbortSignal;
  onRetry?(err: unknown, inMs: number): void;
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or has kept
 * failing for `budgetMs`. `fn` must be safe to run again: callers re-check the
 * state of the cluster at the start of each attempt.
 */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const deadline = Date.now() + opts.budgetMs;
  const backoff = new Backoff();
  for (;;) {
    if (opts.signal?.aborted) throw new StoppedError();
    try {
      return await fn();
    } catch (err) {
      const wait = backoff.next();
      if (!isRetryable(err) || Date.now() + wait > deadline) throw err;
      opts.onRetry?.(err, wait);
      await sleep(wait, opts.signal);
    }
  }
}
