import { constants } from 'node:os';
import type { Logger } from '../common/logger';
import { DfsError, type ErrnoName } from '../rpc/errors';

/** Negative errno numbers, as FUSE wants them. */
export function errno(name: ErrnoName): number {
  return -((constants.errno as Record<string, number>)[name] ?? constants.errno.EIO);
}

/**
 * The one place where an exception becomes a FUSE answer: a DfsError keeps
 * its errno, a Node system error its code; anything else is a bug or an
 * unexpected failure and becomes EIO with a log line (never a crash).
 */
export function toFuseErrno(err: unknown, log: Logger, op: string, path: string): number {
  if (err instanceof DfsError) {
    log.debug({ op, path, err: err.message }, 'op failed');
    return err.code;
  }
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && code in constants.errno) {
    log.debug({ op, path, err: String(err) }, 'op failed');
    return errno(code as ErrnoName);
  }
  log.error({ op, path, err: err instanceof Error ? err.stack : String(err) }, 'unexpected failure, answering EIO');
  return errno('EIO');
}
