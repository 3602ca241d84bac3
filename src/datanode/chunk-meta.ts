import { crc32c } from '@node-rs/crc32';
import { DfsError } from '../rpc/errors';

/**
 * The `<id>.meta` file beside each chunk's data: version, size and one CRC32C
 * per 64 KiB block. Binary, self-checking (its own CRC), always replaced
 * atomically (write temp, rename) so a reader never sees half of one.
 *
 *   0  'DFSM'  4  u32 format  8  u64 version  16 u64 size  24 u32 blocks  28 u32 crc32c(rest)  32 crcs...
 */
export interface ChunkMeta {
  version: number;
  size: number;
  crcs: Uint32Array;
}

const MAGIC = 0x4d534644; // 'DFSM' little endian
const FORMAT = 1;
const HEADER = 32;

export function encodeMeta(meta: ChunkMeta, blocks: number): Buffer {
  const buf = Buffer.alloc(HEADER + blocks * 4);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(FORMAT, 4);
  buf.writeBigUInt64LE(BigInt(meta.version), 8);
  buf.writeBigUInt64LE(BigInt(meta.size), 16);
  buf.writeUInt32LE(blocks, 24);
  for (let i = 0; i < blocks; i++) buf.writeUInt32LE(meta.crcs[i] >>> 0, HEADER + i * 4);
  buf.writeUInt32LE(crc32c(buf.subarray(HEADER)), 28);
  const head = crc32c(buf.subarray(0, 28), buf.readUInt32LE(28));
  buf.writeUInt32LE(head, 28);
  return buf;
}

/** The length of the meta at the start of `buf` (its first 32 bytes suffice), or -1 if it is none. */
export function metaLength(head: Buffer): number {
  if (head.length < HEADER || head.readUInt32LE(0) !== MAGIC || head.readUInt32LE(4) !== FORMAT) return -1;
  return HEADER + head.readUInt32LE(24) * 4;
}

export const META_HEADER_BYTES = HEADER;

export function decodeMeta(buf: Buffer, what: string): ChunkMeta {
  if (buf.length < HEADER || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== FORMAT) {
    throw new DfsError('EIO', `${what}: not a chunk meta file`);
  }
  const blocks = buf.readUInt32LE(24);
  if (buf.length !== HEADER + blocks * 4) throw new DfsError('EIO', `${what}: truncated meta file`);
  const bodyCrc = crc32c(buf.subarray(HEADER));
  if (crc32c(buf.subarray(0, 28), bodyCrc) !== buf.readUInt32LE(28)) {
    throw new DfsError('EIO', `${what}: meta file checksum mismatch`);
  }
  const crcs = new Uint32Array(blocks);
  for (let i = 0; i < blocks; i++) crcs[i] = buf.readUInt32LE(HEADER + i * 4);
  return { version: Number(buf.readBigUInt64LE(8)), size: Number(buf.readBigUInt64LE(16)), crcs };
}
