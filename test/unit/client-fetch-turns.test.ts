import { describe, expect, it } from 'vitest';
import { FetchTurns } from '../../src/client/fetch-turns';

/** Read fetches of one file: prefetches take turns, a unit a reader waits for never queues behind them. */
describe('client fetch turns', () => {
  it('runs prefetches at most `limit` at once, in the order asked', async () => {
    const turns = new FetchTurns(2);
    const started: string[] = [];
    const ends = new Map<string, () => void>();
    for (const k of ['a', 'b', 'c', 'd']) {
      void turns.take(k, true).then((done) => {
        started.push(k);
        ends.set(k, done);
      });
    }
    await Promise.resolve();
    await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    ends.get('a')!();
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual(['a', 'b', 'c']);
    ends.get('a')!(); // ending a turn twice frees one slot, not two
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('starts a demanded unit at once, and a waiting prefetch as soon as a reader wants it', async () => {
    const turns = new FetchTurns(1);
    const started: string[] = [];
    void turns.take('p1', true).then(() => started.push('p1'));
    void turns.take('p2', true).then(() => started.push('p2'));
    void turns.take('p3', true).then(() => started.push('p3'));
    void turns.take('now', false).then(() => started.push('now'));
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual(['p1', 'now']);
    turns.hurry('p3');
    await new Promise((r) => setTimeout(r, 0));
    expect(started).toEqual(['p1', 'now', 'p3']);
  });
});
