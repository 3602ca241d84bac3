#!/usr/bin/env -S node --single-threaded-gc --initial-old-space-size=256
import { createLogger } from '../common/logger';
import { asDfsError } from '../rpc/errors';
import { parseConfig } from './config';
import { startDataNode, type RunningDataNode } from './datanode';

/** `dfs-datanode`: parse flags, start serving, exit cleanly on SIGINT/SIGTERM. */
function main(): void {
  const logger = createLogger('datanode');
  let node: Promise<RunningDataNode | undefined>;
  try {
    const config = parseConfig(process.argv);
    node = startDataNode(config, logger).catch((err: unknown) => {
      process.stderr.write(`dfs-datanode: ${asDfsError(err).detail}\n`);
      process.exit(1);
    });
  } catch (err) {
    process.stderr.write(`dfs-datanode: ${asDfsError(err).detail}\n`);
    process.exit(1);
  }
  let stopping = false;
  // Installed before start-up completes, so a signal at any moment still exits cleanly.
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(0), 5_000).unref();
    void node
      .then((n) => n?.stop())
      .finally(() => {
        logger.flush?.();
        process.exit(0);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // A stray error must not take down a node that holds data: log it and keep serving.
  process.on('unhandledRejection', (err) => logger.error({ err: asDfsError(err).message }, 'unhandled rejection'));
}

main();
