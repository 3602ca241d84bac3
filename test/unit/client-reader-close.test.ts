import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChunkLocation } from '../../src/client/attrs';
import type { DataNodePool } from '../../src/client/data-nodes';
import type { MetadataClient } from '../../src/client/metadata';
import { FileReader, READ_UNIT_BYTES } from '../../src/client/reader';
import type { VerifiedPiece } from '../../src/client/verified-read';
import type { ReadChunkRequest } from '../../src/rpc/gen/dfs/ReadChunkRequest';
import { DfsError } from '../../src/rpc/errors';

const MiB = 1024 * 1024;
const CHUNK = 64 * MiB;

/** A data node pool that answers reads of the first unit at once and holds every other read until told. */
function holdingPool() {
  const calls: { address: string; offset: number }[] = [];
  const held: Array<(err: Error) => void> = [];
  const pool = {
    readVerified(address: string, req: ReadChunkRequest): Promise<VerifiedPiece[]> {
      const offset = Number(req.offset);
      calls.push({ address, offset });
      if (offset < READ_UNIT_BYTES) {
        return Promise.resolve([{ offset, data: Buffer.alloc(Number(req.length), 1), badBlock: -1 }]);
      }
      return new Promise((_resolve, reject) => held.push(reject));
    },
  };
  return { pool: pool as unknown as DataNodePool, calls, held };
}

describe('client reader: closing a handle', () => {
  it('ends its read-ahead quietly: no other replica tried, no retry, no warning', async () => {
    const logs: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    const meta = { reportBadReplica: () => undefined } as unknown as MetadataClient;
    const { pool, calls, held } = holdingPool();
    const reader = new FileReader(meta, pool, 7, { uid: 0, gid: 0 }, CHUNK, 16 * MiB, 5_000, 5_000, log);
    const chunk: ChunkLocation = {
      index: 0,
      chunkId: '11',
      version: 1,
      size: CHUNK,
      replicas: [
        { id: 'dn1', address: 'a1' },
        { id: 'dn2', address: 'a2' },
      ],
      token: '',
    };
    reader.seedLocations([chunk]);

    // Two reads in a row: a sequential stream, so units further on are prefetched (and held).
    await reader.read(0, 128 * 1024, CHUNK);
    await reader.read(128 * 1024, 128 * 1024, CHUNK);
    await new Promise((r) => setTimeout(r, 20));
    const prefetches = calls.filter((c) => c.offset >= READ_UNIT_BYTES).length;
    expect(prefetches).toBeGreaterThan(0);

    reader.close();
    // The client's channels close too: every read under way fails.
    for (const reject of held.splice(0)) reject(new DfsError('EIO', 'data node unreachable (Channel closed)'));
    await new Promise((r) => setTimeout(r, 200));

    expect(calls.filter((c) => c.offset >= READ_UNIT_BYTES)).toHaveLength(prefetches);
    expect(logs.filter((l) => l.includes('replica read failed'))).toEqual([]);
  });
});
