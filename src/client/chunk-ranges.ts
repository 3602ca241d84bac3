/** A piece of a file range that lies inside one chunk. */
export interface ChunkSlice {
  index: number;
  /** Offset inside the chunk. */
  chunkOffset: number;
  /** Offset in the file. */
  fileOffset: number;
  length: number;
}

/** Splits [offset, offset + length) at chunk boundaries. */
export function sliceByChunk(offset: number, length: number, chunkSize: number): ChunkSlice[] {
  const out: ChunkSlice[] = [];
  let pos = offset;
  const end = offset + length;
  while (pos < end) {
    const index = Math.floor(pos / chunkSize);
    const chunkOffset = pos - index * chunkSize;
    const n = Math.min(end - pos, chunkSize - chunkOffset);
    out.push({ index, chunkOffset, fileOffset: pos, length: n });
    pos += n;
  }
  return out;
}

/** Checksum block size of the data nodes. */
export const CRC_BLOCK_BYTES = 64 * 1024;

/** The block-aligned range [start, end) covering [offset, offset + length). */
export function blockSpan(offset: number, length: number, block = CRC_BLOCK_BYTES): { start: number; end: number } {
  const start = Math.floor(offset / block) * block;
  const end = Math.ceil((offset + length) / block) * block;
  return { start, end };
}
