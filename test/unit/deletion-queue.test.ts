import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeletionQueue, GATHER_MS } from '../../src/namenode/deletion-queue';
import type { DataNodeClients } from '../../src/namenode/datanode-clients';
import type { DataNodeRegistry } from '../../src/namenode/registry';

const log = pino({ level: 'silent' });

/** Two data nodes, `dead` not live; records every DeleteChunks call by node address. */
function fakeCluster(dead = new Set<string>()) {
  const calls: { address: string; chunkIds: string[] }[] = [];
  const registry = {
    get: (id: string) => ({ id, address: `${id}:1` }),
    isLive: (id: string) => !dead.has(id),
  } as unknown as DataNodeRegistry;
  const clients = {
    get: (address: string) => ({
      DeleteChunks(
        req: { chunkIds: string[] },
        _md: unknown,
        _opts: unknown,
        cb: (err: null, r: { deleted: number }) => void,
      ) {
        calls.push({ address, chunkIds: [...req.chunkIds] });
        cb(null, { deleted: req.chunkIds.length });
      },
    }),
  } as unknown as DataNodeClients;
  return { calls, registry, clients };
}

describe('deletion queue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('gathers the deletions of files removed one after another into one call per node', async () => {
    const { calls, registry, clients } = fakeCluster();
    const q = new DeletionQueue(registry, clients, () => false, log);
    // rm -r: a file every few milliseconds, each chunk on two nodes.
    for (let i = 0; i < 20; i++) {
      q.enqueue('dn1', [`c${i}`]);
      q.enqueue('dn2', [`c${i}`]);
      await vi.advanceTimersByTimeAsync(4);
    }
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(GATHER_MS);
    expect(calls.map((c) => c.address).sort()).toEqual(['dn1:1', 'dn2:1']);
    for (const c of calls) expect(c.chunkIds).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
    expect(q.size).toBe(0);
  });

  it('keeps a dead node’s deletions and skips chunks that became wanted again', async () => {
    const { calls, registry, clients } = fakeCluster(new Set(['dn2']));
    const q = new DeletionQueue(registry, clients, (_node, id) => id === 'back', log);
    q.enqueue('dn1', ['gone', 'back']);
    q.enqueue('dn2', ['gone']);
    await vi.advanceTimersByTimeAsync(GATHER_MS + 10);
    expect(calls).toEqual([{ address: 'dn1:1', chunkIds: ['gone'] }]);
    expect(q.size).toBe(1);
  });
});
