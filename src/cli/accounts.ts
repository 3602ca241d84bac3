import fs from 'node:fs';

/**
 * uid/gid -> name from the local /etc/passwd and /etc/group, like `ls -l`.
 * Cluster ids are the callers' numeric ids, so local names are a best-effort
 * label: the number is always shown too.
 */

let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

function load(file: string): Map<number, string> {
  const map = new Map<number, string>();
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id) && !map.has(Number(id))) map.set(Number(id), name);
    }
  } catch {
    // No readable account database (containers, minimal images): numbers only.
  }
  return map;
}

export function userName(uid: number): string | undefined {
  users ??= load('/etc/passwd');
  return users.get(uid);
}

export function groupName(gid: number): string | undefined {
  groups ??= load('/etc/group');
  return groups.get(gid);
}

/** `alice (1000)` or just `1000`. */
export function describeUser(uid: number): string {
  const name = userName(uid);
  return name ? `${name} (${uid})` : String(uid);
}

export function describeGroup(gid: number): string {
  const name = groupName(gid);
  return name ? `${name} (${gid})` : String(gid);
}
