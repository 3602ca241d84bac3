import { describe, expect, it } from 'vitest';
import { ReadAheadWindow } from '../../src/client/read-ahead';

describe('client read-ahead window', () => {
  it('grows on sequential reads up to its maximum', () => {
    const w = new ReadAheadWindow(1024, 8192);
    expect(w.onRead(0, 100)).toEqual({ start: 100, end: 1124 });
    expect(w.onRead(100, 100)).toEqual({ start: 200, end: 2248 });
    w.onRead(200, 100);
    w.onRead(300, 100);
    expect(w.size).toBe(8192);
    expect(w.onRead(400, 100)).toEqual({ start: 500, end: 8692 });
  });

  it('stops prefetching and shrinks on a random jump', () => {
    const w = new ReadAheadWindow(1024, 8192);
    w.onRead(0, 100);
    w.onRead(100, 100);
    expect(w.onRead(1_000_000, 100)).toBeNull();
    expect(w.size).toBe(1024);
    // Sequential again from the new place: prefetching resumes at the second read in a row.
    expect(w.onRead(1_000_100, 100)).toBeNull();
    expect(w.onRead(1_000_200, 100)).toEqual({ start: 1_000_300, end: 1_001_324 });
  });

  it('does not take a random read that lands next to the previous one for a stream', () => {
    const K = 1024;
    const w = new ReadAheadWindow(2 << 20, 16 << 20);
    w.onRead(100 << 20, 4 * K);
    expect(w.onRead(200 << 20, 4 * K)).toBeNull();
    // Within the kernel's reordering slack of the read before: a coincidence, not yet a stream.
    expect(w.onRead((200 << 20) + 64 * K, 4 * K)).toBeNull();
    expect(w.onRead(7 << 20, 4 * K)).toBeNull();
  });

  it('prefetches almost never for 4 KiB reads at random places in a 256 MiB file', () => {
    // A fixed xorshift sequence, so the count is the same on every run.
    let x = 0x2545f491;
    const next = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const w = new ReadAheadWindow(2 << 20, 16 << 20);
    let prefetches = 0;
    for (let i = 0; i < 20_000; i++) if (w.onRead((next() % 65_536) * 4096, 4096)) prefetches++;
    // One continuation alone (about 1 read in 500 here) used to fetch a whole window.
    expect(prefetches).toBeLessThanOrEqual(2);
  });

  it('tolerates slightly reordered concurrent reads', () => {
    const w = new ReadAheadWindow(4096, 8192);
    w.onRead(0, 1000);
    expect(w.onRead(2000, 1000)).not.toBeNull();
    expect(w.onRead(1000, 1000)).not.toBeNull();
  });

  it('takes random reads near each other for random, not for a stream', () => {
    const w = new ReadAheadWindow(8 << 20, 16 << 20);
    w.onRead(0, 4096);
    // 1 MiB away is inside the 8 MiB window but far beyond any kernel reordering.
    expect(w.onRead(1 << 20, 4096)).toBeNull();
    expect(w.onRead(3 << 20, 4096)).toBeNull();
  });

  it('keeps a stream whose 128 KiB reads arrive out of order across the kernel read-ahead window', () => {
    const K = 1024;
    const w = new ReadAheadWindow(1 << 20, 16 << 20);
    w.onRead(0, 128 * K);
    // After POSIX_FADV_SEQUENTIAL the kernel has 2 MiB in flight in 128 KiB requests, in any order.
    const order = [1024, 128, 512, 256, 1152, 384, 640, 1920, 768, 896, 1280, 1408, 1536, 1664, 1792, 2048];
    let prefetched = 0;
    for (const kib of order) if (w.onRead(kib * K, 128 * K)) prefetched++;
    expect(prefetched).toBeGreaterThanOrEqual(order.length - 4);
    expect(w.size).toBe(16 << 20); // never shrunk back
  });

  it('prefetches nothing when read-ahead is off', () => {
    const w = new ReadAheadWindow(0, 0);
    expect(w.onRead(0, 100)).toBeNull();
  });
});
