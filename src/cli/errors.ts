import { DfsError, asDfsError, type ErrnoName } from '../rpc/errors';

/**
 * The CLI's error vocabulary. Every failure ends as one line on stderr
 * (`dfs: ...`) and an exit status; this file is the one place that decides
 * both, so commands only throw.
 */

export const EXIT_FAILURE = 1;
/** Bad command line (missing or unknown arguments), as most Unix tools do. */
export const EXIT_USAGE = 2;

/** A failure the CLI itself detected, already phrased for the user. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    /** The errno a script can branch on in --json output. */
    readonly errno: ErrnoName | 'EUSAGE' | 'ECANCELED' = 'EIO',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A failure on the local side of a transfer (the user's own disk), kept apart from cluster errors. */
export class LocalFileError extends CliError {
  constructor(what: string, err: unknown) {
    const e = asDfsError(err);
    super(`local file ${what}: ${describeErrno(e.errno)}`, EXIT_FAILURE, e.errno);
    this.name = 'LocalFileError';
  }
}

const ERRNO_TEXT: Partial<Record<ErrnoName, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EIO: 'input/output error',
  EACCES: 'permission denied',
  EEXIST: 'already exists',
  EXDEV: 'cross-device link',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on the cluster',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  ENAMETOOLONG: 'file name too long',
  ENOSYS: 'not supported by this name node',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many levels of symbolic links',
  EOPNOTSUPP: 'operation not supported',
  ETIMEDOUT: 'timed out',
  ESTALE: 'stale file handle',
  EAGAIN: 'temporarily unavailable, try again',
  EBUSY: 'busy',
  EHOSTUNREACH: 'host unreachable',
  ECONNREFUSED: 'connection refused',
};

export function describeErrno(errno: ErrnoName): string {
  return ERRNO_TEXT[errno] ?? errno;
}

/** Hints that turn a bare errno into something the user can act on. */
const HINTS: Partial<Record<ErrnoName, string>> = {
  ENOSPC: 'free space with file_delete or add data nodes',
};

/**
 * `dfs: <subject>: <what went wrong> (<server detail>)`. The subject is the
 * cluster path the command was working on; the detail is the server's own
 * context (e.g. which inode), shown only when it adds something.
 */
export function describeDfsError(err: DfsError, subject?: string): string {
  const parts: string[] = [];
  if (subject) parts.push(subject);
  parts.push(describeErrno(err.errno));
  let line = parts.join(': ');
  const detail = serverContext(err.detail, subject);
  const extra = [detail && detail !== subject ? detail : '', HINTS[err.errno] ?? ''].filter(Boolean);
  if (extra.length) line += ` (${extra.join('; ')})`;
  return line;
}

/** The server's context minus the path we already print: `/a (lookup a in inode 1)` -> `lookup a in inode 1`. */
function serverContext(detail: string, subject?: string): string {
  let d = detail.trim();
  if (subject && d.startsWith(subject)) {
    d = d.slice(subject.length).trim().replace(/^:\s*/, '');
    const m = /^\((.*)\)$/.exec(d);
    if (m) d = m[1];
  }
  return d;
}

/** Attaches the cluster path a command failed on, so the final message names it. */
export class PathError extends Error {
  constructor(
    readonly path: string,
    readonly dfsError: DfsError,
  ) {
    super(describeDfsError(dfsError, path));
    this.name = 'PathError';
  }
}

/** Runs a client call and tags its failure with the path it was about. */
export async function onPath<T>(path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CliError || err instanceof PathError) throw err;
    throw new PathError(path, asDfsError(err));
  }
}

export interface ReportedError {
  message: string;
  errno: string;
  exitCode: number;
}

/** The one-line message, errno and exit status for anything a command threw. */
export function reportError(err: unknown): ReportedError {
  if (err instanceof CliError) return { message: err.message, errno: err.errno, exitCode: err.exitCode };
  if (err instanceof PathError) return { message: err.message, errno: err.dfsError.errno, exitCode: EXIT_FAILURE };
  const e = asDfsError(err);
  return { message: describeDfsError(e), errno: e.errno, exitCode: EXIT_FAILURE };
}
