import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { DfsClient } from '../../src/client';
import { CHANNEL_OPTIONS, unary } from '../../src/rpc/call';
import type { BalanceStatus__Output } from '../../src/rpc/gen/dfs/BalanceStatus';
import type { ClusterStatusReply__Output } from '../../src/rpc/gen/dfs/ClusterStatusReply';
import type { FsckReply__Output } from '../../src/rpc/gen/dfs/FsckReply';
import type { NameNodeClient } from '../../src/rpc/gen/dfs/NameNode';
import { nameNodeService } from '../../src/rpc/load';
import { DIST } from '../helpers/cluster';

/** Shared by the self-healing tests (healing*.test.ts): file I/O, name node queries, chunk files on disk. */

export const MiB = 1024 * 1024;
export const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function writeFile(client: DfsClient, p: string, data: Buffer): Promise<void> {
  const h = await client.open(p, { flags: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC }, me);
  for (let at = 0; at < data.length; at += MiB) await h.write(at, data.subarray(at, Math.min(at + MiB, data.length)));
  await h.close();
}

export async function readFile(client: DfsClient, p: string): Promise<Buffer> {
  const h = await client.open(p, { flags: constants.O_RDONLY }, me);
  const parts: Buffer[] = [];
  for (let at = 0; at < h.size; at += MiB) parts.push(await h.read(at, MiB));
  await h.close();
  return Buffer.concat(parts);
}

/** A raw name node stub for what the client library does not expose (balance, status details). */
export class NameNodeAdmin {
  readonly stub: NameNodeClient;
  constructor(address: string) {
    this.stub = new (nameNodeService().NameNode)(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }
  status(): Promise<ClusterStatusReply__Output> {
    return unary(this.stub, this.stub.ClusterStatus as never, {}, { deadlineMs: 5_000 });
  }
  fsck(p = '/'): Promise<FsckReply__Output> {
    return unary(this.stub, this.stub.Fsck as never, { caller: me, path: p }, { deadlineMs: 5_000 });
  }
  balance(start: boolean, band = 0): Promise<BalanceStatus__Output> {
    return unary(this.stub, this.stub.Balance as never, { start, band }, { deadlineMs: 5_000 });
  }
  /** Every chunk with data fully replicated, none missing or corrupt, nothing queued. */
  async healthy(): Promise<boolean> {
    const [s, f] = await Promise.all([this.status(), this.fsck()]);
    return (
      f.healthy && Number(s.underReplicated) === 0 && Number(s.missing) === 0 && Number(s.corrupt) === 0 && !s.safeMode
    );
  }
  close(): void {
    this.stub.close();
  }
}

/** Chunk ids with a data file (`.data`, or a small chunk's packed `.chunk`) under a data node's data dir. */
export function chunkFilesOnDisk(dataDir: string): Set<string> {
  const out = new Set<string>();
  const root = path.join(dataDir, 'chunks');
  if (!fs.existsSync(root)) return out;
  for (const sub of fs.readdirSync(root)) {
    const dir = path.join(root, sub);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir)) {
      const m = /^(\d+)\.(data|chunk)$/.exec(f);
      if (m) out.add(m[1]);
    }
  }
  return out;
}

export function chunkDataPath(dataDir: string, chunkId: string): string {
  const sub = (BigInt(chunkId) % 256n).toString(16).padStart(2, '0');
  return path.join(dataDir, 'chunks', sub, `${chunkId}.data`);
}

/** Which chunk ids each node holds according to the name node (live replicas of every file). */
export async function replicasByNode(client: DfsClient, files: string[]): Promise<Map<string, Set<string>>> {
  const byNode = new Map<string, Set<string>>();
  for (const f of files) {
    const info = await client.fileInfo(f, me);
    for (const c of info.chunks) {
      for (const r of c.replicas) {
        if (!byNode.has(r.id)) byNode.set(r.id, new Set());
        byNode.get(r.id)!.add(c.chunkId);
      }
    }
  }
  return byNode;
}

/** Runs the `dfs` CLI; resolves with its exit status and output. */
export function runCli(
  namenode: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(DIST, 'cli/main.js'), '--namenode', namenode, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
