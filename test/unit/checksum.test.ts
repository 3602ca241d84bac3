import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, alignedRange, blockCount, blockCrcs, firstBadBlock, verifyBlocks } from '../../src/rpc/checksum';

describe('block checksums (CRC32C per 64 KiB block)', () => {
  it('computes one CRC per block, the short last block over its own bytes', () => {
    const data = randomBytes(2 * BLOCK_SIZE + 100);
    const crcs = blockCrcs(data);
    expect(crcs).toHaveLength(3);
    expect(crcs[0]).toBe(crc32c(data.subarray(0, BLOCK_SIZE)));
    expect(crcs[2]).toBe(crc32c(data.subarray(2 * BLOCK_SIZE)));
    expect(blockCount(2 * BLOCK_SIZE + 100)).toBe(3);
    expect(blockCount(0)).toBe(0);
  });

  it('accepts intact data and names the offset of the first corrupt block', () => {
    const data = randomBytes(4 * BLOCK_SIZE);
    const crcs = blockCrcs(data);
    expect(firstBadBlock(data, crcs)).toBe(-1);
    expect(() => verifyBlocks(data, crcs, 0, 'chunk 7')).not.toThrow();
    data[2 * BLOCK_SIZE + 5] ^= 0xff;
    expect(firstBadBlock(data, crcs)).toBe(2);
    expect(() => verifyBlocks(data, crcs, BLOCK_SIZE, 'chunk 7')).toThrow(
      /EIO: checksum mismatch in chunk 7 at offset 196608/,
    );
  });

  it('treats a missing CRC as a mismatch', () => {
    const data = randomBytes(2 * BLOCK_SIZE);
    expect(firstBadBlock(data, blockCrcs(data).slice(0, 1))).toBe(1);
  });

  it('aligns a byte range to whole blocks, clipped to the chunk size', () => {
    expect(alignedRange(100, 10, 10 * BLOCK_SIZE)).toEqual({ start: 0, end: BLOCK_SIZE });
    expect(alignedRange(BLOCK_SIZE + 1, BLOCK_SIZE, 10 * BLOCK_SIZE)).toEqual({
      start: BLOCK_SIZE,
      end: 3 * BLOCK_SIZE,
    });
    expect(alignedRange(0, 10 * BLOCK_SIZE, BLOCK_SIZE + 7)).toEqual({ start: 0, end: BLOCK_SIZE + 7 });
    expect(alignedRange(5 * BLOCK_SIZE, 10, BLOCK_SIZE)).toEqual({ start: BLOCK_SIZE, end: BLOCK_SIZE });
  });
});
