import { describe, expect, it } from 'vitest';
import { ChunkMap } from '../../src/namenode/chunk-map';
import { reconcileReport } from '../../src/namenode/reconcile';

const CHUNK = 1000;

function fileWithChunks(map: ChunkMap, ino: number, sizes: number[]): void {
  sizes.forEach((size, index) => {
    const c = map.create(String(map.nextChunkId), ino, index, 1, ['dn1', 'dn2']);
    c.size = size;
  });
}

describe('chunk map', () => {
  it('lists a file’s chunks in index order and allocates ids that are never reused', () => {
    const map = new ChunkMap();
    map.create('5', 7, 2, 1, []);
    map.create('9', 7, 0, 1, []);
    expect(map.ofFile(7).map((c) => c.index)).toEqual([0, 2]);
    expect(map.nextChunkId).toBe(10);
    map.dropFile(7);
    expect(map.nextChunkId).toBe(10);
  });

  it('truncate drops chunks past the end and cuts the boundary chunk with a new version', () => {
    const map = new ChunkMap();
    fileWithChunks(map, 3, [1000, 1000, 600]);
    const { dropped, boundary } = map.truncateFile(3, 1500, CHUNK);
    expect(dropped.map((c) => c.index)).toEqual([2]);
    expect(boundary?.chunk.index).toBe(1);
    expect(boundary?.oldVersion).toBe(1);
    expect(boundary?.chunk.version).toBe(2);
    expect(boundary?.chunk.size).toBe(500);
    expect(map.ofFile(3).map((c) => c.size)).toEqual([1000, 500]);
  });

  it('truncate at a chunk boundary or beyond the data cuts nothing', () => {
    const map = new ChunkMap();
    fileWithChunks(map, 3, [1000, 400]);
    expect(map.truncateFile(3, 1000, CHUNK).boundary).toBeUndefined();
    expect(map.ofFile(3)).toHaveLength(1);
    expect(map.truncateFile(3, 5000, CHUNK)).toEqual({ dropped: [], boundary: undefined });
  });

  it('keeps each node’s chunk set in step with replica changes', () => {
    const map = new ChunkMap();
    fileWithChunks(map, 3, [10, 10]);
    expect([...map.onNode('dn1')]).toEqual(['1', '2']);
    map.setReplicas(map.get('1')!, ['dn3']);
    expect([...map.onNode('dn1')]).toEqual(['2']);
    expect([...map.onNode('dn3')]).toEqual(['1']);
    map.dropFile(3);
    expect(map.onNode('dn2').size).toBe(0);
  });
});

describe('chunk report reconciliation', () => {
  it('counts current replicas, deletes unknown and stale ones, and forgets chunks the node no longer has', () => {
    const map = new ChunkMap();
    fileWithChunks(map, 3, [10, 10, 10]);
    map.get('2')!.version = 3; // dn1 still holds version 1 of chunk 2: stale
    const res = reconcileReport(
      map,
      'dn1',
      [
        { chunkId: '1', version: 1, size: 10 },
        { chunkId: '2', version: 1, size: 10 },
        { chunkId: '99', version: 1, size: 10 },
      ],
      () => false,
    );
    expect(res.valid).toBe(1);
    expect(res.toDelete.sort()).toEqual(['2', '99']);
    expect(map.get('2')!.replicas.has('dn1')).toBe(false);
    expect(map.get('3')!.replicas.has('dn1')).toBe(false); // not reported: not there
    expect(map.get('1')!.replicas.has('dn1')).toBe(true);
  });

  it('adds a node that reports the current version of a chunk to its replicas', () => {
    const map = new ChunkMap();
    fileWithChunks(map, 3, [10]);
    reconcileReport(map, 'dn9', [{ chunkId: '1', version: 1, size: 10 }], () => false);
    expect([...map.get('1')!.replicas].sort()).toEqual(['dn1', 'dn2', 'dn9']);
  });

  it('does not delete an older replica of a chunk that is being written', () => {
    const map = new ChunkMap();
    fileWithChunks(map, 3, [10]);
    map.get('1')!.version = 2;
    const res = reconcileReport(map, 'dn1', [{ chunkId: '1', version: 1, size: 10 }], (id) => id === '1');
    expect(res.toDelete).toEqual([]);
  });
});
