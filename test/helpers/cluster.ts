import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nodeFlags } from '../../src/common/node-flags';
import { freePort } from '../../src/common/ports';

/**
 * Starts real dfs processes (compiled, from dist/) in temp dirs on 127.0.0.1
 * and always stops them: every test that uses a cluster calls `stop()` in
 * afterAll/afterEach (and the process exit hook below catches the rest).
 */

export const ROOT = path.resolve(__dirname, '../..');
export const DIST = path.join(ROOT, 'dist');

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export { freePort };

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dfs-${prefix}-`));
}

export class Proc {
  readonly output: string[] = [];
  exited: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    live.add(child);
    child.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        live.delete(child);
        resolve(code);
      }),
    );
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    await this.exited;
  }
  log(): string {
    return this.output.join('');
  }
}

export function startProcess(name: string, script: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [...nodeFlags(script), path.join(DIST, script), ...args], {
    env: { ...process.env, DFS_LOG_LEVEL: process.env.DFS_TEST_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(name, child);
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
type Falsy = undefined | null | false | 0 | '';

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | Falsy> | T | Falsy,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function waitForPort(port: number, timeoutMs = 20_000, host = '127.0.0.1'): Promise<void> {
  await waitFor(
    `port ${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, host, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    timeoutMs,
  );
}

/** A secured cluster's files: the secret (mode 0600), a client token for it, and optional TLS PEM files. */
export interface ClusterSecurity {
  secretFile: string;
  tokenFile: string;
  tls?: { ca: string; cert: string; key: string };
}

/** Flags every server process of a secured cluster gets. */
export function securityArgs(sec: ClusterSecurity | undefined): string[] {
  if (!sec) return [];
  const args = ['--secret-file', sec.secretFile];
  if (sec.tls) args.push('--tls-cert', sec.tls.cert, '--tls-key', sec.tls.key, '--tls-ca', sec.tls.ca);
  return args;
}

/** Environment for a client process (dfs, dfs-mount) of a secured cluster. */
export function clientEnv(sec: ClusterSecurity | undefined): NodeJS.ProcessEnv {
  if (!sec) return {};
  return { DFS_TOKEN_FILE: sec.tokenFile, ...(sec.tls ? { DFS_TLS_CA: sec.tls.ca } : {}) };
}

export interface NameNodeOptions {
  replication?: number;
  chunkSize?: string;
  nodeTimeout?: string;
  extraArgs?: string[];
  /** Secret (and TLS) for every process; TestCluster fills it in when `secure` is set. */
  security?: ClusterSecurity;
}

export interface DataNodeOptions {
  capacity?: string;
  labels?: string[];
  extraArgs?: string[];
  /** Overrides the cluster's security for this node (e.g. `null`: a node without the secret). */
  security?: ClusterSecurity | null;
}

export class NameNodeProc {
  proc!: Proc;
  constructor(
    readonly port: number,
    readonly httpPort: number,
    readonly dataDir: string,
    readonly opts: NameNodeOptions,
  ) {}
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--http-port',
      String(this.httpPort),
      '--data-dir',
      this.dataDir,
      '--replication',
      String(this.opts.replication ?? 2),
      '--node-timeout',
      this.opts.nodeTimeout ?? '3s',
    ];
    if (this.opts.chunkSize) args.push('--chunk-size', this.opts.chunkSize);
    this.proc = startProcess('namenode', 'namenode/main.js', [
      ...args,
      ...securityArgs(this.opts.security),
      ...(this.opts.extraArgs ?? []),
    ]);
    await Promise.race([
      waitForPort(this.port),
      this.proc.exited.then((c) => {
        throw new Error(`namenode exited ${c}: ${this.proc.log()}`);
      }),
    ]);
  }
}

export class DataNodeProc {
  proc!: Proc;
  constructor(
    readonly id: string,
    readonly port: number,
    readonly dataDir: string,
    readonly namenode: string,
    readonly opts: DataNodeOptions,
    readonly security?: ClusterSecurity,
  ) {}
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const args = [
      '--namenode',
      this.namenode,
      '--host',
      '127.0.0.1',
      '--port',
      String(this.port),
      '--data-dir',
      this.dataDir,
      '--id',
      this.id,
    ];
    if (this.opts.capacity) args.push('--capacity', this.opts.capacity);
    for (const l of this.opts.labels ?? []) args.push('--label', l);
    const sec = this.opts.security === null ? undefined : (this.opts.security ?? this.security);
    this.proc = startProcess(this.id, 'datanode/main.js', [
      ...args,
      ...securityArgs(sec),
      ...(this.opts.extraArgs ?? []),
    ]);
    await Promise.race([
      waitForPort(this.port),
      this.proc.exited.then((c) => {
        throw new Error(`${this.id} exited ${c}: ${this.proc.log()}`);
      }),
    ]);
  }
}

export interface ClusterOptions extends NameNodeOptions {
  dataNodes?: number;
  dataNode?: DataNodeOptions;
  /** Generate a secret and a client token (see `security`, `clientEnv()`); with `tls`, PEM files signed by a test CA. */
  secure?: boolean | { tls: boolean };
}

/** A name node and N data nodes; `ready()` resolves once every data node has registered. */
export class TestCluster {
  namenode!: NameNodeProc;
  datanodes: DataNodeProc[] = [];
  readonly root = tempDir('cluster');

  constructor(readonly opts: ClusterOptions = {}) {}

  /** The secured cluster's files (undefined: open cluster). */
  security?: ClusterSecurity;

  async start(): Promise<this> {
    if (this.opts.secure && !this.opts.security) {
      const tls = typeof this.opts.secure === 'object' && this.opts.secure.tls;
      this.security = makeSecurity(path.join(this.root, 'secrets'), tls);
    } else this.security = this.opts.security;
    const nnOpts = { ...this.opts, security: this.security };
    this.namenode = new NameNodeProc(await freePort(), await freePort(), path.join(this.root, 'namenode'), nnOpts);
    await this.namenode.start();
    for (let i = 0; i < (this.opts.dataNodes ?? 3); i++) await this.addDataNode(this.opts.dataNode);
    return this;
  }

  async addDataNode(opts: DataNodeOptions = {}): Promise<DataNodeProc> {
    const id = `dn${this.datanodes.length + 1}`;
    const dn = new DataNodeProc(
      id,
      await freePort(),
      path.join(this.root, id),
      this.namenode.address,
      opts,
      this.security,
    );
    await dn.start();
    this.datanodes.push(dn);
    return dn;
  }

  get address(): string {
    return this.namenode.address;
  }

  /** Environment for `dfs`/`dfs-mount` processes talking to this cluster (token, CA). */
  clientEnv(): NodeJS.ProcessEnv {
    return clientEnv(this.security);
  }

  async stop(): Promise<void> {
    await Promise.all([this.namenode, ...this.datanodes].map((p) => p?.proc?.kill('SIGKILL')));
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  logs(): string {
    return [this.namenode, ...this.datanodes].map((p) => `--- ${p.proc.name}\n${p.proc.log()}`).join('\n');
  }
}

/**
 * A secret (0600), a client token issued by the name node binary itself, and
 * with `tls` a CA plus one certificate for 127.0.0.1/localhost (server and
 * client use) made with openssl.
 */
export function makeSecurity(dir: string, tls = false): ClusterSecurity {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secretFile = path.join(dir, 'secret');
  fs.writeFileSync(secretFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const token = execFileSync(process.execPath, [
    path.join(DIST, 'namenode/main.js'),
    '--secret-file',
    secretFile,
    '--issue-token',
    'test',
  ])
    .toString()
    .trim();
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, token + '\n', { mode: 0o600 });
  return { secretFile, tokenFile, tls: tls ? makeCertificates(dir) : undefined };
}

export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=dfs test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    f('node.key'),
    '-out',
    f('node.csr'),
  );
  fs.writeFileSync(
    f('node.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n',
  );
  ssl(
    'x509',
    '-req',
    '-in',
    f('node.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f('node.ext'),
    '-out',
    f('node.pem'),
  );
  fs.chmodSync(f('node.key'), 0o600);
  return { ca: f('ca.pem'), cert: f('node.pem'), key: f('node.key') };
}
