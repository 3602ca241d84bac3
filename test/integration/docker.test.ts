import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, Proc, ROOT, tempDir, waitFor, waitForPort } from '../helpers/cluster';
import { fusermount, isMounted, requireFuse, sh } from '../helpers/mount';

/**
 * No Docker engine runs here, so this checks what can be checked without one:
 * the compose file is valid for docker-compose, the Dockerfile lints clean and
 * has the promised shape, and docker/entrypoint.sh really runs every role
 * (name node, data node, mount, dfs) from environment variables outside Docker.
 */

const DOCKER = path.join(ROOT, 'docker');
const ENTRYPOINT = path.join(DOCKER, 'entrypoint.sh');

function entrypoint(role: string, env: NodeJS.ProcessEnv, args: string[] = []): Proc {
  const child = spawn('bash', [ENTRYPOINT, role, ...args], {
    env: { ...process.env, DFS_APP_DIR: ROOT, DFS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(role, child);
}

async function entrypointOutput(role: string, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const p = entrypoint(role, env, args);
  const code = await p.exited;
  if (code !== 0) throw new Error(`entrypoint ${role} exited ${code}: ${p.log()}`);
  return p.output.join('');
}

describe('docker/compose.yaml', () => {
  it('is a valid compose file with a name node, three data nodes with volumes and health checks, and a privileged client', async () => {
    const r = await sh(`docker-compose -f ${path.join(DOCKER, 'compose.yaml')} config`);
    expect(r.code, `docker-compose config failed (is docker-compose installed?): ${r.stderr}`).toBe(0);
    const config = r.stdout;
    for (const svc of ['namenode', 'datanode1', 'datanode2', 'datanode3', 'client']) {
      expect(config).toMatch(new RegExp(`^  ${svc}:$`, 'm'));
    }
    for (const vol of ['namenode-data', 'datanode1-data', 'datanode2-data', 'datanode3-data']) {
      expect(config).toMatch(new RegExp(`^  ${vol}: \\{\\}$|^  ${vol}:$`, 'm'));
    }
    expect(config.match(/healthcheck:/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    expect(config).toMatch(/privileged: true/);
    expect(config).toMatch(/\/dev\/fuse:\/dev\/fuse/);
    expect(config).toMatch(/SYS_ADMIN/);
  });
});

describe('docker/Dockerfile', () => {
  const text = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');

  it('lints without problems', () => {
    const problems = validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('builds with dev dependencies and runs with production ones only, as a non-root user', () => {
    const stages = [...text.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
    expect(stages).toEqual(['build', 'test', 'runtime']);
    const runtime = text.slice(text.indexOf('AS runtime'));
    expect(runtime).toMatch(/npm prune --omit=dev/);
    expect(runtime).toMatch(/^USER node$/m);
    for (const bin of ['dfs-namenode', 'dfs-datanode', 'dfs-mount', 'dfs']) {
      expect(runtime).toMatch(new RegExp(`/usr/local/bin/${bin}\\b`));
    }
  });
});

describe('docker/entrypoint.sh outside Docker', () => {
  const dir = tempDir('entrypoint');
  const procs: Proc[] = [];
  const mnt = path.join(dir, 'mnt');

  afterAll(async () => {
    await fusermount(['-uz', mnt]).catch(() => undefined);
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs a name node, a labelled data node, the dfs CLI and a mount from environment variables', async () => {
    requireFuse();
    const [port, httpPort, dnPort] = [await freePort(), await freePort(), await freePort()];
    const namenode = `127.0.0.1:${port}`;
    const nn = entrypoint('namenode', {
      DFS_HOST: '127.0.0.1',
      DFS_PORT: String(port),
      DFS_HTTP_PORT: String(httpPort),
      DFS_DATA_DIR: path.join(dir, 'nn'),
      DFS_REPLICATION: '1',
      DFS_NODE_TIMEOUT: '5s',
    });
    procs.push(nn);
    await waitForPort(port);
    const dn = entrypoint('datanode', {
      DFS_NAMENODE: namenode,
      DFS_HOST: '127.0.0.1',
      DFS_PORT: String(dnPort),
      DFS_DATA_DIR: path.join(dir, 'dn'),
      DFS_ID: 'dn-entry',
      DFS_LABELS: 'ssd,fast',
      DFS_CAPACITY: '1GiB',
    });
    procs.push(dn);

    const status = await waitFor('the data node to register', async () => {
      const out = JSON.parse(await entrypointOutput('dfs', {}, ['--namenode', namenode, '--json', 'status'])) as {
        nodes: { id: string; live: boolean; labels: string[]; capacity: number }[];
      };
      return out.nodes.find((n) => n.id === 'dn-entry' && n.live);
    });
    expect(status.labels).toEqual(['ssd', 'fast']);
    expect(status.capacity).toBe(1024 ** 3);

    fs.mkdirSync(mnt);
    const mount = entrypoint('mount', { DFS_NAMENODE: namenode, DFS_MOUNT: mnt });
    procs.push(mount);
    await waitFor('the mount', () => isMounted(mnt));
    await fs.promises.writeFile(path.join(mnt, 'hello.txt'), 'through the entrypoint\n');
    const listed = await entrypointOutput('dfs', {}, ['--namenode', namenode, 'read_directory', '/']);
    expect(listed).toMatch(/hello\.txt/);
    await mount.kill('SIGTERM');
    expect(await isMounted(mnt)).toBe(false);
  });
});
