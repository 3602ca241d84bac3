import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Child processes and FUSE mounts the benchmark starts, tracked so that every
 * exit path (normal end, error, SIGINT/SIGTERM, process exit) stops them and
 * leaves no mount behind.
 */

const children = new Set<ChildProcess>();
const mounts = new Set<string>();

export function trackMount(mountpoint: string): void {
  mounts.add(mountpoint);
}

/** Last-resort cleanup, synchronous so it can run in an 'exit' handler. */
export function killEverythingSync(): void {
  for (const c of children) c.kill('SIGKILL');
  for (const m of mounts) if (isMounted(m)) spawnSync('fusermount', ['-uz', m], { stdio: 'ignore' });
}

export function isMounted(mountpoint: string): boolean {
  const mounts = readFileSync('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === mountpoint);
}

/** A long-running child (server or FUSE daemon) whose output is kept for error messages. */
export class Daemon {
  private readonly out: string[] = [];
  readonly exited: Promise<number | null>;
  readonly child: ChildProcess;
  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(command, args, {
      env: { ...process.env, DFS_LOG_LEVEL: process.env.DFS_BENCH_LOG_LEVEL ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(this.child);
    const keep = (d: Buffer): void => {
      this.out.push(d.toString());
      if (this.out.length > 200) this.out.splice(0, 100);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        children.delete(this.child);
        resolve(code ?? (signal ? -1 : null));
      });
      this.child.once('error', (err) => {
        this.out.push(String(err));
        children.delete(this.child);
        resolve(-1);
      });
    });
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && children.has(this.child);
  }
  /** The last lines of its output, for a one-line error message. */
  tail(lines = 5): string {
    return this.out.join('').trim().split('\n').slice(-lines).join(' | ');
  }
  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true; throws after `timeoutMs` or as soon as `abort` resolves. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  abort?: Promise<string>,
): Promise<void> {
  let aborted: string | undefined;
  void abort?.then((reason) => (aborted = reason));
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    try {
      if (await check()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last && ` (${last})`}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves with a message when the daemon exits (for `waitUntil`'s abort). */
export function exitReason(d: Daemon): Promise<string> {
  return d.exited.then((code) => `${d.name} exited with ${code}: ${d.tail()}`);
}

export { freePort } from '../common/ports';

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Unmounts a FUSE mount: asks its daemon to stop, falls back to a lazy `fusermount -uz`. */
export async function unmount(mountpoint: string, daemon?: Daemon): Promise<void> {
  if (daemon) await daemon.stop().catch(() => undefined);
  if (isMounted(mountpoint)) await run('fusermount', ['-uz', mountpoint]).catch(() => undefined);
  mounts.delete(mountpoint);
  await fsp.rmdir(mountpoint).catch(() => undefined);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, capturing its output; rejects on a non-zero exit unless `allowFail`. */
export function run(
  command: string,
  args: string[],
  opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => stdout.push(d));
    child.stderr.on('data', (d: Buffer) => stderr.push(d));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.once('error', (err) => {
      children.delete(child);
      clearTimeout(timer);
      reject(new Error(`${command}: ${err.message}`));
    });
    child.once('close', (code) => {
      children.delete(child);
      clearTimeout(timer);
      const res = {
        code,
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      };
      if (code !== 0 && !opts.allowFail) {
        const msg = res.stderr.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${command} ${args.slice(0, 3).join(' ')} exited ${code}: ${msg}`));
      } else resolve(res);
    });
  });
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}
