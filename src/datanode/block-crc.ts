import { BLOCK_SIZE, blockCount, blockCrc } from '../rpc/checksum';

/** Reads `length` bytes of the chunk at `offset` (the file as it is after the change). */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>;

/** A change to a chunk whose block CRCs must be brought up to date. */
export interface ChunkChange {
  oldSize: number;
  newSize: number;
  /** Bytes written at `pos` (absent for a truncate). */
  pos?: number;
  data?: Uint8Array;
}

const zeroCrcs = new Map<number, number>();
function zeroCrc(length: number): number {
  let crc = zeroCrcs.get(length);
  if (crc === undefined) {
    crc = blockCrc(Buffer.alloc(length));
    if (zeroCrcs.size < 64) zeroCrcs.set(length, crc);
  }
  return crc;
}

/**
 * Recomputes only the CRCs of blocks a write or truncate touched, returning the
 * new CRC array (the input is reused when its length still fits). Blocks fully
 * covered by the written bytes are hashed from them, blocks entirely inside a
 * hole (zero fill past the old end) are a known constant, and only partially
 * touched blocks are read back from the file (read-modify-CRC).
 */
export async function updateBlockCrcs(crcs: Uint32Array, change: ChunkChange, readAt: ReadAt): Promise<Uint32Array> {
  const { oldSize, newSize } = change;
  const pos = change.pos ?? newSize;
  const data = change.data ?? new Uint8Array(0);
  const end = pos + data.length;
  let out = crcs;
  const blocks = blockCount(newSize);
  if (out.length !== blocks) {
    out = new Uint32Array(blocks);
    out.set(crcs.subarray(0, Math.min(blocks, crcs.length)));
  }
  // Touched: from the earlier of the write start and the old end (a hole or
  // growth changes the old short last block) up to the last changed byte.
  const changedEnd = newSize > oldSize ? newSize : Math.min(end, newSize);
  const firstChanged = Math.min(data.length > 0 ? pos : newSize, oldSize);
  if (changedEnd <= firstChanged) {
    // Pure shrink: only the new last block may have become short.
    if (newSize % BLOCK_SIZE !== 0 && newSize < oldSize) {
      const b = blocks - 1;
      out[b] = blockCrc(await readAt(b * BLOCK_SIZE, newSize - b * BLOCK_SIZE));
    }
    return out;
  }
  const first = Math.floor(firstChanged / BLOCK_SIZE);
  const last = Math.floor((changedEnd - 1) / BLOCK_SIZE);
  for (let b = first; b <= last; b++) {
    const bs = b * BLOCK_SIZE;
    const be = Math.min(bs + BLOCK_SIZE, newSize);
    if (data.length > 0 && bs >= pos && be <= end) {
      out[b] = blockCrc(data.subarray(bs - pos, be - pos));
    } else if (bs >= oldSize && (data.length === 0 || be <= pos || bs >= end)) {
      out[b] = zeroCrc(be - bs);
    } else {
      out[b] = blockCrc(await readAt(bs, be - bs));
    }
  }
  return out;
}
