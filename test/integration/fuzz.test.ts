import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_OPTIONS } from '../../src/rpc/call';
import { dataNodeService, nameNodeService } from '../../src/rpc/load';
import { DIST, TestCluster, tempDir } from '../helpers/cluster';
import { seededRandom } from '../helpers/prng';

/**
 * Hostile input: random and malformed messages to every name node and data
 * node RPC (and random bytes as raw bodies), with a fixed seed and a bounded
 * run. Every case gets an answer (an error or a harmless result), no process
 * dies, memory stays bounded, and nothing outside the data dirs is touched.
 */

const SEED = 0x5eed_d0f5;
const RUN_MS = 25_000;
const RSS_LIMIT_BYTES = 600 * 1024 * 1024;

const rand = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const randBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));

const CHUNK_IDS = [
  '../../etc/passwd',
  '1/../x',
  '18446744073709551615',
  '18446744073709551616',
  '99999999999999999999999',
  '0',
  '-1',
  '',
  '1',
  '7',
  'NaN',
  '1e9',
  ' 1',
  '%2e%2e%2f',
];
const NUMBERS = [
  '0',
  '1',
  '-1',
  '18446744073709551615',
  '9223372036854775807',
  '-9223372036854775808',
  '4294967296',
  '2',
];
const U32 = [0, 1, 0xffffffff, 0x7fffffff, 0o7777, 0o170000 | 0o777];
const NAMES = [
  '..',
  '.',
  '',
  'a\0b',
  '/',
  'a/b',
  'x'.repeat(256),
  'x'.repeat(255),
  '\u202e',
  'ok',
  '../../../../tmp/escape',
];
const deepPath = '/' + Array.from({ length: 10_000 }, () => 'd').join('/');
const PATHS = ['/', '/..', '/../../etc', '/a/../../b', 'relative', '/a\0b', deepPath, '/' + 'n'.repeat(300), '//x//'];

function caller(): unknown {
  return pick([
    null,
    { uid: pick(U32), gid: pick(U32), groups: Array.from({ length: Math.floor(rand() * 3) }, () => pick(U32)) },
    { uid: 0, gid: 0, groups: [] },
  ]);
}

function field(name: string): unknown {
  if (name === 'caller') return caller();
  if (/name$|Name$|after|pattern/.test(name)) return pick(NAMES);
  if (/path/i.test(name)) return pick(PATHS);
  if (/chunkId/.test(name)) return pick(CHUNK_IDS);
  if (/chunkIds/.test(name)) return Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(CHUNK_IDS));
  if (
    /^(ino|parent|newParent|index|firstIndex|version|newVersion|offset|length|size|minSize|used|capacity)$/.test(name)
  )
    return pick(NUMBERS);
  if (/Ms$/.test(name)) return pick(NUMBERS);
  if (/^(mode|uid|gid|rdev|flags|count|limit)$/.test(name)) return pick(U32);
  if (name === 'value' || name === 'data') return randBytes(Math.floor(rand() * 64));
  if (name === 'token' || name === 'id' || name === 'address' || name === 'reason' || name === 'secret')
    return pick(['', 'x', '127.0.0.1:1', '../../etc', 'a'.repeat(1000), 'dfs1:c:1:r:9999999999999:AAAA']);
  return undefined;
}

/** A message with every known field set to something hostile (unknown field types left to protobuf defaults). */
function hostileMessage(fields: string[]): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  for (const f of fields) {
    const v = field(f);
    if (v !== undefined) m[f] = v;
  }
  return m;
}

const REQUEST_FIELDS = [
  'caller',
  'ino',
  'parent',
  'name',
  'newParent',
  'newName',
  'path',
  'mode',
  'uid',
  'gid',
  'size',
  'rdev',
  'flags',
  'after',
  'limit',
  'value',
  'index',
  'firstIndex',
  'count',
  'chunkId',
  'chunkIds',
  'version',
  'newVersion',
  'offset',
  'length',
  'token',
  'id',
  'address',
  'capacity',
  'used',
  'reason',
  'minSize',
  'mtimeMs',
  'pattern',
  'className',
  'secret',
];

/** Calls `method` with `message` and resolves once the server answered (any status), or the call failed. */
function callOnce(
  client: grpc.Client,
  method: grpc.MethodDefinition<unknown, unknown>,
  message: unknown,
): Promise<string> {
  return new Promise((resolve) => {
    const deadline = Date.now() + 5_000;
    const done = (err: grpc.ServiceError | null) => resolve(err ? grpc.status[err.code] : 'OK');
    try {
      if (method.requestStream) {
        const call = client.makeClientStreamRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          new grpc.Metadata(),
          { deadline },
          (err) => done(err),
        );
        call.on('error', () => undefined);
        call.write(message);
        if (rand() < 0.5) call.write({ data: randBytes(Math.floor(rand() * 200_000)) });
        call.end();
      } else if (method.responseStream) {
        const call = client.makeServerStreamRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          message,
          new grpc.Metadata(),
          { deadline },
        );
        call.on('data', () => undefined);
        call.on('error', (err: grpc.ServiceError) => done(err));
        call.on('end', () => done(null));
      } else {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          message,
          new grpc.Metadata(),
          { deadline },
          (err) => done(err),
        );
      }
    } catch {
      resolve('client-side serialization error');
    }
  });
}

/** Random bytes as the raw request body: the server must reject it as undecodable, not crash. */
function rawBytes(method: grpc.MethodDefinition<unknown, unknown>): grpc.MethodDefinition<unknown, unknown> {
  return { ...method, requestSerialize: (b: unknown) => b as Buffer };
}

function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('hostile input', () => {
  // The canary sits right beside the data dirs: an escaping chunk id or path would land here.
  const cluster = new TestCluster({ dataNodes: 2, replication: 2 });
  let canary: string;
  let before: string[];
  let nnClient: grpc.Client;
  let dnClient: grpc.Client;

  beforeAll(async () => {
    await cluster.start();
    canary = path.join(cluster.root, 'canary');
    fs.mkdirSync(path.join(canary, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(canary, 'etc', 'passwd'), 'root:x:0:0\n');
    fs.writeFileSync(path.join(canary, 'x'), 'x');
    before = snapshot(canary);
    nnClient = new grpc.Client(cluster.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    dnClient = new grpc.Client(cluster.datanodes[0].address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  }, 60_000);
  afterAll(async () => {
    nnClient?.close();
    dnClient?.close();
    await cluster.stop();
  });

  it('answers every random or malformed request, stays up, bounded and inside its data dirs', async () => {
    const nnMethods = Object.values(nameNodeService().NameNode.service);
    const dnMethods = Object.values(dataNodeService().DataNode.service);
    const outcomes = new Map<string, number>();
    const end = Date.now() + RUN_MS;
    let cases = 0;
    while (Date.now() < end) {
      const toDataNode = rand() < 0.5;
      const method = pick(toDataNode ? dnMethods : nnMethods);
      const client = toDataNode ? dnClient : nnClient;
      let message: unknown;
      let m = method;
      const kind = rand();
      if (kind < 0.15) {
        m = rawBytes(method);
        message = randBytes(Math.floor(rand() * 4096));
      } else if (method.path.endsWith('/WriteChunk')) {
        message = { header: hostileMessage(REQUEST_FIELDS), data: randBytes(Math.floor(rand() * 1024)) };
      } else {
        message = hostileMessage(REQUEST_FIELDS);
      }
      const batch = Array.from({ length: 8 }, () => callOnce(client, m, message));
      for (const outcome of await Promise.all(batch)) outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      cases += batch.length;
      expect(cluster.namenode.proc.running, cluster.logs().slice(-3000)).toBe(true);
      for (const dn of cluster.datanodes) expect(dn.proc.running, dn.proc.log().slice(-3000)).toBe(true);
    }
    // A message over the size limit is refused, not buffered.
    const huge = await callOnce(nnClient, rawBytes(nnMethods[0]), Buffer.alloc(9 * 1024 * 1024, 1));
    expect(huge).toBe('RESOURCE_EXHAUSTED');

    expect(cases).toBeGreaterThan(200);
    // Every case got an answer: none hung to its deadline.
    expect(outcomes.get('DEADLINE_EXCEEDED') ?? 0).toBe(0);
    for (const p of [cluster.namenode, ...cluster.datanodes]) {
      expect(p.proc.running).toBe(true);
      expect(rssOf(p.proc.child.pid!)).toBeLessThan(RSS_LIMIT_BYTES);
    }
    // Still serving real requests afterwards.
    const ok = await callOnce(
      nnClient,
      nameNodeService().NameNode.service.StatFs as grpc.MethodDefinition<unknown, unknown>,
      {},
    );
    expect(ok).toBe('OK');
    expect(snapshot(canary)).toEqual(before);
    // Nothing but chunk files, and emptied ones kept for reuse, under the data nodes' chunk dirs.
    for (const dn of cluster.datanodes) {
      const names = snapshot(path.join(dn.dataDir, 'chunks')).map((l) => l.split(' ')[0]);
      for (const n of names) expect(n).toMatch(/^([0-9a-f]{2}(\/\d+\.(data|meta))?|free(\/\d+)?)$/);
    }
  }, 90_000);

  it('the CLI answers weird paths with one-line errors', () => {
    const cli = path.join(DIST, 'cli', 'main.js');
    const state = tempDir('fuzz-cli');
    for (const args of [
      ['file_info', 'a\nb\x01'],
      ['file_create', '/' + 'x'.repeat(5000)],
      ['read_directory', deepPath],
      ['make_directory', '/' + 'n'.repeat(300)],
      ['file_read', '/../../etc/passwd', path.join(state, 'out')],
      ['file_delete', '/'],
      ['open_directory', '/nope/../../..//x'],
      ['file_move', '/', '/a'],
    ]) {
      const r = spawnSync(process.execPath, [cli, '--namenode', cluster.address, ...args], {
        env: { PATH: process.env.PATH, DFS_STATE_DIR: state },
        encoding: 'utf8',
      });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(/^dfs: /);
    }
    expect(snapshot(canary)).toEqual(before);
  });
});
