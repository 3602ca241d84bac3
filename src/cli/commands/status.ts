import { formatBytes } from '../../common/units';
import type { ClusterStatus, DataNodeInfo } from '../../client/types';
import type { ListClassesReply__Output } from '../../rpc/gen/dfs/ListClassesReply';
import { adminCall } from '../admin-rpc';
import type { CommandSpec } from '../command';
import { classesJson, renderClasses } from './class';
import { formatAge, formatTime, table } from '../format';

export const status: CommandSpec = {
  name: 'status',
  aliases: [],
  summary: 'show the data nodes, space, chunk health, storage classes and safe mode of the cluster',
  args: [],
  examples: ['dfs status', 'dfs --json status | jq .underReplicated'],
  async run(ctx) {
    const client = await ctx.client();
    const s = await client.clusterStatus();
    // A name node without storage classes (older) still gets its status shown.
    const classes = await adminCall<object, ListClassesReply__Output>(ctx.opts.namenode, 'ListClasses', {}).catch(
      () => undefined,
    );
    const now = Date.now();
    const nodes = s.nodes.map((n) => ({
      id: n.id,
      address: n.address,
      live: n.live,
      state: n.state || (n.live ? 'live' : 'dead'),
      used: n.used,
      capacity: n.capacity,
      chunks: n.chunks,
      lastHeartbeatMs: n.lastHeartbeatMs,
      lastHeartbeatAgeMs: heartbeatAge(n, now),
      labels: n.labels,
    }));
    const live = s.nodes.filter((n) => n.live).length;
    return {
      text: render(ctx.opts.namenode, s, now) + (classes ? `\n\n${renderClasses(classes)}` : ''),
      json: {
        ok: true,
        namenode: ctx.opts.namenode,
        nodes,
        liveNodes: live,
        deadNodes: s.nodes.length - live,
        capacity: s.capacity,
        used: s.used,
        files: s.files,
        chunks: s.chunks,
        underReplicated: s.underReplicated,
        missing: s.missing,
        safeMode: s.safeMode,
        secured: s.secured,
        replication: s.replication,
        chunkSize: s.chunkSize,
        ...(classes ? classesJson(classes) : {}),
      },
    };
  },
};

/**
 * The name node reports the last heartbeat as a wall-clock time; a small value
 * can only be an age already (or "never"), so both readings are handled.
 */
function heartbeatAge(n: DataNodeInfo, now: number): number | null {
  if (!n.lastHeartbeatMs) return null;
  return n.lastHeartbeatMs > 1e12 ? Math.max(0, now - n.lastHeartbeatMs) : n.lastHeartbeatMs;
}

function render(namenode: string, s: ClusterStatus, now: number): string {
  const live = s.nodes.filter((n) => n.live).length;
  const pct = (used: number, cap: number): string => (cap > 0 ? `${((100 * used) / cap).toFixed(1)}%` : '-');
  const rows = [['DATA NODE', 'ADDRESS', 'STATE', 'USED', 'CAPACITY', 'USE%', 'CHUNKS', 'LAST HEARTBEAT']];
  for (const n of s.nodes) {
    const age = heartbeatAge(n, now);
    rows.push([
      n.id,
      n.address,
      n.state && n.state !== 'live' && n.state !== 'dead' ? n.state : n.live ? 'live' : 'DEAD',
      formatBytes(n.used),
      formatBytes(n.capacity),
      pct(n.used, n.capacity),
      String(n.chunks),
      age === null
        ? 'never'
        : n.lastHeartbeatMs > 1e12
          ? `${formatAge(age)} (${formatTime(n.lastHeartbeatMs)})`
          : formatAge(age),
    ]);
  }
  rows.push([
    'total',
    `${live} live, ${s.nodes.length - live} dead`,
    '',
    formatBytes(s.used),
    formatBytes(s.capacity),
    pct(s.used, s.capacity),
    String(s.chunks),
    '',
  ]);
  const lines = [
    `name node:         ${namenode}`,
    `replication:       ${s.replication}    chunk size: ${formatBytes(s.chunkSize)}`,
    `files:             ${s.files}`,
    `chunks:            ${s.chunks}    under-replicated: ${s.underReplicated}    missing: ${s.missing}`,
    `safe mode:         ${s.safeMode ? 'ON (read-only until enough chunks are reported)' : 'off'}`,
    `security:          ${s.secured ? 'shared secret required' : 'none: the cluster runs without a secret'}`,
    '',
    s.nodes.length ? table(rows) : 'no data nodes registered',
  ];
  if (s.missing > 0) lines.push('', `WARNING: ${s.missing} chunk(s) have no live replica: their files cannot be read`);
  return lines.join('\n');
}
