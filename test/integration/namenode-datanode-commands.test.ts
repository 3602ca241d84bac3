import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS, unary } from '../../src/rpc/call';
import type { Attr__Output } from '../../src/rpc/gen/dfs/Attr';
import type { ChunkInfo__Output } from '../../src/rpc/gen/dfs/ChunkInfo';
import type { ClusterStatusReply__Output } from '../../src/rpc/gen/dfs/ClusterStatusReply';
import type { FsckReply__Output } from '../../src/rpc/gen/dfs/FsckReply';
import type { GetChunksReply__Output } from '../../src/rpc/gen/dfs/GetChunksReply';
import type { NameNodeClient } from '../../src/rpc/gen/dfs/NameNode';
import type { StatFsReply__Output } from '../../src/rpc/gen/dfs/StatFsReply';
import { dataNodeService, nameNodeService } from '../../src/rpc/load';
import { freePort, NameNodeProc, tempDir, waitFor } from '../helpers/cluster';

/**
 * The real name node process, with data nodes played by gRPC servers in this
 * test that record the commands the name node sends them (DeleteChunks,
 * TruncateChunk) and heartbeat like real ones.
 */
const caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: [], requestId: 'cmd' };
const S_IFREG = 0o100000;
const CHUNK = 1024 * 1024;

interface RecordingDataNode {
  id: string;
  address: string;
  deleted: string[];
  truncated: { chunkId: string; version: string; newVersion: string; size: string }[];
  failTruncate: boolean;
  server: grpc.Server;
}

let root: string;
let nn: NameNodeProc;
let client: NameNodeClient;
const dns: RecordingDataNode[] = [];
let heartbeats: NodeJS.Timeout | undefined;

function call<Res>(method: keyof NameNodeClient, req: object): Promise<Res> {
  const fn = client[method] as unknown as Parameters<typeof unary<object, Res>>[1];
  return unary<object, Res>(client, fn, req, { deadlineMs: 10_000 });
}

async function startDataNode(id: string): Promise<RecordingDataNode> {
  const dn: RecordingDataNode = {
    id,
    address: '',
    deleted: [],
    truncated: [],
    failTruncate: false,
    server: new grpc.Server(),
  };
  const unimplemented = (_: unknown, cb: (e: Partial<grpc.ServiceError>) => void) =>
    cb({ code: grpc.status.UNIMPLEMENTED });
  dn.server.addService(dataNodeService().DataNode.service, {
    DeleteChunks: (c: grpc.ServerUnaryCall<{ chunkIds: string[] }, object>, cb: grpc.sendUnaryData<object>) => {
      dn.deleted.push(...c.request.chunkIds);
      cb(null, { deleted: c.request.chunkIds.length });
    },
    TruncateChunk: (
      c: grpc.ServerUnaryCall<RecordingDataNode['truncated'][number], object>,
      cb: grpc.sendUnaryData<object>,
    ) => {
      if (dn.failTruncate) return cb({ code: grpc.status.INTERNAL, details: 'disk on fire' });
      dn.truncated.push({ ...c.request });
      cb(null, { chunkId: c.request.chunkId, version: c.request.newVersion, size: c.request.size, exists: true });
    },
    WriteChunk: unimplemented,
    ReadChunk: unimplemented,
    ReplicateChunk: unimplemented,
    StatChunk: unimplemented,
  });
  const port = await new Promise<number>((resolve, reject) =>
    dn.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  dn.address = `127.0.0.1:${port}`;
  return dn;
}

const register = (dn: RecordingDataNode, chunks: object[] = []) =>
  call('Register', { id: dn.id, address: dn.address, capacity: 100 * CHUNK, used: 0, labels: ['rack1'], chunks });

/** A file with one chunk of `size` bytes on the first two data nodes. */
async function fileWithChunk(name: string, size: number): Promise<{ ino: string; chunk: ChunkInfo__Output }> {
  const f = await call<Attr__Output>('MakeNode', { caller, parent: 1, name, mode: S_IFREG | 0o644 });
  const chunk = await call<ChunkInfo__Output>('PrepareWrite', { caller, ino: f.ino, index: 0, excludeNodes: ['dn3'] });
  const replicas = chunk.replicas.map((r) => r.id);
  await call('CommitWrite', {
    caller,
    ino: f.ino,
    chunks: [{ index: 0, chunkId: chunk.chunkId, version: chunk.version, size, replicas }],
    minSize: size,
    mtimeMs: 0,
  });
  return { ino: f.ino, chunk };
}

beforeAll(async () => {
  root = tempDir('nn-commands');
  nn = new NameNodeProc(await freePort(), await freePort(), path.join(root, 'nn'), {
    replication: 2,
    nodeTimeout: '2s',
    chunkSize: '1MiB',
  });
  await nn.start();
  client = new (nameNodeService().NameNode)(nn.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  for (const id of ['dn1', 'dn2', 'dn3']) dns.push(await startDataNode(id));
  for (const dn of dns) await register(dn);
  heartbeats = setInterval(() => {
    for (const dn of dns) {
      client.Heartbeat({ id: dn.id, used: 0, capacity: 100 * CHUNK, activeStreams: 0 }, () => undefined);
    }
  }, 300);
});

afterAll(async () => {
  clearInterval(heartbeats);
  client?.close();
  for (const dn of dns) dn.server.forceShutdown();
  await nn?.proc?.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

describe('name node commands to data nodes', () => {
  it('places a new chunk on `replication` distinct live nodes, honouring exclusions', async () => {
    const { chunk } = await fileWithChunk('placed', 10);
    const ids = chunk.replicas.map((r) => r.id);
    expect(new Set(ids).size).toBe(2);
    expect(ids).not.toContain('dn3');
    expect(chunk.version).toBe('1');
  });

  it('deletes the chunks of a file on its replicas once its last link is removed', async () => {
    const { chunk } = await fileWithChunk('doomed', 100);
    await call('Unlink', { caller, parent: 1, name: 'doomed' });
    for (const r of chunk.replicas) {
      const dn = dns.find((d) => d.id === r.id)!;
      await waitFor(`DeleteChunks(${chunk.chunkId}) on ${dn.id}`, () => dn.deleted.includes(chunk.chunkId), 10_000);
    }
  });

  it('truncate cuts the boundary chunk on every replica with a new version and drops chunks past the end', async () => {
    const f = await call<Attr__Output>('MakeNode', { caller, parent: 1, name: 'trunc', mode: S_IFREG | 0o644 });
    const chunks: ChunkInfo__Output[] = [];
    for (const index of [0, 1]) {
      const c = await call<ChunkInfo__Output>('PrepareWrite', { caller, ino: f.ino, index, excludeNodes: ['dn3'] });
      chunks.push(c);
      await call('CommitWrite', {
        caller,
        ino: f.ino,
        chunks: [{ index, chunkId: c.chunkId, version: c.version, size: CHUNK, replicas: c.replicas.map((r) => r.id) }],
        minSize: (index + 1) * CHUNK,
        mtimeMs: 0,
      });
    }
    const attr = await call<Attr__Output>('SetAttr', { caller, ino: f.ino, size: 1000 });
    expect(attr.size).toBe('1000');
    for (const r of chunks[0].replicas) {
      const dn = dns.find((d) => d.id === r.id)!;
      expect(dn.truncated).toContainEqual(
        expect.objectContaining({ chunkId: chunks[0].chunkId, version: '1', newVersion: '2', size: '1000' }),
      );
      await waitFor(`chunk past the end deleted on ${dn.id}`, () => dn.deleted.includes(chunks[1].chunkId), 10_000);
    }
    const got = await call<GetChunksReply__Output>('GetChunks', { caller, ino: f.ino, firstIndex: 0, count: 0 });
    expect(got.chunks.map((c) => [c.chunkId, c.version, c.size])).toEqual([[chunks[0].chunkId, '2', '1000']]);
  });

  it('drops a replica that fails TruncateChunk and deletes it there', async () => {
    const { ino, chunk } = await fileWithChunk('trunc-fail', 5000);
    const bad = dns.find((d) => d.id === chunk.replicas[1].id)!;
    bad.failTruncate = true;
    try {
      await call('SetAttr', { caller, ino, size: 10 });
    } finally {
      bad.failTruncate = false;
    }
    const got = await call<GetChunksReply__Output>('GetChunks', { caller, ino, firstIndex: 0, count: 1 });
    expect(got.chunks[0].replicas.map((r) => r.id)).toEqual([chunk.replicas[0].id]);
    await waitFor('failed replica deleted', () => bad.deleted.includes(chunk.chunkId), 10_000);
    const fsck = await call<FsckReply__Output>('Fsck', { caller, path: '/trunc-fail' });
    expect(fsck.problems).toMatchObject([{ path: '/trunc-fail', chunkId: chunk.chunkId, problem: 'under-replicated' }]);
    expect(fsck.healthy).toBe(false);
  });

  it('a report with an unknown chunk or a stale version gets those replicas deleted on the node', async () => {
    const { chunk } = await fileWithChunk('reported', 10);
    const dn3 = dns[2];
    await register(dn3, [
      { chunkId: '999999', version: 1, size: 10 },
      { chunkId: chunk.chunkId, version: 0, size: 10 },
    ]);
    await waitFor(
      'unknown and stale replicas deleted',
      () => dn3.deleted.includes('999999') && dn3.deleted.includes(chunk.chunkId),
      10_000,
    );
  });

  it('a bad replica report drops that replica (keeping the last one) and deletes it on its node', async () => {
    const { ino, chunk } = await fileWithChunk('corrupt', 10);
    const [good, bad] = chunk.replicas.map((r) => dns.find((d) => d.id === r.id)!);
    await call('ReportBadReplica', {
      caller,
      chunkId: chunk.chunkId,
      version: chunk.version,
      nodeId: bad.id,
      reason: 'crc',
    });
    await waitFor('bad replica deleted', () => bad.deleted.includes(chunk.chunkId), 10_000);
    await call('ReportBadReplica', {
      caller,
      chunkId: chunk.chunkId,
      version: chunk.version,
      nodeId: good.id,
      reason: 'crc',
    });
    const got = await call<GetChunksReply__Output>('GetChunks', { caller, ino, firstIndex: 0, count: 1 });
    expect(got.chunks[0].replicas.map((r) => r.id)).toEqual([good.id]);
  });

  it('reports capacity and cluster health from the live nodes, and a silent node turns dead', async () => {
    const fs1 = await call<StatFsReply__Output>('StatFs', {});
    expect(fs1.capacity).toBe(String(3 * 100 * CHUNK));
    expect(fs1.chunkSize).toBe(String(CHUNK));
    const extra = await startDataNode('silent');
    try {
      await register(extra);
      let status = await call<ClusterStatusReply__Output>('ClusterStatus', {});
      expect(status.nodes.find((n) => n.id === 'silent')).toMatchObject({ live: true, labels: ['rack1'] });
      await new Promise((r) => setTimeout(r, 2_500));
      status = await call<ClusterStatusReply__Output>('ClusterStatus', {});
      expect(status.nodes.find((n) => n.id === 'silent')).toMatchObject({ live: false, state: 'dead' });
      expect(status.nodes.filter((n) => n.live)).toHaveLength(3);
      expect(status.underReplicated).toBe('2'); // 'trunc-fail' and 'corrupt' above
      expect(status.missing).toBe('0');
    } finally {
      extra.server.forceShutdown();
    }
  });

  it('refuses PrepareWrite with ENOSPC when no node may take the chunk', async () => {
    const f = await call<Attr__Output>('MakeNode', { caller, parent: 1, name: 'nowhere', mode: S_IFREG | 0o644 });
    await expect(
      call('PrepareWrite', { caller, ino: f.ino, index: 0, excludeNodes: ['dn1', 'dn2', 'dn3'] }),
    ).rejects.toMatchObject({ errno: 'ENOSPC' });
  });
});
