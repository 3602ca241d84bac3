import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFlags } from '../../src/common/node-flags';
import { DIST, Proc, freePort, tempDir, waitFor } from '../helpers/cluster';

/**
 * `npm start` (dist/cli/local-cluster.js): a whole cluster in the foreground,
 * mounted, stopped cleanly by Ctrl-C. Runs on random ports and temp dirs so it
 * never collides with a developer's own `npm start`.
 */

const LAUNCHER = path.join(DIST, 'cli', 'local-cluster.js');
const CLI = path.join(DIST, 'cli', 'main.js');

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Three consecutive free ports for the data nodes. */
async function freeRange(n: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base + n > 65535) continue;
    let ok = true;
    for (let i = 1; i < n && ok; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
}

function isMounted(dir: string): boolean {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir);
}

/** Command lines (argv) of the running processes that mention `text`. */
function commandLinesWith(text: string): string[][] {
  const out: string[][] = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.some((a) => a.includes(text))) out.push(argv);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

describe('npm start (local-cluster.js)', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  async function launch(extraEnv: NodeJS.ProcessEnv = {}) {
    const root = tempDir('local-cluster');
    const mount = path.join(root, 'mnt');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DFS_DATA_DIR: path.join(root, 'data'),
      DFS_MOUNT: mount,
      DFS_NAMENODE_PORT: String(await freePort()),
      DFS_NAMENODE_HTTP_PORT: String(await freePort()),
      DFS_DATANODE_BASE_PORT: String(await freeRange(3)),
      DFS_LOG_LEVEL: 'warn',
      ...extraEnv,
    };
    const proc = new Proc(
      'local-cluster',
      spawn(process.execPath, [LAUNCHER], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    cleanup.push(async () => {
      await proc.kill('SIGINT');
      if (isMounted(mount)) spawnSync('fusermount', ['-uz', mount]);
      fs.rmSync(root, { recursive: true, force: true });
    });
    return { proc, env, root, mount };
  }

  it('starts 1 name node and 3 data nodes, mounts, and stops everything on Ctrl-C', async () => {
    const { proc, env, root, mount } = await launch();
    await waitFor('the cluster to come up', () => proc.log().includes('Press Ctrl-C'), 60_000);
    expect(proc.log()).toContain(`name node    127.0.0.1:${env.DFS_NAMENODE_PORT}`);
    expect(proc.log()).toMatch(/dn1 127\.0\.0\.1:\d+, dn2 127\.0\.0\.1:\d+, dn3 127\.0\.0\.1:\d+/);
    expect(fs.existsSync(path.join(root, 'data', 'namenode'))).toBe(true);
    for (const dn of ['dn1', 'dn2', 'dn3']) expect(fs.existsSync(path.join(root, 'data', dn))).toBe(true);
    expect(isMounted(mount)).toBe(true);
    // Data nodes and the mount run with the node flags of src/common/node-flags.ts, the name node without.
    const programs = commandLinesWith(root);
    const dataPath = nodeFlags('datanode/main.js');
    const flagsOf = (script: string) =>
      programs
        .filter((argv) => argv.some((a) => a.endsWith(script)))
        .map((argv) => dataPath.every((f) => argv.includes(f)));
    expect(flagsOf('datanode/main.js')).toEqual([true, true, true]);
    expect(flagsOf('mount/main.js')).toEqual([true]);
    expect(flagsOf('namenode/main.js')).toEqual([false]);

    // Written through the mount, seen by the CLI with replication 2.
    fs.writeFileSync(path.join(mount, 'hello.txt'), 'hello');
    const info = spawnSync(process.execPath, [CLI, '--json', 'file_info', '/hello.txt'], {
      env: {
        ...env,
        DFS_NAMENODE: `127.0.0.1:${env.DFS_NAMENODE_PORT}`,
        DFS_STATE_DIR: root,
        DFS_TOKEN_FILE: path.join(root, 'data', 'secrets', 'token'),
      },
      encoding: 'utf8',
    });
    expect(info.status, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout) as { size: number; chunks: Array<{ replicas: unknown[] }> };
    expect(parsed.size).toBe(5);
    expect(parsed.chunks[0].replicas).toHaveLength(2);

    proc.child.kill('SIGINT');
    expect(await proc.exited).toBe(0);
    expect(proc.log()).toContain(`unmounted ${mount}`);
    expect(isMounted(mount)).toBe(false);
    for (const port of [env.DFS_NAMENODE_PORT, env.DFS_DATANODE_BASE_PORT]) {
      await waitFor(`port ${port} to close`, () => portFree(Number(port)), 10_000);
    }
  });

  it('says which ports are busy instead of starting', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const { proc } = await launch({ DFS_NAMENODE_PORT: String(port), DFS_MOUNT: 'none' });
    expect(await proc.exited).toBe(1);
    expect(proc.log()).toMatch(
      new RegExp(`dfs-local: port already in use on 127\\.0\\.0\\.1: ${port} \\(name node; DFS_NAMENODE_PORT\\)`),
    );
    expect(proc.log()).toMatch(/another cluster running/);
  });
});
