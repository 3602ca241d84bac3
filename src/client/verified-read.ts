import { firstBadBlock } from '../rpc/checksum';
import type { ReadChunkRequest } from '../rpc/gen/dfs/ReadChunkRequest';
import type { DataNodePool } from './data-nodes';

/** One message of a ranged chunk read, checked against the CRCs it came with. */
export interface VerifiedPiece {
  /** Chunk offset of `data` (block aligned). */
  offset: number;
  data: Buffer;
  /** Index of the first block in `data` whose CRC32C does not match, or -1. */
  badBlock: number;
}

/**
 * Reads a chunk range from one data node and checks every block. What to do
 * about a bad block (report the replica, try another) is the reader's call;
 * this only moves and checks bytes, so it can run on any thread.
 */
export async function readVerified(
  pool: Pick<DataNodePool, 'readChunk'>,
  address: string,
  request: ReadChunkRequest,
  deadlineMs: number,
): Promise<VerifiedPiece[]> {
  const messages = await pool.readChunk(address, request, deadlineMs);
  return messages.map((m) => ({ offset: Number(m.offset), data: m.data, badBlock: firstBadBlock(m.data, m.crcs) }));
}
