import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TARGET_IDS, TARGET_LABELS } from '../../src/bench/targets';
import { DIST, ROOT } from '../helpers/cluster';

/**
 * The benchmark is not a test: this only keeps the harness from rotting. It
 * runs `--quick --dry` (tiny sizes) and never looks at a figure.
 */

function benchMounts(): string[] {
  return fs
    .readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((line) => line.includes('dfs-bench-'));
}

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(DIST, 'bench/main.js'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run bench -- --quick --dry', () => {
  it('sets up every target it can, prints one table with them and leaves no mount behind', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-benchtest-')), 'BENCH.md');
    try {
      // Two repetitions: each copies its tree into a directory of its own on the same target.
      const { code, stdout, stderr } = await runBench(['--quick', '--dry', '--reps', '2', '--out', out], 120_000);
      expect(code, stderr).toBe(0);

      const header = stdout.split('\n').find((l) => l.startsWith('| workload | unit |'));
      expect(header, stdout).toBeDefined();
      // Local disk and memfs need nothing but FUSE; the dfs targets are either measured or said to be unavailable.
      expect(header).toContain(TARGET_LABELS.local);
      expect(header).toContain(TARGET_LABELS.memfs);
      for (const id of TARGET_IDS) {
        if (!header!.includes(TARGET_LABELS[id])) expect(stdout).toContain(`target unavailable (${id})`);
      }
      expect(stdout).toContain('figures are NOT measurements');
      const roundTrip = stdout.split('\n').find((l) => l.startsWith('| `cp -r` round trip identical'));
      expect(roundTrip, stdout).toBeDefined();
      expect(roundTrip).not.toContain('NO');
      expect(fs.readFileSync(out, 'utf8')).toContain(header!);
      expect(benchMounts()).toEqual([]);
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });
});
