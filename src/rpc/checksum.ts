import { crc32c } from '@node-rs/crc32';
import { DfsError } from './errors';

/**
 * Checksum framing shared by the data node (which stores and serves CRCs) and
 * the client (which verifies them end to end): one CRC32C per 64 KiB block of a
 * chunk; the last block of a chunk may be short and its CRC covers only its bytes.
 */
export const BLOCK_SIZE = 64 * 1024;

/** CRC32C of one block (or the short last block of a chunk). */
export function blockCrc(data: Uint8Array): number {
  return crc32c(data);
}

/** CRCs of consecutive blocks in `data`, which must start on a block boundary. */
export function blockCrcs(data: Uint8Array): number[] {
  const crcs: number[] = [];
  for (let at = 0; at < data.length; at += BLOCK_SIZE) {
    crcs.push(crc32c(data.subarray(at, Math.min(at + BLOCK_SIZE, data.length))));
  }
  return crcs;
}

/** Number of blocks a chunk of `size` bytes has. */
export function blockCount(size: number): number {
  return Math.ceil(size / BLOCK_SIZE);
}

/** The block-aligned range [start, end) covering bytes [offset, offset + length) of a chunk of `size` bytes. */
export function alignedRange(offset: number, length: number, size: number): { start: number; end: number } {
  const start = Math.floor(Math.min(offset, size) / BLOCK_SIZE) * BLOCK_SIZE;
  const end = Math.min(size, Math.ceil((offset + length) / BLOCK_SIZE) * BLOCK_SIZE);
  return { start, end: Math.max(start, end) };
}

/** Index (within `data`) of the first block whose CRC does not match, or -1 when all match. */
export function firstBadBlock(data: Uint8Array, crcs: readonly number[]): number {
  const n = blockCount(data.length);
  if (crcs.length !== n) return Math.min(crcs.length, n);
  for (let i = 0; i < n; i++) {
    const block = data.subarray(i * BLOCK_SIZE, Math.min((i + 1) * BLOCK_SIZE, data.length));
    if (crc32c(block) !== crcs[i] >>> 0) return i;
  }
  return -1;
}

/**
 * Throws EIO naming the chunk and byte offset of the first block in `data`
 * (which starts at chunk offset `offset`) whose CRC does not match.
 */
export function verifyBlocks(data: Uint8Array, crcs: readonly number[], offset: number, context: string): void {
  const bad = firstBadBlock(data, crcs);
  if (bad >= 0) {
    throw new DfsError('EIO', `checksum mismatch in ${context} at offset ${offset + bad * BLOCK_SIZE}`);
  }
}
