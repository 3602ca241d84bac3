import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS, unary } from '../../src/rpc/call';
import { DfsError } from '../../src/rpc/errors';
import type { Attr__Output } from '../../src/rpc/gen/dfs/Attr';
import type { ChunkInfo__Output } from '../../src/rpc/gen/dfs/ChunkInfo';
import type { GetChunksReply__Output } from '../../src/rpc/gen/dfs/GetChunksReply';
import type { HeartbeatReply__Output } from '../../src/rpc/gen/dfs/HeartbeatReply';
import type { NameNodeClient } from '../../src/rpc/gen/dfs/NameNode';
import type { ReadDirReply__Output } from '../../src/rpc/gen/dfs/ReadDirReply';
import { nameNodeService } from '../../src/rpc/load';
import { freePort, NameNodeProc, startProcess, tempDir } from '../helpers/cluster';

const caller = { uid: 1000, gid: 1000, groups: [], requestId: 'test' };
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

let root: string;
let nn: NameNodeProc;
let client: NameNodeClient;

function connect(address: string): NameNodeClient {
  const Ctor = nameNodeService().NameNode;
  return new Ctor(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}

/** A typed unary call on the name node (the generated client methods are overloaded, so name the types here). */
function call<Res>(c: NameNodeClient, method: keyof NameNodeClient, req: object, deadlineMs = 5_000): Promise<Res> {
  const fn = c[method] as unknown as Parameters<typeof unary<object, Res>>[1];
  return unary<object, Res>(c, fn, req, { deadlineMs });
}

async function startNameNode(dataDir: string, port?: number, httpPort?: number): Promise<NameNodeProc> {
  // The test runs as whatever user; make it own '/' so uid 1000 can create there.
  const proc = new NameNodeProc(port ?? (await freePort()), httpPort ?? (await freePort()), dataDir, {
    replication: 2,
    nodeTimeout: '2s',
  });
  await proc.start();
  return proc;
}

beforeAll(async () => {
  root = tempDir('nn-durability');
  nn = await startNameNode(path.join(root, 'nn'));
  client = connect(nn.address);
  // Open '/' to the test caller (root's owner is the user running the name node).
  const owner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: [] };
  await call(client, 'SetAttr', { caller: owner, ino: 1, mode: 0o777 });
});

afterAll(async () => {
  client?.close();
  await nn?.proc?.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

describe('name node durability', () => {
  it('keeps every acknowledged mutation after it is killed with SIGKILL mid-load', async () => {
    const acked: { path: string; mode: number; dir: boolean }[] = [];
    const renamed: { from: string; to: string }[] = [];
    let stop = false;
    const workers = Array.from({ length: 8 }, async (_, w) => {
      const c = connect(nn.address);
      try {
        const dir = await call<Attr__Output>(c, 'MakeNode', {
          caller,
          parent: 1,
          name: `w${w}`,
          mode: S_IFDIR | 0o755,
        });
        acked.push({ path: `/w${w}`, mode: S_IFDIR | 0o755, dir: true });
        for (let i = 0; !stop; i++) {
          const f = await call<Attr__Output>(c, 'MakeNode', {
            caller,
            parent: dir.ino,
            name: `f${i}`,
            mode: S_IFREG | 0o644,
            exclusive: true,
          });
          await call(c, 'SetAttr', { caller, ino: f.ino, mode: 0o600 });
          if (i % 5 === 4) {
            await call(c, 'Rename', { caller, parent: dir.ino, name: `f${i}`, newParent: dir.ino, newName: `r${i}` });
            renamed.push({ from: `/w${w}/f${i}`, to: `/w${w}/r${i}` });
            acked.push({ path: `/w${w}/r${i}`, mode: S_IFREG | 0o600, dir: false });
          } else {
            acked.push({ path: `/w${w}/f${i}`, mode: S_IFREG | 0o600, dir: false });
          }
        }
      } catch (err) {
        if (!(err instanceof DfsError) || !['EIO', 'ETIMEDOUT'].includes(err.errno)) throw err;
      } finally {
        c.close();
      }
    });
    // Let the load run, then kill the name node while calls are in flight.
    await new Promise((r) => setTimeout(r, 1_500));
    await nn.proc.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    expect(acked.length).toBeGreaterThan(50);

    nn = await startNameNode(nn.dataDir, nn.port, nn.httpPort);
    client.close();
    client = connect(nn.address);
    for (const a of acked) {
      const attr = await call<Attr__Output>(client, 'ResolvePath', { caller, path: a.path, followSymlinks: true });
      expect(attr.mode, a.path).toBe(a.mode);
    }
    for (const r of renamed) {
      await expect(call(client, 'ResolvePath', { caller, path: r.from, followSymlinks: true })).rejects.toMatchObject({
        errno: 'ENOENT',
      });
    }
  });

  it('keeps chunk metadata across a restart and learns replica locations again from the data nodes’ reports', async () => {
    const nodes = ['fake1', 'fake2'];
    const register = (chunks: object[]) =>
      Promise.all(
        nodes.map((id, i) =>
          call(client, 'Register', {
            id,
            address: `127.0.0.1:${1 + i}`,
            capacity: 10 * 1024 ** 3,
            used: 0,
            labels: [],
            chunks,
          }),
        ),
      );
    await register([]);
    const f = await call<Attr__Output>(client, 'MakeNode', { caller, parent: 1, name: 'data', mode: S_IFREG | 0o644 });
    const chunk = await call<ChunkInfo__Output>(client, 'PrepareWrite', { caller, ino: f.ino, index: 0 });
    expect(chunk.replicas.map((r) => r.id).sort()).toEqual(nodes);
    await call(client, 'CommitWrite', {
      caller,
      ino: f.ino,
      chunks: [{ index: 0, chunkId: chunk.chunkId, version: chunk.version, size: 4096, replicas: nodes }],
      minSize: 4096,
      mtimeMs: 0,
    });

    await nn.proc.kill('SIGKILL');
    nn = await startNameNode(nn.dataDir, nn.port, nn.httpPort);
    client.close();
    client = connect(nn.address);

    const hb = await call<HeartbeatReply__Output>(client, 'Heartbeat', {
      id: 'fake1',
      used: 0,
      capacity: 1,
      activeStreams: 0,
    });
    expect(hb.reregister).toBe(true);
    await register([{ chunkId: chunk.chunkId, version: chunk.version, size: 4096 }]);
    const got = await call<GetChunksReply__Output>(client, 'GetChunks', {
      caller,
      ino: f.ino,
      firstIndex: 0,
      count: 0,
    });
    expect(got.attr?.size).toBe('4096');
    expect(got.chunks).toHaveLength(1);
    expect(got.chunks[0]).toMatchObject({ chunkId: chunk.chunkId, version: chunk.version, size: '4096' });
    expect(got.chunks[0].replicas.map((r) => r.id).sort()).toEqual(nodes);
  });

  it('refuses a second live data node that registers with an id already in use', async () => {
    const reg = (address: string) =>
      call(client, 'Register', { id: 'twin', address, capacity: 1024 ** 3, used: 0, labels: [], chunks: [] });
    await reg('127.0.0.1:7001');
    await expect(reg('127.0.0.1:7002')).rejects.toMatchObject({ errno: 'EEXIST' });
    await expect(reg('127.0.0.1:7002')).rejects.toThrow(/already in use by a live node at 127\.0\.0\.1:7001/);
    await reg('127.0.0.1:7001'); // the same node restarting is welcome
  });

  it('answers /healthz, and a clean SIGTERM checkpoints and exits 0 with the namespace intact', async () => {
    const body = await new Promise<string>((resolve, reject) =>
      http
        .get(`http://127.0.0.1:${nn.httpPort}/healthz`, (res) => {
          let s = '';
          res.on('data', (d: Buffer) => (s += d.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${s.trim()}`));
        })
        .on('error', reject),
    );
    expect(body).toBe('200 ok');
    await call(client, 'MakeNode', { caller, parent: 1, name: 'before-sigterm', mode: S_IFDIR | 0o700 });
    nn.proc.child.kill('SIGTERM');
    expect(await nn.proc.exited).toBe(0);
    const journalDir = path.join(nn.dataDir, 'journal');
    const sizes = fs.readdirSync(journalDir).map((f) => fs.statSync(path.join(journalDir, f)).size);
    expect(sizes).toEqual([0]); // everything is in the checkpoint
    nn = await startNameNode(nn.dataDir, nn.port, nn.httpPort);
    client.close();
    client = connect(nn.address);
    const page = await call<ReadDirReply__Output>(client, 'ReadDir', { caller, ino: 1, after: '', limit: 100 });
    expect(page.entries.map((e) => e.name)).toContain('before-sigterm');
  });
});

describe('name node start-up errors', () => {
  const procs: ReturnType<typeof startProcess>[] = [];
  afterEach(async () => {
    await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
  });

  async function runToExit(args: string[]): Promise<{ code: number | null; out: string }> {
    const p = startProcess('namenode', 'namenode/main.js', args);
    procs.push(p);
    const code = await Promise.race([p.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    return { code, out: p.log() };
  }

  it('refuses bad flag values with a one-line message', async () => {
    const dir = path.join(root, 'bad');
    for (const [flag, value, text] of [
      ['--replication', 'zero', /--replication must be an integer/],
      ['--chunk-size', '1000', /--chunk-size must be a multiple of 64KiB/],
      ['--node-timeout', 'soon', /--node-timeout: not a duration/],
    ] as const) {
      const { code, out } = await runToExit(['--data-dir', dir, '--port', '0', '--http-port', '0', flag, value]);
      expect(code).toBe(1);
      expect(out).toMatch(text);
      expect(out.trim().split('\n')).toHaveLength(1);
    }
  });

  it('says so when the port is already in use', async () => {
    const { code, out } = await runToExit([
      '--data-dir',
      path.join(root, 'busy'),
      '--port',
      String(nn.port),
      '--http-port',
      '0',
    ]);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`port ${nn.port} on 127.0.0.1 is already in use`));
  });

  it('refuses a data dir already used by a running name node', async () => {
    const { code, out } = await runToExit(['--data-dir', nn.dataDir, '--port', '0', '--http-port', '0']);
    expect(code).toBe(1);
    expect(out).toMatch(/is in use by another name node \(pid \d+\)/);
  });

  it('says so when the data dir is not writable', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    const { code, out } = await runToExit(['--data-dir', path.join(file, 'sub'), '--port', '0', '--http-port', '0']);
    expect(code).toBe(1);
    expect(out).toMatch(/data dir .* is not writable/);
  });
});
