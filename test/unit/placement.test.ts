import { describe, expect, it } from 'vitest';
import { choosePlacement, type PlacementCandidate } from '../../src/namenode/placement';

const GiB = 1024 ** 3;
const CHUNK = 64 * 1024 ** 2;
const node = (id: string, freeGiB: number, load = 0): PlacementCandidate => ({
  id,
  capacity: 100 * GiB,
  used: (100 - freeGiB) * GiB,
  load,
});

describe('placement', () => {
  it('chooses distinct nodes with the most free space first', () => {
    const nodes = [node('a', 10), node('b', 50), node('c', 30), node('d', 40)];
    expect(choosePlacement(nodes, 2, new Set(), CHUNK)).toEqual(['b', 'd']);
  });

  it('prefers a less loaded node when free space is equal', () => {
    const nodes = [node('a', 50, 5), node('b', 50, 0), node('c', 50, 2)];
    expect(choosePlacement(nodes, 2, new Set(), CHUNK)).toEqual(['b', 'c']);
  });

  it('honours exclusions (e.g. a failed pipeline node)', () => {
    const nodes = [node('a', 90), node('b', 50), node('c', 30)];
    expect(choosePlacement(nodes, 2, new Set(['a']), CHUNK)).toEqual(['b', 'c']);
  });

  it('returns fewer nodes when there are not enough, and none when none has room for a chunk', () => {
    expect(choosePlacement([node('a', 10)], 3, new Set(), CHUNK)).toEqual(['a']);
    const full: PlacementCandidate = { id: 'full', capacity: GiB, used: GiB - CHUNK / 2, load: 0 };
    expect(choosePlacement([full], 1, new Set(), CHUNK)).toEqual([]);
  });

  it('spreads a burst of allocations between heartbeats over equal nodes', () => {
    const nodes = [node('a', 50), node('b', 50), node('c', 50)];
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      // What the registry does: each placement counts as load until the next heartbeat.
      for (const id of choosePlacement(nodes, 2, new Set(), CHUNK)) {
        counts.set(id, (counts.get(id) ?? 0) + 1);
        nodes.find((n) => n.id === id)!.load++;
      }
    }
    expect([...counts.values()].sort()).toEqual([20, 20, 20]);
  });
});
