import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerInterceptor } from '../../src/rpc/auth';
import { CHANNEL_OPTIONS } from '../../src/rpc/call';
import type { DataNodeClient } from '../../src/rpc/gen/dfs/DataNode';
import type { NameNodeClient } from '../../src/rpc/gen/dfs/NameNode';
import type { ChunkInfo__Output } from '../../src/rpc/gen/dfs/ChunkInfo';
import { dataNodeService, nameNodeService } from '../../src/rpc/load';
import { loadTls } from '../../src/rpc/tls';
import { channelCredentials } from '../../src/rpc/tls';
import { loadClusterKeys } from '../../src/rpc/tokens';
import { DIST, TestCluster, tempDir, waitFor } from '../helpers/cluster';
import { TestMount } from '../helpers/mount';

/**
 * Only cluster members and authorised clients get in: a data node without the
 * secret is refused, a client without a token is refused, data nodes refuse
 * chunk requests without a matching token, the CLI cannot bypass POSIX
 * permissions, and the whole cluster plus a mount work over TLS.
 */

const CLI = path.join(DIST, 'cli', 'main.js');
const ROOT_CALLER = { uid: 0, gid: 0, groups: [] };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function dfs(
  cluster: TestCluster,
  args: string[],
  env: NodeJS.ProcessEnv = cluster.clientEnv(),
  as?: { uid: number; gid: number },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--namenode', cluster.address, ...args], {
      env: { PATH: process.env.PATH, DFS_STATE_DIR: stateDir, ...env },
      uid: as?.uid,
      gid: as?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

function nameNodeClient(cluster: TestCluster, token?: string): NameNodeClient {
  const Ctor = nameNodeService().NameNode;
  return new Ctor(cluster.address, grpc.credentials.createInsecure(), {
    ...CHANNEL_OPTIONS,
    interceptors: token ? [bearerInterceptor(() => token)] : [],
  });
}

function dataNodeClient(address: string): DataNodeClient {
  return new (dataNodeService().DataNode)(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}

function unaryCall<Res>(fn: (cb: (err: grpc.ServiceError | null, res?: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res as Res))));
}

/** ReadChunk's outcome: the gRPC status code (0 = OK) and the bytes received. */
function readChunk(
  dn: DataNodeClient,
  chunkId: string,
  version: string,
  token: string,
): Promise<{ code: number; bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const call = dn.ReadChunk({ chunkId, version, offset: '0', length: '100', token });
    call.on('data', (m: { data: Buffer }) => (bytes += m.data.length));
    call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, bytes }));
    call.on('end', () => resolve({ code: 0, bytes }));
  });
}

let stateDir: string;

describe('a secured cluster', () => {
  const cluster = new TestCluster({ secure: true, dataNodes: 2 });
  let token: string;
  let chunk: ChunkInfo__Output;

  beforeAll(async () => {
    stateDir = tempDir('sec-state');
    fs.chmodSync(stateDir, 0o777);
    await cluster.start();
    token = fs.readFileSync(cluster.security!.tokenFile, 'utf8').trim();
    await waitFor('2 live data nodes', async () => /2 live|live.*2/i.test((await dfs(cluster, ['status'])).stdout));
  }, 60_000);
  afterAll(() => cluster.stop());

  it('serves a client with a token and says it is secured', async () => {
    const local = path.join(tempDir('sec-local'), 'a.txt');
    fs.writeFileSync(local, 'hello secure world');
    expect((await dfs(cluster, ['file_write', local, '/a.txt'])).stdout).toBe('ok\n');
    const back = path.join(path.dirname(local), 'b.txt');
    expect((await dfs(cluster, ['file_read', '/a.txt', back])).stdout).toBe('ok\n');
    expect(fs.readFileSync(back, 'utf8')).toBe('hello secure world');
    const status = JSON.parse((await dfs(cluster, ['--json', 'status'])).stdout) as { secured: boolean };
    expect(status.secured).toBe(true);
    expect(cluster.namenode.proc.log()).not.toMatch(/RUNNING OPEN/);
  });

  it('refuses a client without a token (or with a forged one) with a one-line EACCES', async () => {
    expectOneLineError(await dfs(cluster, ['read_directory', '/'], {}), /no client token/);
    const forged = path.join(tempDir('sec-forged'), 'token');
    fs.writeFileSync(forged, 'dfs1:u:mallory:AAAA\n', { mode: 0o600 });
    expectOneLineError(await dfs(cluster, ['read_directory', '/'], { DFS_TOKEN_FILE: forged }), /not signed/);
    expect(cluster.namenode.proc.log()).toMatch(/refused an unauthenticated call/);
  });

  it('refuses a data node that does not know the secret, with a log line on both sides', async () => {
    const rogue = await cluster.addDataNode({ security: null });
    await waitFor('refusal logs', () => /refused this data node/.test(rogue.proc.log()), 15_000);
    expect(cluster.namenode.proc.log()).toMatch(/"rpc":"Register".*no membership proof/);
    const status = JSON.parse((await dfs(cluster, ['--json', 'status'])).stdout) as { nodes: { id: string }[] };
    expect(status.nodes.map((n) => n.id)).not.toContain(rogue.id);
    await rogue.proc.kill();
  });

  it('data nodes refuse chunk requests without a token for that chunk and operation', async () => {
    const nn = nameNodeClient(cluster, token);
    const attr = await unaryCall<{ ino: string }>((cb) =>
      nn.ResolvePath({ caller: ROOT_CALLER, path: '/a.txt', followSymlinks: true }, cb),
    );
    const reply = await unaryCall<{ chunks: ChunkInfo__Output[] }>((cb) =>
      nn.GetChunks({ caller: ROOT_CALLER, ino: attr.ino, firstIndex: '0', count: 10 }, cb),
    );
    nn.close();
    chunk = reply.chunks[0];
    expect(chunk.token).toMatch(/^dfs1:c:/);
    const dn = dataNodeClient(chunk.replicas[0].address);
    const { chunkId, version } = chunk;

    expect(await readChunk(dn, chunkId, version, chunk.token)).toEqual({ code: grpc.status.OK, bytes: 18 });
    expect((await readChunk(dn, chunkId, version, '')).code).toBe(grpc.status.PERMISSION_DENIED);
    // A token for another chunk, a tampered one, an expired one, one for another operation.
    const keys = loadClusterKeys(cluster.security!.secretFile);
    const other = keys.issueChunkToken(String(BigInt(chunkId) + 1n), ['read']);
    expect((await readChunk(dn, chunkId, version, other)).code).toBe(grpc.status.PERMISSION_DENIED);
    const tampered = chunk.token.replace(/:r/, ':rw');
    expect((await readChunk(dn, chunkId, version, tampered)).code).toBe(grpc.status.PERMISSION_DENIED);
    const expired = keys.issueChunkToken(chunkId, ['read'], -1000);
    expect((await readChunk(dn, chunkId, version, expired)).code).toBe(grpc.status.PERMISSION_DENIED);
    const writeOnly = keys.issueChunkToken(chunkId, ['write']);
    expect((await readChunk(dn, chunkId, version, writeOnly)).code).toBe(grpc.status.PERMISSION_DENIED);

    // A read token does not allow overwriting, deleting or truncating the chunk.
    const write = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = dn.WriteChunk((err) => resolve(err));
      call.write({ header: { chunkId, version: String(Number(version) + 1), offset: '0', token: chunk.token } });
      call.write({ data: Buffer.from('overwritten!') });
      call.end();
    });
    expect(write?.code).toBe(grpc.status.PERMISSION_DENIED);
    const del = await unaryCall((cb) => dn.DeleteChunks({ chunkIds: [chunkId], token: chunk.token }, cb)).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((del as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    const trunc = await unaryCall((cb) =>
      dn.TruncateChunk(
        { chunkId, version, newVersion: String(Number(version) + 1), size: '0', token: chunk.token },
        cb,
      ),
    ).catch((e: grpc.ServiceError) => e);
    expect((trunc as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    dn.close();
    const datanodeLogs = cluster.datanodes.map((d) => d.proc.log()).join('');
    expect(datanodeLogs).toMatch(/refused a chunk request/);

    // The data is untouched.
    const back = path.join(tempDir('sec-back'), 'a.txt');
    await dfs(cluster, ['file_read', '/a.txt', back]);
    expect(fs.readFileSync(back, 'utf8')).toBe('hello secure world');
  });

  it('the CLI cannot bypass permissions: a non-root user and a root-owned 0700 directory', async () => {
    expect((await dfs(cluster, ['make_directory', '/private'])).code).toBe(0);
    const nn = nameNodeClient(cluster, token);
    const dir = await unaryCall<{ ino: string }>((cb) =>
      nn.ResolvePath({ caller: ROOT_CALLER, path: '/private', followSymlinks: true }, cb),
    );
    await unaryCall((cb) => nn.SetAttr({ caller: ROOT_CALLER, ino: dir.ino, mode: 0o700 }, cb));
    nn.close();
    expect((await dfs(cluster, ['file_create', '/private/secret.txt'])).code).toBe(0);

    // The user's own copy of the token (a token authenticates the client; the uid is the caller's).
    const home = tempDir('sec-user');
    fs.chownSync(home, 1000, 1000);
    const userToken = path.join(home, 'token');
    fs.copyFileSync(cluster.security!.tokenFile, userToken);
    fs.chownSync(userToken, 1000, 1000);
    const env = { DFS_TOKEN_FILE: userToken, HOME: home };
    const user = { uid: 1000, gid: 1000 };
    expectOneLineError(await dfs(cluster, ['read_directory', '/private'], env, user), /permission denied/i);
    expectOneLineError(await dfs(cluster, ['file_create', '/private/x'], env, user), /permission denied/i);
    expectOneLineError(await dfs(cluster, ['file_delete', '/private/secret.txt'], env, user), /permission denied/i);
    expectOneLineError(await dfs(cluster, ['file_info', '/private/secret.txt'], env, user), /permission denied/i);
  });

  it('bounds streams per client and cancels an idle write stream', async () => {
    const dn = await cluster.addDataNode({ extraArgs: ['--max-client-streams', '2', '--idle-timeout', '1s'] });
    const client = dataNodeClient(dn.address);
    const started = Date.now();
    const open = () =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const call = client.WriteChunk((err) => resolve(err));
        call.on('error', () => undefined);
      });
    const [a, b, c] = [open(), open(), open()];
    expect((await c)?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    // The two admitted streams send nothing: cancelled after the idle timeout, nothing acknowledged.
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(eb?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(10_000);
    // Slots are free again.
    const again = await Promise.race([open(), new Promise((r) => setTimeout(() => r('pending'), 300))]);
    expect(again).toBe('pending');
    client.close();
    expect(dn.proc.log()).toMatch(/too many concurrent streams/);
  });

  it('heals and deletes with signed requests: re-replication and DeleteChunks between nodes', async () => {
    const local = path.join(tempDir('sec-heal'), 'h.bin');
    fs.writeFileSync(local, Buffer.alloc(300_000, 7));
    expect((await dfs(cluster, ['file_write', local, '/heal.bin'])).code).toBe(0);
    type Info = { chunks: { chunkId: string; replicas: { id: string }[] }[] };
    const info = async () => JSON.parse((await dfs(cluster, ['--json', 'file_info', '/heal.bin'])).stdout) as Info;
    const first = await info();
    const victim = cluster.datanodes.find((d) => d.id === first.chunks[0].replicas[0].id)!;
    await victim.proc.kill();
    const healed = await waitFor(
      'a new replica made with a signed ReplicateChunk',
      async () => {
        const now = await info();
        const ids = now.chunks[0].replicas.map((r) => r.id);
        return ids.length === 2 && !ids.includes(victim.id) ? now : undefined;
      },
      30_000,
      300,
    );
    const chunkId = healed.chunks[0].chunkId;
    const holders = cluster.datanodes.filter((d) => healed.chunks[0].replicas.some((r) => r.id === d.id));
    const chunkFiles = () =>
      holders.filter((d) =>
        fs
          .readdirSync(path.join(d.dataDir, 'chunks'), { recursive: true })
          .some((f) => new RegExp(`/${chunkId}\\.(data|chunk)$`).test(String(f))),
      );
    expect(chunkFiles()).toHaveLength(2);
    expect((await dfs(cluster, ['file_delete', '/heal.bin'])).code).toBe(0);
    await waitFor('replicas deleted with a signed DeleteChunks', () => chunkFiles().length === 0, 20_000, 200);
    expect(cluster.datanodes.map((d) => d.proc.log()).join('')).not.toMatch(
      /refused a chunk request.*"op":"(replicate|delete)/,
    );
  }, 60_000);
});

describe('a cluster over TLS', () => {
  const cluster = new TestCluster({ secure: { tls: true }, dataNodes: 2 });
  let mount: TestMount | undefined;

  beforeAll(async () => {
    stateDir = tempDir('tls-state');
    await cluster.start();
  }, 60_000);
  afterAll(async () => {
    await mount?.stop();
    await cluster.stop();
  });

  it('runs the name node, data nodes, CLI and a mount over TLS', async () => {
    const sec = cluster.security!;
    await waitFor('2 live data nodes over mutual TLS', async () => {
      const r = await dfs(cluster, ['--json', 'status']);
      const s = JSON.parse(r.stdout || '{}') as { nodes?: { live: boolean }[] };
      return s.nodes?.filter((n) => n.live).length === 2;
    });
    mount = await new TestMount(cluster.address, ['--token-file', sec.tokenFile, '--tls-ca', sec.tls!.ca]).start();
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 'tls!');
    fs.writeFileSync(mount.path('over-tls.bin'), data);
    expect(fs.readFileSync(mount.path('over-tls.bin')).equals(data)).toBe(true);
    const back = path.join(tempDir('tls-back'), 'f');
    expect((await dfs(cluster, ['file_read', '/over-tls.bin', back])).stdout).toBe('ok\n');
    expect(fs.readFileSync(back).equals(data)).toBe(true);
    // A small file is WriteSmall messages on sessions, the data node to data node hop included:
    // both replicas acknowledge it over mutual TLS (a refused hop would leave one).
    fs.writeFileSync(mount.path('small-over-tls.txt'), 'small');
    const info = JSON.parse((await dfs(cluster, ['--json', 'file_info', '/small-over-tls.txt'])).stdout) as {
      chunks: { replicas: unknown[] }[];
    };
    expect(info.chunks.map((c) => c.replicas.length)).toEqual([2]);

    // Plaintext to a TLS name node fails; so does TLS without the token.
    expectOneLineError(await dfs(cluster, ['read_directory', '/'], { DFS_TOKEN_FILE: sec.tokenFile }), /dfs:/);
    expectOneLineError(await dfs(cluster, ['read_directory', '/'], { DFS_TLS_CA: sec.tls!.ca }), /no client token/);

    // A data node call without a client certificate is refused even with a valid proof (mutual TLS).
    const keys = loadClusterKeys(sec.secretFile);
    const Ctor = nameNodeService().NameNode;
    const nn = new Ctor(cluster.address, channelCredentials(loadTls({ ca: sec.tls!.ca })), {
      ...CHANNEL_OPTIONS,
      interceptors: [bearerInterceptor(() => keys.nodeProof('intruder'))],
    });
    const err = await unaryCall((cb) => nn.Heartbeat({ id: 'intruder' }, cb)).catch((e: grpc.ServiceError) => e);
    nn.close();
    expect((err as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
    expect((err as grpc.ServiceError).details).toMatch(/client certificate/);
  });
});
