import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Daemon, exitReason, freePort, isMounted, portOpen, trackMount, unmount, waitUntil } from './processes';
import { nodeFlags } from '../common/node-flags';

/**
 * The file systems the benchmark compares, each set up from scratch and torn
 * down completely: a local directory (the hardware ceiling), memfs (the FUSE +
 * Node.js ceiling) and a dfs mount on a local cluster at replication 2 and 1.
 */

export const TARGET_IDS = ['local', 'memfs', 'dfs2', 'dfs1'] as const;
export type TargetId = (typeof TARGET_IDS)[number];

export const TARGET_LABELS: Record<TargetId, string> = {
  local: 'local disk',
  memfs: 'memfs (FUSE ceiling)',
  dfs2: 'dfs r=2',
  dfs1: 'dfs r=1',
};

export interface Target {
  id: TargetId;
  /** A directory on the target where workloads create their files. */
  dir: string;
  /** The name node's HOST:PORT, for the dfs targets. */
  namenode?: string;
  teardown(): Promise<void>;
}

/** dist/, where the compiled processes live (this file is dist/bench/targets.js). */
const DIST = path.resolve(__dirname, '..');
const MOUNT_TIMEOUT_MS = 20_000;
/** Until a first write works: data nodes register on their first heartbeat. */
const READY_TIMEOUT_MS = 45_000;
const DATANODES = 3;

export async function setUpTarget(id: TargetId, workRoot: string): Promise<Target> {
  switch (id) {
    case 'local':
      return setUpLocal(path.join(workRoot, 'local'));
    case 'memfs':
      return setUpMemFs(path.join(workRoot, 'memfs-mnt'));
    case 'dfs2':
      return setUpDfs(id, path.join(workRoot, id), 2);
    case 'dfs1':
      return setUpDfs(id, path.join(workRoot, id), 1);
  }
}

async function setUpLocal(dir: string): Promise<Target> {
  await fsp.mkdir(dir, { recursive: true });
  return { id: 'local', dir, teardown: () => fsp.rm(dir, { recursive: true, force: true }) };
}

async function mountWith(name: string, mountpoint: string, script: string, args: string[]): Promise<Daemon> {
  await fsp.mkdir(mountpoint, { recursive: true });
  trackMount(mountpoint);
  const daemon = new Daemon(name, process.execPath, [
    ...nodeFlags(script),
    path.join(DIST, script),
    mountpoint,
    ...args,
  ]);
  try {
    await waitUntil(
      `${name} mount at ${mountpoint}`,
      () => isMounted(mountpoint),
      MOUNT_TIMEOUT_MS,
      exitReason(daemon),
    );
  } catch (err) {
    await unmount(mountpoint, daemon);
    throw err;
  }
  return daemon;
}

async function setUpMemFs(mountpoint: string): Promise<Target> {
  const daemon = await mountWith('memfs', mountpoint, 'bench/memfs.js', []);
  return { id: 'memfs', dir: mountpoint, teardown: () => unmount(mountpoint, daemon) };
}

/** 1 name node + 3 data nodes on loopback with data under `root`, and a dfs mount of it. */
async function setUpDfs(id: TargetId, root: string, replication: number): Promise<Target> {
  for (const script of ['namenode/main.js', 'datanode/main.js', 'mount/main.js']) {
    if (!existsSync(path.join(DIST, script))) throw new Error(`dist/${script} is not built`);
  }
  const daemons: Daemon[] = [];
  const mountpoint = path.join(root, 'mnt');
  let mount: Daemon | undefined;
  const teardown = async (): Promise<void> => {
    if (mount) await unmount(mountpoint, mount);
    await Promise.all(daemons.map((d) => d.stop()));
    await fsp.rm(root, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const namenode = new Daemon('namenode', process.execPath, [
      path.join(DIST, 'namenode/main.js'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      String(await freePort()),
      '--data-dir',
      path.join(root, 'namenode'),
      '--replication',
      String(replication),
    ]);
    daemons.push(namenode);
    await waitUntil('the name node', () => portOpen(port), MOUNT_TIMEOUT_MS, exitReason(namenode));
    const address = `127.0.0.1:${port}`;
    for (let i = 1; i <= DATANODES; i++) {
      const dnPort = await freePort();
      const dn = new Daemon(`dn${i}`, process.execPath, [
        ...nodeFlags('datanode/main.js'),
        path.join(DIST, 'datanode/main.js'),
        '--namenode',
        address,
        '--host',
        '127.0.0.1',
        '--port',
        String(dnPort),
        '--data-dir',
        path.join(root, `dn${i}`),
        '--id',
        `dn${i}`,
      ]);
      daemons.push(dn);
      await waitUntil(`data node dn${i}`, () => portOpen(dnPort), MOUNT_TIMEOUT_MS, exitReason(dn));
    }
    mount = await mountWith('dfs-mount', mountpoint, 'mount/main.js', ['-f', '--namenode', address]);
    // Ready once a write goes through: the data nodes have registered and placement works.
    const probe = path.join(mountpoint, '.bench-probe');
    await waitUntil(
      'a first write on the dfs mount',
      async () => {
        await fsp.writeFile(probe, 'probe');
        return (await fsp.readFile(probe, 'utf8')) === 'probe';
      },
      READY_TIMEOUT_MS,
      exitReason(mount),
    );
    await fsp.unlink(probe);
    return { id, dir: mountpoint, namenode: address, teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}
