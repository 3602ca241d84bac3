/**
 * Error classification for the sync engine. It must tell "the cluster is not
 * answering right now" (retry, then catch up) from "this file cannot be synced"
 * (report, go on) and from "the local disk failed" (never a cluster problem).
 * Errors are matched structurally on `errno` so the engine needs only the
 * client's interface, not the rpc layer.
 */

/** Errnos that mean the cluster may answer later: name node restarting, data nodes re-registering. */
const RETRYABLE = new Set(['EIO', 'ETIMEDOUT', 'EAGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENOSPC', 'EBUSY', 'ESTALE']);

/** A failure on the local side (reading the watched folder). */
export class LocalError extends Error {
  constructor(
    readonly errno: string,
    message: string,
  ) {
    super(message);
    this.name = 'LocalError';
  }

  static from(what: string, err: unknown): LocalError {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'EIO';
    return new LocalError(code, `local ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Thrown when the sync was asked to stop (Ctrl-C). */
export class StoppedError extends Error {
  constructor() {
    super('sync stopped');
    this.name = 'StoppedError';
  }
}

export function errnoOf(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'errno' in err && typeof err.errno === 'string') return err.errno;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return 'EIO';
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Worth retrying: a cluster-side failure whose errno says "not now" rather than "never". */
export function isRetryable(err: unknown): boolean {
  if (err instanceof LocalError || err instanceof StoppedError) return false;
  return RETRYABLE.has(errnoOf(err));
}

export function hasErrno(err: unknown, ...names: string[]): boolean {
  return names.includes(errnoOf(err));
}
