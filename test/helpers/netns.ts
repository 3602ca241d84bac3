import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { DIST, Proc } from './cluster';

/**
 * A small virtual network for fault injection: one network namespace per
 * process, each attached by a veth pair to a bridge in the test's own
 * namespace (which gets the .1 address, so the test talks to every node).
 * `cut(i)` takes node i's link down (its process keeps running, unreachable),
 * `restore(i)` brings it back. Everything is removed by `teardown()`, also
 * after a failed setup. Names carry the pid so parallel runs do not collide.
 */
export class NetLab {
  readonly subnet: string;
  private readonly tag: string;
  private nodes = 0;
  private bridgeUp = false;

  constructor() {
    const id = process.pid % 10_000;
    this.tag = `dh${id}`;
    this.subnet = `10.231.${id % 250}`;
  }

  get bridge(): string {
    return `${this.tag}br`;
  }
  ns(i: number): string {
    return `${this.tag}n${i}`;
  }
  private hostVeth(i: number): string {
    return `${this.tag}h${i}`;
  }
  /** Node i's address (i from 0). */
  addr(i: number): string {
    return `${this.subnet}.${10 + i}`;
  }

  /** Creates the bridge and `count` namespaces; throws NetLabRefused when the kernel does not allow namespaces. */
  async setup(count: number): Promise<void> {
    try {
      await ip('link', 'add', this.bridge, 'type', 'bridge');
      this.bridgeUp = true;
      await ip('addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge);
      await ip('link', 'set', this.bridge, 'up');
      for (let i = 0; i < count; i++) {
        const ns = this.ns(i);
        const host = this.hostVeth(i);
        const inner = `${this.tag}c${i}`;
        await ip('netns', 'add', ns);
        this.nodes = i + 1;
        await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', inner);
        await ip('link', 'set', inner, 'netns', ns);
        await ip('link', 'set', host, 'master', this.bridge);
        await ip('link', 'set', host, 'up');
        await ip('-n', ns, 'addr', 'add', `${this.addr(i)}/24`, 'dev', inner);
        await ip('-n', ns, 'link', 'set', inner, 'up');
        await ip('-n', ns, 'link', 'set', 'lo', 'up');
      }
    } catch (err) {
      await this.teardown();
      const msg = String((err as Error).message);
      if (/Operation not permitted|Permission denied|not supported|Cannot create namespace/i.test(msg)) {
        throw new NetLabRefused(msg);
      }
      throw err;
    }
  }

  /** Cuts node i off the network (its host-side link goes down); the process keeps running. */
  cut(i: number): Promise<void> {
    return ip('link', 'set', this.hostVeth(i), 'down');
  }

  restore(i: number): Promise<void> {
    return ip('link', 'set', this.hostVeth(i), 'up');
  }

  /** Starts a compiled dfs entry point (e.g. 'namenode/main.js') inside node i's namespace. */
  start(i: number, name: string, script: string, args: string[]): Proc {
    const child = spawn('ip', ['netns', 'exec', this.ns(i), process.execPath, path.join(DIST, script), ...args], {
      env: { ...process.env, DFS_LOG_LEVEL: process.env.DFS_TEST_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Proc(name, child);
  }

  async teardown(): Promise<void> {
    for (let i = 0; i < this.nodes; i++) {
      await ip('link', 'del', this.hostVeth(i)).catch(() => undefined);
      await ip('netns', 'del', this.ns(i)).catch(() => undefined);
    }
    this.nodes = 0;
    if (this.bridgeUp) await ip('link', 'del', this.bridge).catch(() => undefined);
    this.bridgeUp = false;
  }
}

/** The kernel (or the container) does not allow network namespaces here. */
export class NetLabRefused extends Error {}

function ip(...args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('ip', args, (err, _out, stderr) =>
      err ? reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(),
    ),
  );
}
