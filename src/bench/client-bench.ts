/**
 * Measures the client library directly (no FUSE): a 1 GiB write at
 * replication 2, a 1 GiB sequential read, and create+close of empty files
 * from 8 concurrent clients; prints the local disk's sequential write speed
 * (with fsync) measured in the same run, since replication 2 on one disk
 * bounds writes near half of it.
 *
 *   node dist/bench/client-bench.js [--namenode HOST:PORT] [--size 1GiB] [--clients 8] [--files 2000] [--json]
 *
 * Without --namenode it starts a name node and 3 data nodes (replication 2)
 * in a temp dir and stops them at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createClient, type DfsClient } from '../client';
import { CHANNEL_OPTIONS, SERVER_OPTIONS } from '../rpc/call';
import { dataNodeService } from '../rpc/load';
import type { WriteChunkRequest__Output } from '../rpc/gen/dfs/WriteChunkRequest';
import { formatBytes, parseSize } from '../common/units';
import { nodeFlags } from '../common/node-flags';
import { freePort } from '../common/ports';

const MiB = 1024 * 1024;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

interface Args {
  namenode?: string;
  size: number;
  clients: number;
  files: number;
  /** Creates each client keeps in flight (a mount has many requests outstanding too). */
  concurrency: number;
  ioBytes: number;
  segmentBytes?: number;
  streams?: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { size: 1024 * MiB, clients: 8, files: 2000, concurrency: 32, ioBytes: 4 * MiB, json: false };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i] ?? '';
    switch (argv[i]) {
      case '--namenode':
        a.namenode = v();
        break;
      case '--size':
        a.size = parseSize(v());
        break;
      case '--clients':
        a.clients = Number(v());
        break;
      case '--files':
        a.files = Number(v());
        break;
      case '--segment':
        a.segmentBytes = parseSize(v());
        break;
      case '--streams':
        a.streams = Number(v());
        break;
      case '--concurrency':
        a.concurrency = Number(v());
        break;
      case '--io':
        a.ioBytes = parseSize(v());
        break;
      case '--json':
        a.json = true;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return a;
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never opened`);
}

/** A throwaway cluster: 1 name node, 3 data nodes, replication 2. */
async function startCluster(root: string): Promise<{ address: string; procs: ChildProcess[] }> {
  const dist = path.resolve(__dirname, '..');
  const procs: ChildProcess[] = [];
  const run = (script: string, args: string[]) => {
    // DFS_BENCH_PROFILE_DIR=DIR profiles the servers too (written when they exit on SIGTERM).
    const prof = process.env.DFS_BENCH_PROFILE_DIR;
    const flags = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
    const p = spawn(process.execPath, [...nodeFlags(script), ...flags, path.join(dist, script), ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DFS_LOG_LEVEL: process.env.DFS_LOG_LEVEL ?? 'warn' },
    });
    procs.push(p);
    return p;
  };
  const port = await freePort();
  run('namenode/main.js', [
    '--port',
    String(port),
    '--http-port',
    String(await freePort()),
    '--data-dir',
    path.join(root, 'nn'),
    '--replication',
    '2',
  ]);
  await waitPort(port);
  for (let i = 1; i <= 3; i++) {
    const dp = await freePort();
    run('datanode/main.js', [
      '--namenode',
      `127.0.0.1:${port}`,
      '--port',
      String(dp),
      '--data-dir',
      path.join(root, `dn${i}`),
      '--id',
      `dn${i}`,
    ]);
    await waitPort(dp);
  }
  return { address: `127.0.0.1:${port}`, procs };
}

/** Sequential write of `bytes` in 1 MiB writes with one fsync at the end: what one disk does. */
async function diskWrite(dir: string, bytes: number): Promise<number> {
  const file = path.join(dir, 'disk-probe');
  const buf = randomBytes(MiB);
  const t = process.hrtime.bigint();
  const fh = await fs.open(file, 'w');
  for (let at = 0; at < bytes; at += MiB) await fh.write(buf, 0, MiB, at);
  await fh.sync();
  await fh.close();
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  await fs.rm(file);
  return bytes / MiB / s;
}

/** Wall seconds; the client's own CPU seconds go to `cpu` (load-independent on a shared machine). */
async function timed<T>(fn: () => Promise<T>, cpu?: { s: number }): Promise<number> {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(c);
  if (cpu) cpu.s = (used.user + used.system) / 1e6;
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/**
 * What grpc-js alone does right now on this machine (client and a discarding
 * server in this process, 1 MiB messages): on a shared machine this is the
 * yardstick the dfs numbers are read against.
 */
async function grpcBaseline(bytes: number): Promise<{ upload: number; download: number }> {
  const DataNode = dataNodeService().DataNode;
  const server = new grpc.Server(SERVER_OPTIONS);
  const msg = Buffer.alloc(MiB, 7);
  server.addService(DataNode.service, {
    WriteChunk: (
      call: grpc.ServerReadableStream<WriteChunkRequest__Output, object>,
      cb: grpc.sendUnaryData<object>,
    ) => {
      call.on('data', () => undefined);
      call.on('end', () => cb(null, { written: ['baseline'] }));
    },
    ReadChunk: (call: grpc.ServerWritableStream<{ length: string }, object>) => {
      let left = Number(call.request.length);
      const send = (): void => {
        while (left > 0) {
          left -= MiB;
          if (!call.write({ offset: '0', data: msg, crcs: [] })) return void call.once('drain', send);
        }
        call.end();
      };
      send();
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const c = new DataNode(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const segment = 8 * MiB;
  const up = await timed(async () => {
    for (let done = 0; done < bytes; done += segment) {
      await new Promise<void>((res, rej) => {
        const call = c.WriteChunk((e) => (e ? rej(e) : res()));
        call.write({ header: { chunkId: '1' } });
        let i = 0;
        const go = (): void => {
          while (i < segment / MiB) {
            i++;
            if (!call.write({ data: msg })) return void call.once('drain', go);
          }
          call.end();
        };
        go();
      });
    }
  });
  const down = await timed(async () => {
    for (let done = 0; done < bytes; done += 4 * MiB) {
      await new Promise<void>((res, rej) => {
        const call = c.ReadChunk({ length: String(4 * MiB) });
        call.on('data', () => undefined);
        call.on('end', res);
        call.on('error', rej);
      });
    }
  });
  c.close();
  server.forceShutdown();
  return { upload: bytes / MiB / up, download: bytes / MiB / down };
}

async function writeBig(client: DfsClient, file: string, size: number, io: number): Promise<void> {
  const src = randomBytes(64 * MiB);
  const h = await client.open(file, { flags: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC }, me);
  for (let at = 0; at < size; at += io) {
    const n = Math.min(io, size - at);
    const off = at % src.length;
    await h.write(at, src.subarray(off, Math.min(off + n, src.length)));
  }
  await h.close();
}

async function readBig(client: DfsClient, file: string, size: number, io: number): Promise<void> {
  const h = await client.open(file, { flags: constants.O_RDONLY }, me);
  let got = 0;
  for (let at = 0; at < size; at += io) got += (await h.read(at, io)).length;
  await h.close();
  if (got !== size) throw new Error(`read ${got} of ${size} bytes`);
}

async function metadataOps(address: string, clients: number, files: number, concurrency: number): Promise<number> {
  const all = Array.from({ length: clients }, () => createClient({ namenode: address }));
  const dir = `/bench-meta-${Date.now()}`;
  await all[0].mkdir(dir, 0o755, me);
  await Promise.all(all.map((c, i) => c.mkdir(`${dir}/c${i}`, 0o755, me)));
  const s = await timed(() =>
    Promise.all(
      all.flatMap((c, i) =>
        Array.from({ length: concurrency }, async (_, k) => {
          for (let j = k; j < files; j += concurrency) {
            const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
            const h = await c.open(`${dir}/c${i}/f${j}`, { flags }, me);
            await h.close();
          }
        }),
      ),
    ),
  );
  await Promise.all(all.map((c) => c.close()));
  return (clients * files) / s;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'dfs-bench-'));
  let procs: ChildProcess[] = [];
  const stop = () => procs.forEach((p) => p.kill('SIGKILL'));
  const stopGently = async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
            p.once('exit', () => (clearTimeout(t), resolve()));
            p.kill('SIGTERM');
          }),
      ),
    );
  };
  process.once('SIGINT', () => (stop(), process.exit(130)));
  try {
    let address = args.namenode;
    if (!address) ({ address, procs } = await startCluster(root));
    const client = createClient({
      namenode: address,
      segmentBytes: args.segmentBytes,
      maxInFlightSegments: args.streams,
    });
    for (let i = 0; i < 100; i++) {
      const live = (await client.clusterStatus().catch(() => undefined))?.nodes.filter((n) => n.live).length ?? 0;
      if (live >= 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const disk = await diskWrite(root, Math.min(args.size, 512 * MiB));
    const baseline = await grpcBaseline(Math.min(args.size, 256 * MiB));
    const file = `/bench-${Date.now()}`;
    const wCpu = { s: 0 };
    const rCpu = { s: 0 };
    const w = await timed(() => writeBig(client, file, args.size, args.ioBytes), wCpu);
    const r = await timed(() => readBig(client, file, args.size, args.ioBytes), rCpu);
    await client.unlink(file, me);
    await client.close();
    const ops = await metadataOps(address, args.clients, args.files, args.concurrency);
    const result = {
      diskWriteMiBs: Math.round(disk),
      writeMiBs: Math.round(args.size / MiB / w),
      writeTargetMiBs: Math.round((0.85 * disk) / 2),
      readMiBs: Math.round(args.size / MiB / r),
      grpcBaselineMiBs: { upload: Math.round(baseline.upload), download: Math.round(baseline.download) },
      clientCpuSecondsPerGiB: {
        write: +((wCpu.s * 1024 * MiB) / args.size).toFixed(2),
        read: +((rCpu.s * 1024 * MiB) / args.size).toFixed(2),
      },
      loadAverage: os.loadavg()[0],
      createCloseOpsPerSec: Math.round(ops),
      size: formatBytes(args.size),
      clients: args.clients,
    };
    if (args.json) console.log(JSON.stringify(result));
    else {
      console.log(`local disk sequential write (fsync): ${result.diskWriteMiBs} MiB/s`);
      console.log(
        `grpc-js loopback baseline (1 MiB messages, one process): upload ${result.grpcBaselineMiBs.upload} MiB/s,` +
          ` download ${result.grpcBaselineMiBs.download} MiB/s`,
      );
      console.log(
        `write ${result.size} (replication 2): ${result.writeMiBs} MiB/s (target >= ${result.writeTargetMiBs})`,
      );
      console.log(`read ${result.size}: ${result.readMiBs} MiB/s (target >= 600)`);
      console.log(
        `create+close of empty files, ${args.clients} clients x ${args.concurrency} in flight: ${result.createCloseOpsPerSec} ops/s`,
      );
      console.log(
        `client CPU per GiB: write ${result.clientCpuSecondsPerGiB.write} s, read ${result.clientCpuSecondsPerGiB.read} s` +
          ` (io ${formatBytes(args.ioBytes)}; load average ${result.loadAverage.toFixed(1)})`,
      );
    }
  } finally {
    await stopGently();
    await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`client-bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
