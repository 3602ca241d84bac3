import path from 'node:path';
import { DfsError } from '../rpc/errors';

const MAX_U64 = (1n << 64n) - 1n;

/**
 * The one gate between ids from the network and file names: only a decimal
 * uint64 (1..2^64-1) becomes a name, normalised so "007" and "7" are one chunk.
 * Anything else ("../x", "1/../../etc", "", "-1") is EINVAL and never touches a path.
 */
export function parseChunkId(raw: unknown): string {
  const text = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof text !== 'string' || !/^[0-9]{1,20}$/.test(text)) {
    throw new DfsError('EINVAL', `bad chunk id '${String(raw).slice(0, 40)}' (expected a decimal uint64)`);
  }
  const id = BigInt(text);
  if (id === 0n || id > MAX_U64) throw new DfsError('EINVAL', `bad chunk id '${text}' (out of range)`);
  return id.toString();
}

/** Directory of a chunk's files: DATA_DIR/chunks/<id % 256 as 2 hex>, spreading chunks over 256 dirs. */
export function chunkSubdir(chunksDir: string, id: string): string {
  return path.join(chunksDir, (BigInt(id) % 256n).toString(16).padStart(2, '0'));
}

export interface ChunkPaths {
  dir: string;
  data: string;
  meta: string;
  metaTmp: string;
  /** A small chunk written whole at once: its meta, then its data, in one file (chunk-store.ts). */
  packed: string;
}

export function chunkPaths(chunksDir: string, id: string): ChunkPaths {
  const dir = chunkSubdir(chunksDir, id);
  return {
    dir,
    data: path.join(dir, `${id}.data`),
    meta: path.join(dir, `${id}.meta`),
    metaTmp: path.join(dir, `${id}.meta.tmp`),
    packed: path.join(dir, `${id}.chunk`),
  };
}

/** Parses a version from the wire (uint64 string); versions stay well inside 2^53. */
export function parseVersion(raw: string | number, what = 'version'): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new DfsError('EINVAL', `bad ${what} '${raw}'`);
  return n;
}
