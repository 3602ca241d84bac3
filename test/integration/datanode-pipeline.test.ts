import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataNodeProc, freePort, tempDir, waitFor } from '../helpers/cluster';
import type { DataNodeClient } from '../../src/rpc/gen/dfs/DataNode';
import type { ChunkStat__Output } from '../../src/rpc/gen/dfs/ChunkStat';
import { FakeRegistry, dataNodeClient, readChunk, unaryCall, writeChunk, writeChunkRanges } from './datanode-helpers';
import { DataNodePool } from '../../src/client/data-nodes';
import { dataNodeService } from '../../src/rpc/load';
import { SessionClient } from '../../src/rpc/session';
import { requestsServed } from '../helpers/rpc-requests';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('data node pipeline (real processes, raw gRPC)', () => {
  const root = tempDir('dn-pipeline');
  const registry = new FakeRegistry();
  const nodes: DataNodeProc[] = [];
  const clients: DataNodeClient[] = [];
  const httpPorts: number[] = [];
  const ref = (i: number) => ({ id: nodes[i].id, address: nodes[i].address });

  beforeAll(async () => {
    await registry.start();
    for (let i = 1; i <= 3; i++) {
      const httpPort = await freePort();
      const dn = new DataNodeProc(`dn${i}`, await freePort(), path.join(root, `dn${i}`), registry.address, {
        extraArgs: ['--scrub-rate', '0', '--http-port', String(httpPort)],
      });
      httpPorts.push(httpPort);
      await dn.start();
      nodes.push(dn);
      clients.push(dataNodeClient(dn.address));
    }
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(nodes.map((n) => n.proc.kill('SIGKILL')));
    registry.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('registers every node with its address and capacity, then heartbeats', async () => {
    await waitFor('3 registrations', () => new Set(registry.registers.map((r) => r.id)).size === 3);
    const r = registry.registers.find((x) => x.id === 'dn1')!;
    expect(r.address).toBe(nodes[0].address);
    expect(Number(r.capacity)).toBeGreaterThan(0);
    await waitFor('heartbeats', () => registry.heartbeats.some((h) => h.id === 'dn3'));
  });

  it('writes 64 MiB through a 3-node pipeline: every replica byte-identical, all listed in `written`', async () => {
    const data = randomBytes(64 * MiB);
    const reply = await writeChunk(
      clients[0],
      { chunkId: '101', version: '1', offset: '0', pipeline: [ref(1), ref(2)], create: true },
      data,
    );
    expect(reply.written).toEqual(['dn1', 'dn2', 'dn3']);
    expect(Number(reply.size)).toBe(data.length);
    for (const c of clients) expect(sha(await readChunk(c, '101', 1))).toBe(sha(data));
  });

  it('answers small reads as messages on one session, refuses commands there, streams large reads', async () => {
    const data = randomBytes(200_000);
    await writeChunk(clients[0], { chunkId: '120', version: '1', offset: '0', pipeline: [ref(1)], create: true }, data);
    const pool = new DataNodePool();
    const at = (node: number, offset: number, length: number, chunkId = '120') =>
      pool.readChunk(
        nodes[node].address,
        { chunkId, version: '1', offset: String(offset), length: String(length) },
        10_000,
      );
    try {
      // Whole 64 KiB blocks covering the range, in one message with their CRCs.
      const small = await at(1, 70_000, 100_000);
      expect(small).toHaveLength(1);
      expect(Number(small[0].offset)).toBe(65_536);
      expect(small[0].data.equals(data.subarray(65_536, 196_608))).toBe(true);
      expect(small[0].crcs).toHaveLength(2);
      // Reads in flight together share the session; each gets its own answer.
      const many = await Promise.all([0, 1, 2, 3].map((b) => at(0, b * 65_536 + 10, 4096)));
      many.forEach((m, b) => expect(m[0].data.equals(data.subarray(b * 65_536, (b + 1) * 65_536))).toBe(true));
      await expect(at(0, 0, 10, '99999')).rejects.toMatchObject({ errno: 'ENOENT' });
      // Larger reads are streams of ~1 MiB messages.
      const big = await at(0, 0, 2 * MiB, '101');
      expect(big.length).toBeGreaterThan(1);
      expect(Buffer.concat(big.map((m) => m.data)).length).toBe(2 * MiB);
      // The session answered (no fallback to streams was needed).
      expect((pool as unknown as { refused: Set<string> }).refused.size).toBe(0);
    } finally {
      pool.close();
    }
    const session = new SessionClient(() => clients[0].Session(), dataNodeService().DataNode.service, 'dn1');
    const opts = { deadlineMs: 5_000, requestId: 'session-test' };
    try {
      await expect(session.call('StatChunk', { chunkId: '120' }, opts)).rejects.toMatchObject({ errno: 'ENOSYS' });
      await expect(
        session.call('ReadSmall', { chunkId: '120', version: '1', offset: '0', length: String(300 * 1024) }, opts),
      ).rejects.toMatchObject({ errno: 'EINVAL' });
    } finally {
      session.close();
    }
  });

  it('writes small data as one message per hop on sessions, with the same replies and failures as a stream', async () => {
    const pool = new DataNodePool();
    const parts = (b: Buffer) => [{ parts: [b.subarray(0, 1000), b.subarray(1000)], length: b.length }];
    const header = (chunkId: string, version: string, offset: number, pipeline: { id: string; address: string }[]) => ({
      chunkId,
      version,
      offset: String(offset),
      pipeline,
      create: true,
      requestId: 'small-write',
    });
    const requests = () => Promise.all(httpPorts.map((p) => requestsServed(p, 'DataNode')));
    try {
      const before = await requests();
      const data = randomBytes(100_000);
      const reply = await pool.writeChunk(nodes[0].address, header('121', '1', 0, [ref(1)]), parts(data), 10_000);
      expect(reply.written).toEqual(['dn1', 'dn2']);
      expect(Number(reply.size)).toBe(100_000);
      // A second small write at an offset (an append), synced, on the same sessions.
      const more = randomBytes(5_000);
      const r2 = await pool.writeChunk(
        nodes[0].address,
        { ...header('121', '2', 100_000, [ref(1)]), sync: true },
        parts(more),
        10_000,
      );
      expect(r2.written).toEqual(['dn1', 'dn2']);
      const expected = Buffer.concat([data, more]);
      for (const c of [clients[0], clients[1]]) expect(sha(await readChunk(c, '121', 2))).toBe(sha(expected));
      const after = await requests();
      const delta = (i: number, method: string) => (after[i].get(method) ?? 0) - (before[i].get(method) ?? 0);
      expect([delta(0, 'WriteSmall'), delta(1, 'WriteSmall')]).toEqual([2, 2]);
      expect([delta(0, 'WriteChunk'), delta(1, 'WriteChunk')]).toEqual([0, 0]);
      // More than fits one message goes as a stream.
      await pool.writeChunk(nodes[0].address, header('122', '1', 0, []), parts(randomBytes(300 * 1024)), 10_000);
      expect((await requests())[0].get('WriteChunk') ?? 0).toBe((after[0].get('WriteChunk') ?? 0) + 1);
      // A dead node further down is named, as WriteChunk names it.
      const dead = { id: 'dn-dead', address: `127.0.0.1:${await freePort()}` };
      const err = await pool
        .writeChunk(nodes[0].address, header('123', '1', 0, [ref(1), dead]), parts(randomBytes(10)), 10_000)
        .catch((e: Error) => e);
      expect((err as Error).message).toMatch(/^EIO: pipeline node dn-dead \(127\.0\.0\.1:\d+\)/);
      // So is a local failure (a stale version), with its errno.
      const stale = await pool
        .writeChunk(nodes[0].address, { ...header('121', '1', 0, []), create: false }, parts(randomBytes(10)), 10_000)
        .catch((e: Error) => e);
      expect(stale).toMatchObject({ errno: 'ESTALE' });
      expect((stale as Error).message).toContain('pipeline node dn1');
    } finally {
      pool.close();
    }
  });

  it('writes through a 2-node pipeline and overwrites a range in place on both replicas', async () => {
    const data = randomBytes(8 * MiB + 777);
    const reply = await writeChunk(
      clients[1],
      { chunkId: '102', version: '1', offset: '0', pipeline: [ref(0)], create: true },
      data,
    );
    expect(reply.written).toEqual(['dn2', 'dn1']);
    const patch = randomBytes(3 * MiB);
    const r2 = await writeChunk(
      clients[1],
      { chunkId: '102', version: '2', offset: String(MiB + 5), pipeline: [ref(0)] },
      patch,
    );
    expect(r2.written).toEqual(['dn2', 'dn1']);
    patch.copy(data, MiB + 5);
    expect(sha(await readChunk(clients[0], '102', 2))).toBe(sha(data));
    expect(sha(await readChunk(clients[1], '102', 2))).toBe(sha(data));
    expect(sha(await readChunk(clients[2], '101', 1)).length).toBe(64); // untouched chunk still readable
  });

  it('writes several ranges named by offset in one stream, in any order, identically on both replicas', async () => {
    const ranges = [
      { offset: 200_000, data: randomBytes(100) },
      { offset: 5_000, data: randomBytes(3_000) },
      { offset: 60_000, data: randomBytes(70_000) }, // spans checksum blocks 0-1-2
      { offset: 6_000, data: randomBytes(10) }, // overwrites part of an earlier range in the same stream
    ];
    const reply = await writeChunkRanges(
      clients[1],
      { chunkId: '109', version: '1', offset: '0', pipeline: [ref(0)], create: true },
      ranges,
    );
    expect(reply.written).toEqual(['dn2', 'dn1']);
    const expected = Buffer.alloc(200_100);
    for (const r of ranges) r.data.copy(expected, r.offset);
    expect(sha(await readChunk(clients[0], '109', 1))).toBe(sha(expected));
    expect(sha(await readChunk(clients[1], '109', 1))).toBe(sha(expected));
  });

  it('fails a write whose last pipeline node is dead with an error naming that node', async () => {
    const deadPort = await freePort();
    const dead = { id: 'dn-dead', address: `127.0.0.1:${deadPort}` };
    const err = await writeChunk(
      clients[0],
      { chunkId: '103', version: '1', offset: '0', pipeline: [ref(1), dead], create: true },
      randomBytes(4 * MiB),
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^EIO: pipeline node dn-dead \(127\.0\.0\.1:\d+\)/);
  });

  it('refuses a stale version (ESTALE) and a write to a missing chunk without create (ENOENT)', async () => {
    const stale = writeChunk(clients[0], { chunkId: '102', version: '1', offset: '0' }, randomBytes(10));
    await expect(stale).rejects.toThrow(/ESTALE.*dn1/);
    const missing = writeChunk(clients[0], { chunkId: '555', version: '1', offset: '0' }, randomBytes(10));
    await expect(missing).rejects.toThrow(/ENOENT/);
    const badId = writeChunk(clients[0], { chunkId: '0', version: '1', offset: '0', create: true }, randomBytes(10));
    await expect(badId).rejects.toThrow(/EINVAL/);
  });

  it('copies a chunk to another node with ReplicateChunk', async () => {
    const data = randomBytes(5 * MiB + 3);
    await writeChunk(clients[0], { chunkId: '104', version: '3', offset: '0', create: true }, data);
    const reply = await unaryCall<{ size: string }>((cb) =>
      clients[0].replicateChunk({ chunkId: '104', version: '4', target: ref(2) }, cb),
    );
    expect(Number(reply.size)).toBe(data.length);
    const stat = await unaryCall<ChunkStat__Output>((cb) => clients[2].statChunk({ chunkId: '104' }, cb));
    expect(stat).toMatchObject({ exists: true, version: '4', size: String(data.length) });
    expect(sha(await readChunk(clients[2], '104', 4))).toBe(sha(data));
  });

  it('truncates, stats and deletes chunks', async () => {
    const t = await unaryCall<ChunkStat__Output>((cb) =>
      clients[2].truncateChunk({ chunkId: '104', version: '4', newVersion: '5', size: '1000' }, cb),
    );
    expect(t).toMatchObject({ version: '5', size: '1000', exists: true });
    const del = await unaryCall<{ deleted: number }>((cb) => clients[2].deleteChunks({ chunkIds: ['104', '999'] }, cb));
    expect(del.deleted).toBe(1);
    const stat = await unaryCall<ChunkStat__Output>((cb) => clients[2].statChunk({ chunkId: '104' }, cb));
    expect(stat.exists).toBe(false);
    await expect(unaryCall((cb) => clients[2].statChunk({ chunkId: '../etc' }, cb))).rejects.toThrow(/EINVAL/);
  });

  it('keeps a sync write intact after kill -9 and restart, and reports it on re-registration', async () => {
    const data = randomBytes(6 * MiB);
    const reply = await writeChunk(
      clients[0],
      { chunkId: '105', version: '1', offset: '0', pipeline: [ref(1)], create: true, sync: true },
      data,
    );
    expect(reply.written).toEqual(['dn1', 'dn2']);
    const registersBefore = registry.registers.length;
    await nodes[1].proc.kill('SIGKILL');
    await nodes[1].start();
    expect(sha(await readChunk(clients[1], '105', 1))).toBe(sha(data));
    const again = await waitFor('re-registration', () =>
      registry.registers.slice(registersBefore).find((r) => r.id === 'dn2'),
    );
    expect(again.chunks.map((c) => c.chunkId)).toEqual(expect.arrayContaining(['101', '102', '105']));
  });
  it('fails a write whose downstream node dies mid-stream with an error naming it, and frees the chunk', async () => {
    const data = randomBytes(64 * MiB);
    const write = writeChunk(
      clients[0],
      { chunkId: '106', version: '1', offset: '0', pipeline: [ref(1), ref(2)], create: true },
      data,
    ).catch((e: Error) => e);
    await waitFor('dn3 receiving', async () => {
      const s = await unaryCall<ChunkStat__Output>((cb) => clients[2].statChunk({ chunkId: '106' }, cb));
      return s.exists;
    });
    await nodes[2].proc.kill('SIGKILL');
    const err = await write;
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/pipeline node dn3 \(127\.0\.0\.1:\d+\)/);
    // The survivors released the chunk: a repair write at a new version goes through.
    const repaired = await writeChunk(
      clients[0],
      { chunkId: '106', version: '2', offset: '0', pipeline: [ref(1)], create: true },
      data,
    );
    expect(repaired.written).toEqual(['dn1', 'dn2']);
    expect(sha(await readChunk(clients[1], '106', 2))).toBe(sha(data));
  });
});
