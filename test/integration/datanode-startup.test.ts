import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIST, freePort, startProcess, tempDir, waitForPort } from '../helpers/cluster';

const MAIN = path.join(DIST, 'datanode/main.js');
const root = tempDir('dn-startup');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Runs dfs-datanode expecting it to refuse to start; resolves with its exit code and stderr. */
function runFailing(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, DFS_LOG_LEVEL: 'warn' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dfs-datanode ${args.join(' ')} kept running: ${stderr}`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: stderr.trim() });
    });
  });
}

describe('dfs-datanode start-up', () => {
  it('refuses a port in use with one clear line', async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    try {
      const r = await runFailing(['--port', String(port), '--data-dir', path.join(root, 'a')]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe(`dfs-datanode: port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });

  it('refuses a data dir it cannot write', async () => {
    const file = path.join(root, 'not-a-dir');
    fs.writeFileSync(file, 'x');
    const r = await runFailing(['--port', String(await freePort()), '--data-dir', path.join(file, 'sub')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^dfs-datanode: data dir .*not-a-dir\/sub is not writable \(ENOTDIR\)$/);
  });

  it('refuses bad flag values and a bad name node address', async () => {
    for (const [args, msg] of [
      [['--port', 'abc'], /port/],
      [['--capacity', '12Q'], /not a size/],
      [['--namenode', 'nohost'], /bad name node address 'nohost'/],
      [['--id', '../evil'], /--id/],
    ] as const) {
      const r = await runFailing([...args, '--data-dir', path.join(root, 'b')]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });

  it('keeps a generated node id in DATA_DIR/node-id and exits cleanly on SIGTERM', async () => {
    const dataDir = path.join(root, 'c');
    const port = await freePort();
    const args = ['--port', String(port), '--data-dir', dataDir, '--namenode', `127.0.0.1:${await freePort()}`];
    const first = startProcess('dn', 'datanode/main.js', args);
    try {
      await waitForPort(port);
      const id = fs.readFileSync(path.join(dataDir, 'node-id'), 'utf8').trim();
      expect(id).toMatch(/^dn-[0-9a-f]{8}$/);
      await first.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const second = startProcess('dn', 'datanode/main.js', args);
      await waitForPort(port);
      await second.kill('SIGTERM');
      expect(fs.readFileSync(path.join(dataDir, 'node-id'), 'utf8').trim()).toBe(id);
    } finally {
      await first.kill('SIGKILL');
    }
  });
});
