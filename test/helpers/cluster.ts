import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

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

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

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
  const child = spawn(process.execPath, [path.join(DIST, script), ...args], {
    env: { ...process.env, DFS_LOG_LEVEL: process.env.DFS_TEST_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(name, child);
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T> | T,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
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

export interface NameNodeOptions {
  replication?: number;
  chunkSize?: string;
  nodeTimeout?: string;
  extraArgs?: string[];
}

export interface DataNodeOptions {
  capacity?: string;
  labels?: string[];
  extraArgs?: string[];
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
    this.proc = startProcess('namenode', 'namenode/main.js', [...args, ...(this.opts.extraArgs ?? [])]);
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
    this.proc = startProcess(this.id, 'datanode/main.js', [...args, ...(this.opts.extraArgs ?? [])]);
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
}

/** A name node and N data nodes; `ready()` resolves once every data node has registered. */
export class TestCluster {
  namenode!: NameNodeProc;
  datanodes: DataNodeProc[] = [];
  readonly root = tempDir('cluster');

  constructor(readonly opts: ClusterOptions = {}) {}

  async start(): Promise<this> {
    this.namenode = new NameNodeProc(await freePort(), await freePort(), path.join(this.root, 'namenode'), this.opts);
    await this.namenode.start();
    for (let i = 0; i < (this.opts.dataNodes ?? 3); i++) await this.addDataNode(this.opts.dataNode);
    return this;
  }

  async addDataNode(opts: DataNodeOptions = {}): Promise<DataNodeProc> {
    const id = `dn${this.datanodes.length + 1}`;
    const dn = new DataNodeProc(id, await freePort(), path.join(this.root, id), this.namenode.address, opts);
    await dn.start();
    this.datanodes.push(dn);
    return dn;
  }

  get address(): string {
    return this.namenode.address;
  }

  async stop(): Promise<void> {
    await Promise.all([this.namenode, ...this.datanodes].map((p) => p?.proc?.kill('SIGKILL')));
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  logs(): string {
    return [this.namenode, ...this.datanodes].map((p) => `--- ${p.proc.name}\n${p.proc.log()}`).join('\n');
  }
}
