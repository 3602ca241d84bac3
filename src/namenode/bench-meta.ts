#!/usr/bin/env node
/**
 * Metadata throughput against a running name node: N concurrent clients
 * (one gRPC channel each), each creating empty files and "closing" them
 * (CommitWrite with no chunks) in its own directory.
 *   node dist/namenode/bench-meta.js --namenode 127.0.0.1:9000 --clients 8 --seconds 5
 */
import * as grpc from '@grpc/grpc-js';
import { Command } from 'commander';
import { CHANNEL_OPTIONS, unary } from '../rpc/call';
import type { Attr__Output } from '../rpc/gen/dfs/Attr';
import type { NameNodeClient } from '../rpc/gen/dfs/NameNode';
import { nameNodeService } from '../rpc/load';

async function main(): Promise<void> {
  const o = new Command()
    .option('--namenode <addr>', 'name node', process.env.DFS_NAMENODE ?? '127.0.0.1:9000')
    .option('--clients <n>', 'concurrent clients', '8')
    .option('--seconds <s>', 'duration', '5')
    .option('--depth <n>', 'operations in flight per client (a mount issues many at once)', '1')
    .option('--no-close', 'create only')
    .parse()
    .opts<{ namenode: string; clients: string; seconds: string; close: boolean; depth: string }>();
  const Ctor = nameNodeService().NameNode;
  const caller = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, groups: [] };
  const clients: NameNodeClient[] = [];
  for (let i = 0; i < Number(o.clients); i++) {
    // Distinct channels: grpc-js would otherwise share one HTTP/2 connection between them.
    clients.push(new Ctor(o.namenode, grpc.credentials.createInsecure(), { ...CHANNEL_OPTIONS, 'grpc.channel_id': i }));
  }
  const run = `bench-${Date.now()}`;
  const top = await unary<object, Attr__Output>(clients[0], clients[0].MakeNode, {
    caller,
    parent: 1,
    name: run,
    mode: 0o040755,
  });
  const deadline = Date.now() + Number(o.seconds) * 1000;
  let files = 0;
  let rpcs = 0;
  const latencies: number[] = [];
  await Promise.all(
    clients
      .flatMap((c, i) => Array.from({ length: Number(o.depth) }, (_, d) => ({ c, i: `${i}-${d}` })))
      .map(async ({ c, i }) => {
        const dir = await unary<object, Attr__Output>(c, c.MakeNode, {
          caller,
          parent: top.ino,
          name: `c${i}`,
          mode: 0o040755,
        });
        for (let n = 0; Date.now() < deadline; n++) {
          const t0 = process.hrtime.bigint();
          const a = await unary<object, Attr__Output>(c, c.MakeNode, {
            caller,
            parent: dir.ino,
            name: `f${n}`,
            mode: 0o100644,
            exclusive: true,
          });
          rpcs++;
          if (o.close) {
            await unary(c, c.CommitWrite, { caller, ino: a.ino, chunks: [], minSize: 0, mtimeMs: 0 });
            rpcs++;
          }
          files++;
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
  );
  const secs = Number(o.seconds);
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]?.toFixed(2);
  console.log(
    JSON.stringify({
      clients: clients.length,
      depth: Number(o.depth),
      files,
      filesPerSec: Math.round(files / secs),
      metadataOpsPerSec: Math.round(rpcs / secs),
      p50ms: p(0.5),
      p99ms: p(0.99),
    }),
  );
  for (const c of clients) c.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
