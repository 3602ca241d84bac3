import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DirLeases } from '../../src/namenode/dir-leases';

/**
 * The name node's side of "no such name" answered by a client
 * (src/namenode/dir-leases.ts): while a client's lease on a directory runs,
 * nobody else adds a name there, and a client that waits is not kept waiting
 * by renewals.
 */

const D = 10;
const E = 11;

describe('directory leases', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  const started = () => {
    const leases = new DirLeases(100, 1_000);
    vi.advanceTimersByTime(200); // past the start-up guard
    return leases;
  };
  const settled = async <T>(p: Promise<T>) => {
    let done = false;
    void p.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    return done;
  };

  it('the holder adds and renews at once; another client waits until the lease ends', async () => {
    const leases = started();
    (await leases.adding([D], 'a'))();
    expect(leases.grant(D, 'a')).toBe(100);
    (await leases.adding([D], 'a'))();
    expect(leases.grant(D, 'a')).toBe(100);
    vi.advanceTimersByTime(40);
    const b = leases.adding([D], 'b');
    expect(await settled(b)).toBe(false);
    // The holder's next change while b waits gets no renewal.
    (await leases.adding([D], 'a'))();
    expect(leases.grant(D, 'a')).toBe(0);
    await vi.advanceTimersByTimeAsync(59);
    expect(await settled(b)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(b)).toBe(true);
    (await b)();
  });

  it('after another client added a name, nobody gets a lease there for a second; other directories are unaffected', async () => {
    const leases = started();
    expect(leases.grant(D, 'a')).toBe(100);
    expect(leases.grant(E, 'a')).toBe(100);
    const b = leases.adding([D], 'b');
    await vi.advanceTimersByTimeAsync(100);
    (await b)();
    expect(leases.grant(D, 'b')).toBe(0);
    expect(leases.grant(D, 'a')).toBe(0);
    expect(leases.grant(E, 'a')).toBe(100);
    vi.advanceTimersByTime(1_000);
    leases.sweep();
    expect(leases.grant(D, 'b')).toBe(100);
  });

  it('a lease that has ended neither delays nor marks the directory contended', async () => {
    const leases = started();
    expect(leases.grant(D, 'a')).toBe(100);
    vi.advanceTimersByTime(100);
    expect(await settled(leases.adding([D], 'b'))).toBe(true);
    expect(leases.grant(D, 'b')).toBe(100);
  });

  it('no lease goes to anyone while another client’s addition is waiting or applying', async () => {
    const leases = started();
    const done = await leases.adding([D], 'b'); // nothing held: no wait
    expect(leases.grant(D, 'a')).toBe(0);
    done();
    expect(leases.grant(D, 'b')).toBe(100);
    expect(leases.grant(D, 'a')).toBe(0); // b holds it
  });

  it('a client without an id gets no lease, and a new name node waits out leases from before its start', async () => {
    const fresh = new DirLeases(100, 1_000);
    const early = fresh.adding([D], 'a');
    expect(await settled(early)).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(await settled(early)).toBe(true);
    expect(fresh.grant(E, '')).toBe(0);
  });
});
