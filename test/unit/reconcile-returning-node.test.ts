import { describe, expect, it } from 'vitest';
import { ChunkMap } from '../../src/namenode/chunk-map';
import { reconcileReport } from '../../src/namenode/reconcile';

describe('reconciling a returning node’s report', () => {
  it('deletes orphans and stale versions, counts current ones, and forgets replicas it no longer has', () => {
    const map = new ChunkMap();
    const current = map.create('1', 5, 0, 3, ['a', 'b']);
    const stale = map.create('2', 5, 1, 4, ['a', 'c']);
    const lost = map.create('3', 5, 2, 1, ['a', 'b']);
    const r = reconcileReport(
      map,
      'a',
      [
        { chunkId: '1', version: 3, size: 10 },
        { chunkId: '2', version: 2, size: 10 },
        { chunkId: '99', version: 1, size: 10 },
      ],
      () => false,
    );
    expect(r.valid).toBe(1);
    expect(r.toDelete.sort()).toEqual(['2', '99']);
    expect(current.replicas.has('a')).toBe(true);
    expect(stale.replicas.has('a')).toBe(false);
    expect(lost.replicas.has('a')).toBe(false);
  });

  it('keeps a fresh copy the report may predate, and a stale replica of a chunk being written', () => {
    const map = new ChunkMap();
    const copied = map.create('7', 5, 0, 1, ['a', 'b']);
    const writing = map.create('8', 5, 1, 2, ['a']);
    const r = reconcileReport(
      map,
      'a',
      [{ chunkId: '8', version: 1, size: 10 }],
      (id) => id === '8',
      (id, node) => id === '7' && node === 'a',
    );
    expect(copied.replicas.has('a')).toBe(true);
    expect(r.toDelete).toEqual([]);
    expect(writing.replicas.has('a')).toBe(false);
  });
});
