import { describe, expect, it } from 'vitest';
import { KnownDirs } from '../../src/client/known-dirs';

/**
 * What a client may answer about names without asking the name node
 * (src/client/known-dirs.ts): only from a listing it knows is complete, kept
 * complete by its own changes only when the name node's stamps show that
 * nobody else changed the directory, and only while its lease runs.
 */

const D = 7;
const E = 8;
const LEASE = 100;

describe('known directories', () => {
  it('a directory this client made is empty: other names are absent, its own creates are not', () => {
    const k = new KnownDirs(true);
    expect(k.absent(D, 'x', 0)).toBe(false); // nothing known yet
    k.applied([{ dir: D, before: 0, after: 100, leaseMs: LEASE }], [], 0);
    expect(k.absent(D, 'x', 10)).toBe(true);
    k.applied([{ dir: D, before: 100, after: 101, leaseMs: LEASE }], [{ dir: D, add: 'x' }], 10);
    expect(k.absent(D, 'x', 20)).toBe(false);
    expect(k.absent(D, 'y', 20)).toBe(true);
  });

  it('a stamp other than the one its listing is at means another client changed the directory: the listing goes', () => {
    const k = new KnownDirs(true);
    k.applied([{ dir: D, before: 0, after: 100, leaseMs: LEASE }], [], 0);
    // 101 and 102 were someone else's.
    k.applied([{ dir: D, before: 102, after: 103, leaseMs: LEASE }], [{ dir: D, add: 'b' }], 5);
    expect(k.absent(D, 'zzz', 6)).toBe(false);
    expect(k.absent(D, 'b', 6)).toBe(false);
  });

  it('answers only while its lease runs (counted from the send time); each own change renews it', () => {
    const k = new KnownDirs(true);
    k.applied([{ dir: D, before: 0, after: 100, leaseMs: LEASE }], [], 0);
    expect(k.absent(D, 'x', 99)).toBe(true);
    expect(k.absent(D, 'x', 100)).toBe(false);
    k.applied([{ dir: D, before: 100, after: 101, leaseMs: LEASE }], [{ dir: D, add: 'y' }], 500);
    expect(k.absent(D, 'x', 599)).toBe(true);
    // A reply without a lease (the directory is contended) keeps the listing but answers nothing.
    k.applied([{ dir: D, before: 101, after: 102, leaseMs: 0 }], [{ dir: D, add: 'z' }], 600);
    expect(k.absent(D, 'x', 601)).toBe(false);
    k.applied([{ dir: D, before: 102, after: 103, leaseMs: LEASE }], [{ dir: D, add: 'w' }], 700);
    expect(k.absent(D, 'x', 701)).toBe(true);
    expect(k.absent(D, 'z', 701)).toBe(false);
  });

  it('a whole listing gives no lease by itself; the next own change with the same stamp does', () => {
    const k = new KnownDirs(true);
    k.learnListing(D, 100, ['a']);
    expect(k.absent(D, 'x', 1)).toBe(false);
    k.applied([{ dir: D, before: 100, after: 101, leaseMs: LEASE }], [{ dir: D, add: 'b' }], 2);
    expect(k.absent(D, 'x', 3)).toBe(true);
    expect(k.absent(D, 'a', 3)).toBe(false);
  });

  it('replies that arrive out of order drop the listing instead of skipping a change', () => {
    const k = new KnownDirs(true);
    k.applied([{ dir: D, before: 0, after: 100, leaseMs: LEASE }], [], 0);
    // Two creates in flight: the second one's reply comes first.
    k.applied([{ dir: D, before: 101, after: 102, leaseMs: LEASE }], [{ dir: D, add: 'second' }], 1);
    k.applied([{ dir: D, before: 100, after: 101, leaseMs: LEASE }], [{ dir: D, add: 'first' }], 1);
    expect(k.absent(D, 'second', 2)).toBe(false);
    expect(k.absent(D, 'other', 2)).toBe(false);
  });

  it('a rename between two known directories moves the name; a change the reply does not describe drops both', () => {
    const k = new KnownDirs(true);
    k.learnListing(D, 100, ['f']);
    k.learnListing(E, 200, []);
    k.applied(
      [
        { dir: D, before: 100, after: 101, leaseMs: LEASE },
        { dir: E, before: 200, after: 201, leaseMs: LEASE },
      ],
      [
        { dir: D, remove: 'f' },
        { dir: E, add: 'f' },
      ],
      1,
    );
    expect(k.absent(D, 'f', 2)).toBe(true);
    expect(k.absent(E, 'f', 2)).toBe(false);
    expect(k.absent(E, 'g', 2)).toBe(true);
    // An older name node sends no stamps.
    k.applied([], [{ dir: E, remove: 'f' }], 3);
    expect(k.absent(E, 'g', 4)).toBe(false);
  });

  it('a name the name node found that the listing lacks, a failed call, or stamp 0 leaves nothing known', () => {
    const k = new KnownDirs(true);
    k.applied([{ dir: D, before: 0, after: 100, leaseMs: LEASE }], [], 0);
    k.found(D, 'b');
    expect(k.absent(D, 'x', 1)).toBe(false);
    k.applied([{ dir: E, before: 0, after: 100, leaseMs: LEASE }], [], 0);
    k.forget(E);
    expect(k.absent(E, 'x', 1)).toBe(false);
    k.learnListing(E, 0, [], 1_000);
    expect(k.absent(E, 'x', 1)).toBe(false);
  });

  it('is off when the client caches nothing, and keeps no directory larger than its name budget', () => {
    const off = new KnownDirs(false);
    off.applied([{ dir: D, before: 0, after: 100, leaseMs: LEASE }], [], 0);
    expect(off.absent(D, 'x', 0)).toBe(false);
    const small = new KnownDirs(true, 3);
    small.learnListing(D, 100, ['a', 'b', 'c', 'd'], LEASE);
    expect(small.absent(D, 'x', 1)).toBe(false);
    small.learnListing(E, 100, ['a'], LEASE);
    expect(small.absent(E, 'x', 1)).toBe(true);
  });
});
