import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, blockCrcs } from '../../src/rpc/checksum';
import { updateBlockCrcs, type ChunkChange } from '../../src/datanode/block-crc';

/** Applies a change to an in-memory "file" the way the chunk store applies it to disk. */
function apply(file: Buffer, change: ChunkChange): Buffer {
  const out = Buffer.alloc(change.newSize);
  file.copy(out, 0, 0, Math.min(file.length, change.newSize));
  if (change.data) Buffer.from(change.data).copy(out, change.pos ?? 0);
  return out;
}

async function check(file: Buffer, change: ChunkChange): Promise<{ reads: number[]; after: Buffer }> {
  const before = Uint32Array.from(blockCrcs(file));
  const after = apply(file, change);
  const reads: number[] = [];
  const crcs = await updateBlockCrcs(before, change, async (at, len) => {
    reads.push(at / BLOCK_SIZE);
    return after.subarray(at, at + len);
  });
  expect(Array.from(crcs)).toEqual(blockCrcs(after));
  return { reads, after };
}

describe('updating block CRCs after a change', () => {
  const B = BLOCK_SIZE;

  it('reads back only the partially overwritten blocks', async () => {
    const file = randomBytes(8 * B);
    const { reads } = await check(file, { oldSize: 8 * B, newSize: 8 * B, pos: 2 * B + 10, data: randomBytes(2 * B) });
    expect(reads).toEqual([2, 4]);
  });

  it('hashes block-aligned overwrites from the written bytes without reading', async () => {
    const file = randomBytes(8 * B);
    const { reads } = await check(file, { oldSize: 8 * B, newSize: 8 * B, pos: 3 * B, data: randomBytes(2 * B) });
    expect(reads).toEqual([]);
  });

  it('covers a hole between the old end and a write past it with zero blocks', async () => {
    const file = randomBytes(B + 100);
    const { reads, after } = await check(file, {
      oldSize: B + 100,
      newSize: 6 * B + 5,
      pos: 6 * B,
      data: randomBytes(5),
    });
    expect(reads).toEqual([1]); // only the old short last block, now padded with zeros
    expect(after.subarray(B + 100, 6 * B).every((b) => b === 0)).toBe(true);
  });

  it('handles extending and shrinking truncates', async () => {
    const file = randomBytes(3 * B + 7);
    await check(file, { oldSize: 3 * B + 7, newSize: 5 * B + 1 });
    const { reads } = await check(file, { oldSize: 3 * B + 7, newSize: B + 9 });
    expect(reads).toEqual([1]);
    expect((await check(file, { oldSize: 3 * B + 7, newSize: 2 * B })).reads).toEqual([]);
  });

  it('handles small writes inside one block and appends to a short last block', async () => {
    const file = randomBytes(B + 50);
    await check(file, { oldSize: B + 50, newSize: B + 50, pos: 10, data: randomBytes(3) });
    await check(file, { oldSize: B + 50, newSize: 2 * B + 10, pos: B + 50, data: randomBytes(B - 40) });
  });
});
