#!/usr/bin/env node
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { DfsClient } from '../client/types';
import { ensureSecretFile, loadClusterKeys } from '../rpc/tokens';
import { nodeFlags } from '../common/node-flags';

/**
 * `npm start`: a whole cluster on this machine — 1 name node, 3 data nodes
 * (replication 2), data under ./.dfs/, FUSE-mounted at /mnt/dfs — in the
 * foreground. Ctrl-C (or SIGTERM) unmounts first, then stops the data nodes
 * and the name node, so nothing is left mounted or running.
 *
 * Children run in their own process groups: a terminal's Ctrl-C reaches only
 * this launcher, which then stops them in a safe order (the mount before the
 * servers it needs).
 */

interface Config {
  host: string;
  namenodePort: number;
  namenodeHttpPort: number;
  dataNodePorts: number[];
  replication: number;
  dataDir: string;
  mountPoint: string | null;
}

const DIST = path.resolve(__dirname, '..');
const REGISTER_TIMEOUT_MS = 30_000;
const MOUNT_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) fail(`${name}=${raw} is not a valid number`);
  return n;
}

function readConfig(): Config {
  const base = envInt('DFS_DATANODE_BASE_PORT', 9101);
  const count = envInt('DFS_DATANODES', 3);
  const mount = process.env.DFS_MOUNT ?? '/mnt/dfs';
  return {
    host: process.env.DFS_HOST || '127.0.0.1',
    namenodePort: envInt('DFS_NAMENODE_PORT', 9000),
    namenodeHttpPort: envInt('DFS_NAMENODE_HTTP_PORT', 9870),
    dataNodePorts: Array.from({ length: count }, (_, i) => base + i),
    replication: envInt('DFS_REPLICATION', 2),
    dataDir: path.resolve(process.env.DFS_DATA_DIR || '.dfs'),
    // DFS_MOUNT=none runs the cluster without a mount (no FUSE on this machine).
    mountPoint: mount === 'none' || mount === '' ? null : path.resolve(mount),
  };
}

function say(line: string): void {
  process.stdout.write(line + '\n');
}

function fail(message: string): never {
  process.stderr.write(`dfs-local: ${message}\n`);
  process.exit(1);
}

async function portBusy(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

async function waitForPort(host: string, port: number, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive()) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, host, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open) return true;
    await sleep(100);
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A server or mount process whose output goes to DATA_DIR/logs/NAME.log. */
class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  expectedExit = false;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    readonly logFile: string,
  ) {
    const out = fs.openSync(logFile, 'a');
    this.proc = spawn(process.execPath, [...nodeFlags(script), path.join(DIST, script), ...args], {
      stdio: ['ignore', out, out],
      detached: true,
      env: { ...process.env, DFS_LOG_PRETTY: '0' },
    });
    fs.closeSync(out);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve(signal ? null : code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(): Promise<void> {
    this.expectedExit = true;
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  tail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

function isMounted(mountPoint: string): boolean {
  try {
    // Field 5 of mountinfo is the mount point (spaces escaped as \040).
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') === mountPoint);
  } catch {
    return false;
  }
}

/** fusermount -u, and the lazy -uz when something still holds the mount busy. */
function unmount(mountPoint: string): boolean {
  if (!isMounted(mountPoint)) return true;
  if (spawnSync('fusermount', ['-u', mountPoint], { stdio: 'ignore' }).status === 0) return true;
  return spawnSync('fusermount', ['-uz', mountPoint], { stdio: 'ignore' }).status === 0 || !isMounted(mountPoint);
}

async function waitForDataNodes(client: DfsClient, ids: string[], alive: () => boolean): Promise<void> {
  const deadline = Date.now() + REGISTER_TIMEOUT_MS;
  let lastErr = '';
  while (Date.now() < deadline && alive()) {
    try {
      const status = await client.clusterStatus();
      const live = new Set(status.nodes.filter((n) => n.live).map((n) => n.id));
      if (ids.every((id) => live.has(id))) return;
      lastErr = `${live.size} of ${ids.length} registered`;
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    await sleep(200);
  }
  throw new Error(`data nodes did not register within ${REGISTER_TIMEOUT_MS / 1000}s (${lastErr})`);
}

async function main(): Promise<void> {
  const cfg = readConfig();
  const namenode = `${cfg.host}:${cfg.namenodePort}`;

  for (const script of ['namenode/main.js', 'datanode/main.js']) {
    if (!fs.existsSync(path.join(DIST, script)))
      fail(`${path.join(DIST, script)} is missing: run 'npm run build' first`);
  }

  // Busy ports are the usual reason a second `npm start` fails: name them all at once.
  const wanted: Array<[number, string, string]> = [
    [cfg.namenodePort, 'name node', 'DFS_NAMENODE_PORT'],
    [cfg.namenodeHttpPort, 'name node HTTP', 'DFS_NAMENODE_HTTP_PORT'],
    ...cfg.dataNodePorts.map((p, i): [number, string, string] => [p, `data node dn${i + 1}`, 'DFS_DATANODE_BASE_PORT']),
  ];
  const busy: string[] = [];
  for (const [port, what, env] of wanted) if (await portBusy(cfg.host, port)) busy.push(`${port} (${what}; ${env})`);
  if (busy.length) {
    fail(
      `port${busy.length > 1 ? 's' : ''} already in use on ${cfg.host}: ${busy.join(', ')}. ` +
        `Is another cluster running? Stop it, or choose other ports with the env variables named.`,
    );
  }

  const logDir = path.join(cfg.dataDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true });
  const secrets = setupSecrets(cfg.dataDir);
  const children: Child[] = [];
  let mount: Child | undefined;
  let mounted = false;
  let stopping = false;

  const stopAll = async (reason: string, code: number): Promise<never> => {
    if (stopping) return new Promise<never>(() => undefined);
    stopping = true;
    say(`\n${reason}: stopping the cluster...`);
    if (cfg.mountPoint && mounted) {
      if (unmount(cfg.mountPoint)) say(`  unmounted ${cfg.mountPoint}`);
      else
        process.stderr.write(
          `dfs-local: could not unmount ${cfg.mountPoint}; run 'fusermount -uz ${cfg.mountPoint}'\n`,
        );
    }
    await mount?.stop();
    // Data nodes before the name node, so none of them logs a lost name node on the way out.
    await Promise.all(children.filter((c) => c.name !== 'namenode').map((c) => c.stop()));
    await Promise.all(children.filter((c) => c.name === 'namenode').map((c) => c.stop()));
    say('  stopped. Data kept in ' + cfg.dataDir);
    process.exit(code);
  };

  let signals = 0;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      // A second Ctrl-C means "now": kill everything without waiting.
      if (++signals > 1) {
        for (const c of [...children, ...(mount ? [mount] : [])]) c.proc.kill('SIGKILL');
        if (cfg.mountPoint && mounted) unmount(cfg.mountPoint);
        process.exit(130);
      }
      void stopAll(`received ${sig}`, 0);
    });
  }
  // Last resort if the launcher itself dies: leave no servers behind.
  process.on('exit', () => {
    for (const c of [...children, ...(mount ? [mount] : [])]) if (c.running) c.proc.kill('SIGKILL');
  });

  const watch = (c: Child): void => {
    void c.exited.then((code) => {
      if (c.expectedExit || stopping) return;
      process.stderr.write(
        `dfs-local: ${c.name} exited unexpectedly (${code ?? 'signal'}); last lines of ${c.logFile}:\n`,
      );
      process.stderr.write(c.tail() + '\n');
      void stopAll(`${c.name} died`, 1);
    });
  };

  const nn = new Child(
    'namenode',
    'namenode/main.js',
    [
      '--host',
      cfg.host,
      '--port',
      String(cfg.namenodePort),
      '--http-port',
      String(cfg.namenodeHttpPort),
      '--data-dir',
      path.join(cfg.dataDir, 'namenode'),
      '--replication',
      String(cfg.replication),
      '--secret-file',
      secrets.secretFile,
    ],
    path.join(logDir, 'namenode.log'),
  );
  children.push(nn);
  watch(nn);
  if (!(await waitForPort(cfg.host, cfg.namenodePort, 20_000, () => nn.running))) {
    return stopAll('the name node did not start', 1);
  }

  const ids = cfg.dataNodePorts.map((_, i) => `dn${i + 1}`);
  cfg.dataNodePorts.forEach((port, i) => {
    const dn = new Child(
      ids[i],
      'datanode/main.js',
      [
        '--namenode',
        namenode,
        '--host',
        cfg.host,
        '--port',
        String(port),
        '--data-dir',
        path.join(cfg.dataDir, ids[i]),
        '--id',
        ids[i],
        '--secret-file',
        secrets.secretFile,
      ],
      path.join(logDir, `${ids[i]}.log`),
    );
    children.push(dn);
    watch(dn);
  });

  const { createClient } = await import('../client');
  const client = createClient({ namenode, token: secrets.token });
  try {
    await waitForDataNodes(client, ids, () => !stopping);
  } catch (err) {
    await client.close().catch(() => undefined);
    return stopAll(err instanceof Error ? err.message : String(err), 1);
  }
  await client.close().catch(() => undefined);

  let mountNote = 'not mounted (DFS_MOUNT=none)';
  if (cfg.mountPoint) {
    const mp = cfg.mountPoint;
    mountNote = await startMount(mp, namenode, logDir, secrets.tokenFile).then(
      (child) => {
        mount = child;
        mounted = true;
        void child.exited.then(() => {
          if (stopping) return;
          mounted = isMounted(mp);
          process.stderr.write(
            `dfs-local: the mount process exited; ${mp} is no longer served (see ${child.logFile})\n`,
          );
        });
        return mp;
      },
      (err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        process.stderr.write(`dfs-local: warning: could not mount at ${mp}: ${why}\n`);
        return `NOT mounted (${why}); the cluster runs without it`;
      },
    );
  }

  const tokenFile = path.relative(process.cwd(), secrets.tokenFile) || secrets.tokenFile;
  const cli = `DFS_TOKEN_FILE=${tokenFile} node ${path.relative(process.cwd(), path.join(DIST, 'cli', 'main.js')) || 'dist/cli/main.js'}`;
  say('dfs local cluster is up');
  say(`  name node    ${namenode}    status page http://${cfg.host}:${cfg.namenodeHttpPort}/`);
  say(`  data nodes   ${ids.map((id, i) => `${id} ${cfg.host}:${cfg.dataNodePorts[i]}`).join(', ')}`);
  say(`  replication  ${cfg.replication}`);
  say(`  data         ${cfg.dataDir}    logs ${logDir}`);
  say(`  secret       ${secrets.secretFile} (0600)    client token ${secrets.tokenFile}`);
  say(`  mount        ${mountNote}`);
  say('');
  say('Try:');
  if (mounted && cfg.mountPoint) say(`  echo hello > ${cfg.mountPoint}/hello.txt && ls -l ${cfg.mountPoint}`);
  say(`  ${cli} status`);
  say(`  ${cli} file_write ./README.md /readme.md && ${cli} file_info /readme.md`);
  say('');
  say('Press Ctrl-C to unmount and stop everything.');
}

/**
 * The cluster secret (generated once, mode 0600, in DATA_DIR/secrets) and a
 * client token for the CLI and the mount: a local cluster is never open.
 */
function setupSecrets(dataDir: string): { secretFile: string; tokenFile: string; token: string } {
  const dir = path.join(dataDir, 'secrets');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secretFile = path.join(dir, 'secret');
  if (ensureSecretFile(secretFile)) say(`  generated the cluster secret ${secretFile}`);
  const token = loadClusterKeys(secretFile).issueClientToken('local');
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  fs.chmodSync(tokenFile, 0o600);
  return { secretFile, tokenFile, token };
}

/** Spawns `dfs-mount MOUNTPOINT -f` and resolves once the kernel lists the mount. */
async function startMount(mountPoint: string, namenode: string, logDir: string, tokenFile: string): Promise<Child> {
  const script = path.join(DIST, 'mount', 'main.js');
  if (!fs.existsSync(script)) throw new Error(`${script} is missing (build the mount first)`);
  if (isMounted(mountPoint) && !unmount(mountPoint)) {
    throw new Error(`something is already mounted there and 'fusermount -uz' failed`);
  }
  try {
    fs.mkdirSync(mountPoint, { recursive: true });
  } catch (err) {
    throw new Error(
      `cannot create the directory (${(err as NodeJS.ErrnoException).code ?? String(err)}); set DFS_MOUNT`,
    );
  }
  const child = new Child(
    'mount',
    'mount/main.js',
    [mountPoint, '-f', '--namenode', namenode, '--token-file', tokenFile],
    path.join(logDir, 'mount.log'),
  );
  const deadline = Date.now() + MOUNT_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (isMounted(mountPoint)) return child;
    if (!child.running) {
      const tail = child.tail(3).split('\n').pop() ?? '';
      throw new Error(`the mount process exited${tail ? `: ${tail}` : ''} (see ${child.logFile})`);
    }
    await sleep(100);
  }
  await child.stop();
  throw new Error(`not mounted after ${MOUNT_TIMEOUT_MS / 1000}s (see ${child.logFile})`);
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
