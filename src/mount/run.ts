import type { Logger } from '../common/logger';
import type { DfsClient, DfsClientOptions } from '../client/types';
import { asDfsError, DfsError } from '../rpc/errors';
import { DfsFuse } from './dfs-fuse';
import { checkMountPoint, isDfsMounted } from './mount-point';
import { createOperations } from './operations';
import type { MountConfig } from './options';
import { loadClientSecurity } from '../client/credentials';

/** How often the mount checks that the kernel still has it (fusermount -u from outside ends the process). */
const WATCH_MS = 1_000;
/** Shutdown gives buffered data this long to reach the cluster before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 30_000;

/** The name node must answer at start-up: a typo or a dead cluster is reported, not mounted. */
async function waitForNameNode(client: DfsClient, config: MountConfig): Promise<void> {
  const deadline = Date.now() + config.connectTimeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await withTimeout(client.statfs(), Math.max(1, deadline - Date.now()));
      return;
    } catch (err) {
      const e = asDfsError(err);
      if (e.errno === 'EACCES') {
        throw new DfsError('EACCES', `the name node at ${config.namenode} refused this mount: ${e.detail}`);
      }
      last = err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  const why = last ? asDfsError(last).detail : 'no answer';
  throw new DfsError('EHOSTUNREACH', `cannot reach the name node at ${config.namenode}: ${why}`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new DfsError('ETIMEDOUT', `no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    );
  });
}

/**
 * Mounts and serves until SIGINT/SIGTERM/SIGHUP or an unmount from outside;
 * resolves with the process exit status. Start-up failures reject with a
 * DfsError whose message is the one line the user sees.
 */
export async function runMount(
  config: MountConfig,
  log: Logger,
  makeClient: (opts: DfsClientOptions) => DfsClient,
): Promise<number> {
  const mnt = config.mountPoint;
  await checkMountPoint(mnt, config.fuse.nonEmpty);
  const client = makeClient({ namenode: config.namenode, ...loadClientSecurity(config.security), offloadReads: true });
  try {
    await waitForNameNode(client, config);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }

  // Ops run only once the mount exists, so the closure never sees `fuse` uninitialized.
  const { ops, files } = createOperations(client, log, () => fuse.context());
  const fuse = new DfsFuse(mnt, ops, config.fuse);
  try {
    await fuse.mountAsync();
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new DfsError('EIO', `cannot mount ${mnt}: ${err instanceof Error ? err.message : String(err)}`);
  }
  log.info({ mountPoint: mnt, namenode: config.namenode }, 'mounted');
  if (!fuse.timesHooked()) {
    log.warn('this libfuse is not 2.9.x: touch -m / touch -a (one time only) will not change times');
  }

  // A bug in one handler must not take the mount down with it (that leaves a dead mount point).
  process.on('uncaughtException', (err) => log.error({ err: err.stack }, 'uncaught exception'));
  process.on('unhandledRejection', (err) => log.error({ err: String(err) }, 'unhandled rejection'));

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (reason: string, stillMounted: boolean): Promise<void> => {
      if (stopping) return;
      stopping = true;
      clearInterval(watch);
      log.info({ reason }, 'unmounting');
      const force = setTimeout(() => resolve(1), SHUTDOWN_GRACE_MS);
      if (stillMounted) {
        await fuse.unmountAsync().catch((err: unknown) => log.warn({ err: String(err) }, 'unmount failed'));
      }
      await files.releaseAll().catch((err: unknown) => log.warn({ err: String(err) }, 'closing open files failed'));
      await client.close().catch(() => undefined);
      clearTimeout(force);
      resolve(0);
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void stop(sig, true));
    const watch = setInterval(() => {
      isDfsMounted(mnt).then(
        (live) => {
          if (!live) void stop('unmounted from outside', false);
        },
        () => undefined,
      );
    }, WATCH_MS);
  });
}
