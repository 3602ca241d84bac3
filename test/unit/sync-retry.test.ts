import { describe, expect, it } from 'vitest';
import { LocalError, isRetryable } from '../../src/sync/errors';
import { withRetry } from '../../src/sync/retry';
import { TaskQueue } from '../../src/sync/queue';

const errno = (name: string) => Object.assign(new Error(`${name}: x`), { errno: name });

describe('sync retries and ordering', () => {
  it('retries an unreachable cluster, but never a local failure or a refusal', () => {
    expect(isRetryable(errno('EIO'))).toBe(true);
    expect(isRetryable(errno('ETIMEDOUT'))).toBe(true);
    expect(isRetryable(errno('EACCES'))).toBe(false);
    expect(isRetryable(new LocalError('EIO', 'local disk'))).toBe(false);
  });

  it('retries with backoff until the call succeeds', async () => {
    let calls = 0;
    const retries: number[] = [];
    const v = await withRetry(
      async () => {
        if (++calls < 3) throw errno('EIO');
        return 'ok';
      },
      { budgetMs: 10_000, onRetry: (_e, ms) => retries.push(ms) },
    );
    expect(v).toBe('ok');
    expect(retries).toEqual([250, 500]);
  });

  it('gives up once the budget is spent, and at once on a non-retryable error', async () => {
    await expect(withRetry(async () => Promise.reject(errno('EIO')), { budgetMs: 300 })).rejects.toThrow('EIO');
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw errno('EACCES');
        },
        { budgetMs: 10_000 },
      ),
    ).rejects.toThrow('EACCES');
    expect(calls).toBe(1);
  });

  it('runs queued operations one at a time, in order, past a failing one', async () => {
    const seen: string[] = [];
    const failed: string[] = [];
    const q = new TaskQueue((_e, t) => failed.push(t.label));
    let active = 0;
    const op =
      (name: string, fail = false) =>
      async () => {
        expect(++active).toBe(1);
        await new Promise((r) => setTimeout(r, 5));
        seen.push(name);
        active--;
        if (fail) throw new Error(name);
      };
    q.push('a', op('a'));
    q.push('b', op('b', true));
    q.push('c', op('c'));
    await q.idle();
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(failed).toEqual(['b']);
  });
});
