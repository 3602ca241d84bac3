import { formatBytes } from '../../common/units';
import type { ChunkDescription, FileInfo } from '../../client/types';
import { describeGroup, describeUser } from '../accounts';
import type { CommandSpec } from '../command';
import { onPath } from '../errors';
import { fileType, formatMode, formatTime, octalMode, sizeWithBytes, table } from '../format';

export const fileInfo: CommandSpec = {
  name: 'file_info',
  aliases: ['info'],
  summary: 'show size, mode, owner, times, replication and where every chunk is stored',
  args: ['<PATH>'],
  examples: ['dfs file_info notes.txt', 'dfs --json info /pics/photo.jpg'],
  async run(ctx, [target]) {
    const client = await ctx.client();
    const p = ctx.resolve(target);
    const info = await onPath(p, () => client.fileInfo(p, ctx.caller));
    const replication = info.attr.replication;
    const chunks = info.chunks.map((c) => ({
      index: c.index,
      chunkId: c.chunkId,
      version: c.version,
      size: c.size,
      replicas: c.replicas.map((r) => ({ id: r.id, address: r.address })),
      underReplicated: c.replicas.length < replication,
    }));
    const a = info.attr;
    return {
      text: render(info),
      json: {
        ok: true,
        path: info.path || p,
        type: fileType(a.mode),
        size: a.size,
        mode: a.mode & 0o7777,
        uid: a.uid,
        gid: a.gid,
        nlink: a.nlink,
        ino: a.ino,
        atimeMs: a.atimeMs,
        mtimeMs: a.mtimeMs,
        ctimeMs: a.ctimeMs,
        replication,
        storageClass: a.storageClass || null,
        chunkSize: info.chunkSize,
        chunkCount: chunks.length,
        underReplicatedChunks: chunks.filter((c) => c.underReplicated).length,
        chunks,
      },
    };
  },
};

function render(info: FileInfo): string {
  const a = info.attr;
  const under = info.chunks.filter((c) => c.replicas.length < a.replication).length;
  const lines = [
    `path:         ${info.path}`,
    `type:         ${fileType(a.mode)}`,
    `size:         ${sizeWithBytes(a.size)}`,
    `mode:         ${formatMode(a.mode)} (${octalMode(a.mode)})`,
    `owner:        ${describeUser(a.uid)}, group ${describeGroup(a.gid)}`,
    `links:        ${a.nlink}`,
    `accessed:     ${formatTime(a.atimeMs)}`,
    `modified:     ${formatTime(a.mtimeMs)}`,
    `changed:      ${formatTime(a.ctimeMs)}`,
    `replication:  ${a.replication}`,
    `class:        ${a.storageClass || '-'}  (see 'dfs class get ${info.path}')`,
    `chunk size:   ${formatBytes(info.chunkSize)}`,
    `chunks:       ${info.chunks.length}${under ? `  (${under} UNDER-REPLICATED)` : ''}`,
  ];
  if (info.chunks.length) {
    const rows = [['  INDEX', 'CHUNK ID', 'VERSION', 'SIZE', 'REPLICAS', 'DATA NODES']];
    for (const c of info.chunks) rows.push(chunkRow(c, a.replication));
    lines.push(table(rows));
  }
  return lines.join('\n');
}

function chunkRow(c: ChunkDescription, replication: number): string[] {
  const nodes = c.replicas.map((r) => `${r.id} (${r.address})`).join(', ') || '-';
  const flag = c.replicas.length < replication ? '  UNDER-REPLICATED' : '';
  return [
    `  ${c.index}`,
    c.chunkId,
    String(c.version),
    formatBytes(c.size),
    `${c.replicas.length}/${replication}`,
    nodes + flag,
  ];
}
