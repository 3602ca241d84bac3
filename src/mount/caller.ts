import { readFile } from 'node:fs/promises';
import type { Caller } from '../client/types';

/** How long a process's supplementary groups are reused before /proc is read again. */
const GROUPS_TTL_MS = 2_000;
const MAX_CACHED_PIDS = 4_096;

/**
 * Supplementary groups of the calling process. FUSE only carries uid/gid/pid,
 * so (like libfuse's fuse_getgroups) they come from /proc/PID/status, read
 * asynchronously and cached briefly per pid. Root needs none: it passes every
 * permission check anyway.
 */
export class CallerGroups {
  private readonly cache = new Map<number, { groups: number[]; at: number }>();

  async resolve(uid: number, gid: number, pid: number): Promise<Caller> {
    if (uid === 0 || pid <= 0) return { uid, gid };
    const hit = this.cache.get(pid);
    const now = Date.now();
    if (hit && now - hit.at < GROUPS_TTL_MS) return { uid, gid, groups: hit.groups };
    const groups = await readGroups(pid);
    if (this.cache.size >= MAX_CACHED_PIDS) this.cache.clear();
    this.cache.set(pid, { groups, at: now });
    return { uid, gid, groups };
  }
}

export function parseGroupsLine(status: string): number[] {
  const line = /^Groups:(.*)$/m.exec(status);
  if (!line) return [];
  return line[1]
    .trim()
    .split(/\s+/)
    .filter((g) => g !== '')
    .map(Number)
    .filter((g) => Number.isInteger(g) && g >= 0);
}

async function readGroups(pid: number): Promise<number[]> {
  try {
    return parseGroupsLine(await readFile(`/proc/${pid}/status`, 'utf8'));
  } catch {
    // The process may be gone already (or live in another pid namespace): uid/gid still apply.
    return [];
  }
}
