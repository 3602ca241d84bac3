import { describe, expect, it } from 'vitest';
import { segmentChunkEnd, WriteBuffer } from '../../src/client/write-buffer';
import { sliceByChunk } from '../../src/client/chunk-ranges';

const MiB = 1024 * 1024;
const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);
const join = (parts: Buffer[]) => Buffer.concat(parts);

describe('client write buffer', () => {
  it('coalesces adjacent writes into one extent', () => {
    const b = new WriteBuffer(64 * MiB, 8 * MiB);
    b.insert(0, bytes(100, 1));
    b.insert(100, bytes(100, 2));
    b.insert(300, bytes(10, 3));
    b.insert(200, bytes(100, 4));
    expect(b.ranges.map((r) => [r.start, r.end])).toEqual([[0, 310]]);
    expect(b.bytes).toBe(310);
  });

  it('lets a later write replace older bytes at any offset', () => {
    const b = new WriteBuffer(64 * MiB, 8 * MiB);
    b.insert(0, bytes(100, 1));
    b.insert(40, bytes(20, 9));
    b.insert(90, bytes(20, 7));
    expect(b.bytes).toBe(110);
    const out = Buffer.alloc(110);
    b.overlay(0, out);
    expect(out.subarray(0, 40).every((x) => x === 1)).toBe(true);
    expect(out.subarray(40, 60).every((x) => x === 9)).toBe(true);
    expect(out.subarray(60, 90).every((x) => x === 1)).toBe(true);
    expect(out.subarray(90, 110).every((x) => x === 7)).toBe(true);
  });

  it('keeps sparse writes apart and overlays only what it holds', () => {
    const b = new WriteBuffer(64 * MiB, 8 * MiB);
    b.insert(10, bytes(5, 1));
    b.insert(100, bytes(5, 2));
    expect(b.ranges.map((r) => [r.start, r.end])).toEqual([
      [10, 15],
      [100, 105],
    ]);
    const out = Buffer.alloc(20, 0xee);
    b.overlay(0, out);
    expect([...out.subarray(8, 17)]).toEqual([0xee, 0xee, 1, 1, 1, 1, 1, 0xee, 0xee]);
    expect(b.overlaps(15, 100)).toBe(false);
    expect(b.overlaps(14, 15)).toBe(true);
  });

  it('hands out only completely buffered segment windows while writes are sequential', () => {
    const b = new WriteBuffer(16 * MiB, 4 * MiB);
    b.insert(0, bytes(3 * MiB, 1));
    expect(b.takeFull(0)).toEqual([]);
    b.insert(3 * MiB, bytes(2 * MiB, 2));
    const segs = b.takeFull(3 * MiB);
    expect(segs.map((s) => [s.index, s.chunkOffset, s.length])).toEqual([[0, 0, 4 * MiB]]);
    expect(join(segs[0].parts).subarray(3 * MiB - 1, 3 * MiB + 1)).toEqual(Buffer.from([1, 2]));
    expect(b.ranges.map((r) => [r.start, r.end])).toEqual([[4 * MiB, 5 * MiB]]);
  });

  it('never lets a segment cross a chunk boundary', () => {
    const b = new WriteBuffer(10 * MiB, 4 * MiB);
    b.insert(7 * MiB, bytes(6 * MiB, 5));
    const segs = b.takeAll();
    expect(segs.map((s) => [s.index, s.chunkOffset, s.fileOffset, s.length])).toEqual([
      [0, 7 * MiB, 7 * MiB, 1 * MiB],
      [0, 8 * MiB, 8 * MiB, 2 * MiB],
      [1, 0, 10 * MiB, 3 * MiB],
    ]);
    expect(b.isEmpty).toBe(true);
    expect(b.bytes).toBe(0);
  });

  it('drops buffered bytes past a truncation point', () => {
    const b = new WriteBuffer(64 * MiB, 8 * MiB);
    b.insert(0, bytes(100, 1));
    b.insert(200, bytes(100, 1));
    b.truncate(50);
    expect(b.ranges.map((r) => [r.start, r.end])).toEqual([[0, 50]]);
    expect(b.end).toBe(50);
  });

  it('splits file ranges at chunk boundaries', () => {
    expect(sliceByChunk(90, 30, 50)).toEqual([
      { index: 1, chunkOffset: 40, fileOffset: 90, length: 10 },
      { index: 2, chunkOffset: 0, fileOffset: 100, length: 20 },
    ]);
  });

  it('sends scattered small writes of one chunk as one segment, in offset order, and large ones alone', () => {
    const b = new WriteBuffer(1 * MiB, 256 * 1024);
    b.insert(900_000, Buffer.alloc(10, 3));
    b.insert(100, Buffer.alloc(10, 1));
    b.insert(500_000, Buffer.alloc(10, 2));
    b.insert(MiB + 5, Buffer.alloc(10, 4)); // chunk 1
    b.insert(2 * MiB, Buffer.alloc(600 * 1024, 5)); // chunk 2, large: cut at 256 KiB windows
    const segs = b.takeAll();
    const chunk0 = segs.filter((x) => x.index === 0);
    expect(chunk0).toHaveLength(1);
    expect([chunk0[0].chunkOffset, ...(chunk0[0].more ?? []).map((r) => r.chunkOffset)]).toEqual([
      100, 500_000, 900_000,
    ]);
    expect(segmentChunkEnd(chunk0[0])).toBe(900_010);
    expect(segs.filter((x) => x.index === 1)).toHaveLength(1);
    expect(segs.filter((x) => x.index === 2).map((x) => x.length)).toEqual([256 * 1024, 256 * 1024, 88 * 1024]);
    expect(b.isEmpty).toBe(true);
  });

  it('over budget with only small extents, takes every small extent of one chunk, even one straddling its end', () => {
    const b = new WriteBuffer(1 * MiB, 256 * 1024);
    b.insert(10, Buffer.alloc(4096, 1));
    b.insert(MiB - 100, Buffer.alloc(200, 2)); // straddles chunks 0 and 1
    b.insert(MiB + 500, Buffer.alloc(4096, 3));
    const first = b.takeOldest();
    expect(first).toHaveLength(1);
    expect(first[0].index).toBe(0);
    expect([first[0].chunkOffset, ...(first[0].more ?? []).map((r) => r.chunkOffset)]).toEqual([10, MiB - 100]);
    expect(segmentChunkEnd(first[0])).toBe(MiB);
    // What is left: the straddling extent's tail in chunk 1 and the chunk-1 write.
    expect(b.ranges.map((r) => [r.start, r.end])).toEqual([
      [MiB, MiB + 100],
      [MiB + 500, MiB + 500 + 4096],
    ]);
    const second = b.takeOldest();
    expect(second).toHaveLength(1);
    expect(second[0].index).toBe(1);
    expect(b.isEmpty).toBe(true);
  });
});
