import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Settler, type Snapshot } from '../../src/sync/settle';

/** The debounce that keeps a file still being written from being uploaded half-way. */
describe('the settle debounce', () => {
  let now = 100_000;
  const files = new Map<string, Snapshot>();
  let settled: string[];

  beforeEach(() => {
    vi.useFakeTimers();
    now = 100_000;
    files.clear();
    settled = [];
  });
  afterEach(() => vi.useRealTimers());

  const settler = (ms = 1000) =>
    new Settler(
      ms,
      async (rel) => files.get(rel) ?? null,
      (rel) => settled.push(rel),
      () => now,
    );
  const advance = async (ms: number) => {
    now += ms;
    await vi.advanceTimersByTimeAsync(ms);
  };

  it('reports a file once its size and mtime stay the same for the settle interval', async () => {
    const s = settler();
    files.set('f', { size: 10, mtimeMs: now });
    s.touch('f');
    await advance(999);
    expect(settled).toEqual([]);
    await advance(1);
    expect(settled).toEqual(['f']);
    await advance(5000);
    expect(settled).toEqual(['f']);
  });

  it('waits while a writer keeps appending, however long it takes', async () => {
    const s = settler();
    files.set('f', { size: 0, mtimeMs: now });
    s.touch('f');
    for (let i = 1; i <= 20; i++) {
      await advance(300);
      files.set('f', { size: i * 20, mtimeMs: now });
      s.touch('f');
    }
    expect(settled).toEqual([]);
    await advance(2000);
    expect(settled).toEqual(['f']);
  });

  it('forgets a file that disappears or is cancelled', async () => {
    const s = settler();
    files.set('gone', { size: 1, mtimeMs: now });
    files.set('cancelled', { size: 1, mtimeMs: now });
    s.touch('gone');
    s.touch('cancelled');
    files.delete('gone');
    s.cancel('cancelled');
    await advance(5000);
    expect(settled).toEqual([]);
    expect(s.pending).toBe(0);
  });

  it('does not wait forever for a file whose mtime is in the future', async () => {
    const s = settler();
    files.set('f', { size: 1, mtimeMs: now + 3_600_000 });
    s.touch('f');
    await advance(1000);
    expect(settled).toEqual(['f']);
  });
});
