import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDfsMounted } from './mount-point';
import { nodeFlags } from '../common/node-flags';

/** How long the parent waits for the detached mount to come up. */
const LIVE_TIMEOUT_MS = 120_000;
const POLL_MS = 100;

/** Where a detached mount writes its log (DFS_MOUNT_LOG overrides). */
export function daemonLogPath(mountPoint: string): string {
  if (process.env.DFS_MOUNT_LOG) return process.env.DFS_MOUNT_LOG;
  const tag = createHash('sha1').update(mountPoint).digest('hex').slice(0, 8);
  return path.join(os.tmpdir(), `dfs-mount-${path.basename(mountPoint) || 'root'}-${tag}.log`);
}

/**
 * Without -f: re-run this program with -f in a new session, its output going
 * to a log file, and return once the kernel lists the mount (or print why
 * the child gave up). Resolves with the exit status for the parent.
 */
export async function detach(argv: string[], mountPoint: string): Promise<number> {
  const logPath = daemonLogPath(mountPoint);
  const log = await open(logPath, 'a');
  const start = (await log.stat()).size;
  const flags = [...new Set([...nodeFlags('mount/main.js'), ...process.execArgv])];
  const child = spawn(process.execPath, [...flags, process.argv[1], ...argv, '--foreground'], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
    env: process.env,
  });
  await log.close();
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => (exited = code ?? (signal ? 128 : 1)));
  child.once('error', () => (exited = 1));

  const deadline = Date.now() + LIVE_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      process.stderr.write(await childOutput(logPath, start));
      return exited === 0 ? 1 : (exited ?? 1);
    }
    if (await isDfsMounted(mountPoint).catch(() => false)) {
      child.unref();
      return 0;
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      process.stderr.write(`dfs-mount: the mount at ${mountPoint} did not come up in time (log: ${logPath})\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** What the child wrote since it started: its one-line error, plus any log lines. */
async function childOutput(logPath: string, from: number): Promise<string> {
  const text = (await readFile(logPath)).subarray(from).toString('utf8');
  return text.endsWith('\n') || text === '' ? text : `${text}\n`;
}
