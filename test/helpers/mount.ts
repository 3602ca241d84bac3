import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DIST, Proc, startProcess, tempDir, waitFor } from './cluster';

/**
 * A real `dfs-mount -f` process against a running cluster. `stop()` always
 * leaves no mount behind: SIGTERM (clean unmount), then `fusermount -uz` and
 * SIGKILL if the process did not finish in time.
 */
export class TestMount {
  proc!: Proc;
  readonly dir: string;

  constructor(
    readonly namenode: string,
    readonly extraArgs: string[] = [],
    dir?: string,
  ) {
    this.dir = dir ?? path.join(tempDir('mnt'), 'm');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  async start(): Promise<this> {
    requireFuse();
    this.proc = startProcess('mount', 'mount/main.js', [
      this.dir,
      '--namenode',
      this.namenode,
      '-f',
      ...this.extraArgs,
      ...(process.env.DFS_TEST_MOUNT_ARGS?.split(' ').filter(Boolean) ?? []),
    ]);
    await Promise.race([
      waitFor(`mount at ${this.dir}`, () => isMounted(this.dir), 30_000, 50),
      this.proc.exited.then((code) => {
        throw new Error(`dfs-mount exited ${code}: ${this.proc.log()}`);
      }),
    ]);
    return this;
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  async stop(): Promise<void> {
    if (this.proc?.running) {
      this.proc.child.kill('SIGTERM');
      const exited = await Promise.race([this.proc.exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!exited) await this.proc.kill('SIGKILL');
    }
    // DFS_TEST_MOUNT_LOG=FILE keeps the mount's log (run with DFS_TEST_MOUNT_ARGS=--debug for every op).
    if (process.env.DFS_TEST_MOUNT_LOG && this.proc) fs.appendFileSync(process.env.DFS_TEST_MOUNT_LOG, this.proc.log());
    if (await isMounted(this.dir).catch(() => false)) await fusermount(['-uz', this.dir]).catch(() => undefined);
    fs.rmSync(path.dirname(this.dir), { recursive: true, force: true });
  }

  /** Kills the mount process without unmounting (a crash), then clears the dead mount. */
  async crash(): Promise<void> {
    await this.proc.kill('SIGKILL');
    await fusermount(['-uz', this.dir]).catch(() => undefined);
  }
}

/** FUSE must be present: a test that needs it fails loudly instead of skipping. */
export function requireFuse(): void {
  if (!fs.existsSync('/dev/fuse')) throw new Error('/dev/fuse is missing: FUSE tests need it (modprobe fuse)');
}

export async function isMounted(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((l) => l.split(' ')[4] === dir && l.includes(' - fuse.dfs '));
}

export function fusermount(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('fusermount', args, (err, _o, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve())),
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a shell command asynchronously (never execSync: the mount serves from this machine). */
export function sh(command: string, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<ShellResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like `sh` but throws with the command's output when it fails. */
export async function shOk(command: string, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await sh(command, opts);
  if (r.code !== 0) throw new Error(`'${command}' exited ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const MOUNT_MAIN = path.join(DIST, 'mount/main.js');
