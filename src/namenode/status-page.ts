import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { type ClusterEvent, events as clusterEvents, type EventLog } from './events';
import { isDir, isRegular, isSymlink } from './inode';
import type { NameNode, NodeState } from './name-node';

export type DataNodeState = NodeState;

export interface DataNodeStatus {
  id: string;
  address: string;
  state: DataNodeState;
  capacity: number;
  used: number;
  /** Replicas the name node counts on this node. */
  chunks: number;
  lastHeartbeatAgeMs: number;
  labels: string[];
  activeStreams: number;
}

/** Counts over the whole namespace and chunk map (one pass each), shared by /metrics and /api/status. */
export interface ClusterCensus {
  files: number;
  directories: number;
  symlinks: number;
  chunks: number;
  underReplicated: number;
  missing: number;
  liveNodes: number;
  deadNodes: number;
  capacity: number;
  used: number;
}

export interface ClusterStatusView {
  generatedMs: number;
  clusterId: string;
  summary: ClusterCensus & {
    available: number;
    replication: number;
    chunkSize: number;
    safeMode: boolean;
    /** dfs has no authentication yet: every cluster is open. */
    secured: boolean;
    nodeTimeoutMs: number;
  };
  nodes: DataNodeStatus[];
  events: ClusterEvent[];
}

export function dataNodeStatuses(nn: NameNode, now = Date.now()): DataNodeStatus[] {
  return nn.registry
    .all()
    .map((n) => {
      // A draining node that stopped answering is shown dead: that is what needs attention.
      const drain = nn.nodeState(n.id);
      const state: DataNodeState = drain === 'decommissioning' && !nn.registry.isLive(n.id) ? 'dead' : drain;
      return {
        id: n.id,
        address: n.address,
        state,
        capacity: n.capacity,
        used: n.used,
        chunks: nn.store.state.chunks.onNode(n.id).size,
        lastHeartbeatAgeMs: Math.max(0, now - n.lastHeartbeatMs),
        labels: n.labels,
        activeStreams: n.activeStreams,
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** A census is O(inodes + chunks): scrapes and page refreshes within this window share one. */
const CENSUS_TTL_MS = 500;
const censusCache = new WeakMap<NameNode, { atMs: number; census: ClusterCensus }>();

export function census(nn: NameNode, now = Date.now()): ClusterCensus {
  const cached = censusCache.get(nn);
  if (cached && now - cached.atMs < CENSUS_TTL_MS) return cached.census;
  let files = 0;
  let directories = 0;
  let symlinks = 0;
  for (const inode of nn.store.state.namespace.inodes.values()) {
    if (isRegular(inode)) files++;
    else if (isDir(inode)) directories++;
    else if (isSymlink(inode)) symlinks++;
  }
  const { underReplicated, missing } = nn.countProblems();
  const live = nn.registry.live().length;
  const fsStat = nn.statFs();
  const c: ClusterCensus = {
    files,
    directories,
    symlinks,
    chunks: nn.store.state.chunks.size,
    underReplicated,
    missing,
    liveNodes: live,
    deadNodes: nn.registry.all().length - live,
    capacity: fsStat.capacity,
    used: fsStat.used,
  };
  censusCache.set(nn, { atMs: now, census: c });
  return c;
}

/** The JSON behind the status page (`GET /api/status`). */
export function clusterStatus(nn: NameNode, log: EventLog = clusterEvents, eventLimit = 50): ClusterStatusView {
  const now = Date.now();
  const c = census(nn, now);
  return {
    generatedMs: now,
    clusterId: nn.store.clusterId,
    summary: {
      ...c,
      available: Math.max(0, c.capacity - c.used),
      replication: nn.settings.replication,
      chunkSize: nn.chunkSize,
      safeMode: nn.inSafeMode(),
      secured: false,
      nodeTimeoutMs: nn.settings.nodeTimeoutMs,
    },
    nodes: dataNodeStatuses(nn, now),
    events: log.recent(eventLimit),
  };
}

// ---- static assets --------------------------------------------------------

/**
 * The page is self-contained (no CDN, no inline script or style), so the
 * policy can forbid everything but this origin's own files and fetches.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/status.css': { file: 'status.css', type: 'text/css; charset=utf-8' },
  '/status.js': { file: 'status.js', type: 'text/javascript; charset=utf-8' },
};

/** Headers every page response carries: CSP plus the usual hardening. */
export function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
  };
}

/** Serves one of the page's files from `staticDir` (dist/namenode/static); false when `url` is not one. */
export function serveAsset(url: string, res: http.ServerResponse, staticDir = path.join(__dirname, 'static')): boolean {
  const asset = ASSETS[url];
  if (!asset) return false;
  fs.readFile(path.join(staticDir, asset.file), (err, body) => {
    if (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`status page asset missing (${asset.file}): run \`npm run build\`\n`);
      return;
    }
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache', ...securityHeaders() });
    res.end(body);
  });
  return true;
}
