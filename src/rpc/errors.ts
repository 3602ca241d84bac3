import * as grpc from '@grpc/grpc-js';
import { constants as osConstants } from 'node:os';

/** The errno names dfs uses end to end: name node -> gRPC -> client -> FUSE/CLI. */
export type ErrnoName =
  | 'EPERM'
  | 'ENOENT'
  | 'EIO'
  | 'EBADF'
  | 'EACCES'
  | 'EEXIST'
  | 'EXDEV'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'EINVAL'
  | 'EFBIG'
  | 'ENOSPC'
  | 'EROFS'
  | 'EMLINK'
  | 'ERANGE'
  | 'ENAMETOOLONG'
  | 'ENOSYS'
  | 'ENOTEMPTY'
  | 'ELOOP'
  | 'ENODATA'
  | 'EOPNOTSUPP'
  | 'ETIMEDOUT'
  | 'ESTALE'
  | 'EAGAIN'
  | 'EBUSY'
  | 'EHOSTUNREACH'
  | 'ECONNREFUSED'
  | 'E2BIG';

const ERRNO_METADATA_KEY = 'dfs-errno';

/** An error that carries a POSIX errno and context: `ENOENT: /a/b (lookup b in inode 17)`. */
export class DfsError extends Error {
  readonly errno: ErrnoName;

  constructor(errno: ErrnoName, message: string) {
    // "No such file", "already exists" and "no such attribute" (the kernel asks for
    // security.capability before every write) are answers, not faults: thousands a second on a
    // metadata-heavy load, where capturing a stack cost more than the rest of the error.
    const limit = Error.stackTraceLimit;
    if (ANSWERS.has(errno)) Error.stackTraceLimit = 0;
    super(`${errno}: ${message}`);
    Error.stackTraceLimit = limit;
    this.errno = errno;
    this.name = 'DfsError';
  }

  /** The negative errno number FUSE expects. */
  get code(): number {
    return -errnoNumber(this.errno);
  }

  /** The message without the errno prefix. */
  get detail(): string {
    return this.message.slice(this.errno.length + 2);
  }
}

const ANSWERS: ReadonlySet<string> = new Set(['ENOENT', 'EEXIST', 'ENODATA']);

export function errnoNumber(name: ErrnoName): number {
  const n = (osConstants.errno as Record<string, number>)[name];
  return n ?? (osConstants.errno.EIO as number);
}

/** An error a peer sent as an errno name and a message (an errno this platform does not know becomes EIO). */
export function errorFromWire(errno: string, message: string): DfsError {
  const known = typeof (osConstants.errno as Record<string, number>)[errno] === 'number';
  return new DfsError(known ? (errno as ErrnoName) : 'EIO', message);
}

const GRPC_CODE_FOR: Partial<Record<ErrnoName, grpc.status>> = {
  ENOENT: grpc.status.NOT_FOUND,
  EEXIST: grpc.status.ALREADY_EXISTS,
  EACCES: grpc.status.PERMISSION_DENIED,
  EPERM: grpc.status.PERMISSION_DENIED,
  ENOSPC: grpc.status.RESOURCE_EXHAUSTED,
  EFBIG: grpc.status.RESOURCE_EXHAUSTED,
  EINVAL: grpc.status.INVALID_ARGUMENT,
  ENAMETOOLONG: grpc.status.INVALID_ARGUMENT,
  ERANGE: grpc.status.INVALID_ARGUMENT,
  ENOSYS: grpc.status.UNIMPLEMENTED,
  EOPNOTSUPP: grpc.status.UNIMPLEMENTED,
  ETIMEDOUT: grpc.status.DEADLINE_EXCEEDED,
  EAGAIN: grpc.status.UNAVAILABLE,
  EIO: grpc.status.INTERNAL,
};

/** Server side: turn any thrown error into a gRPC status that keeps its errno. */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const e = asDfsError(err);
  const metadata = new grpc.Metadata();
  metadata.set(ERRNO_METADATA_KEY, e.errno);
  return {
    code: GRPC_CODE_FOR[e.errno] ?? grpc.status.FAILED_PRECONDITION,
    details: e.message,
    metadata,
  };
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'metadata' in err;
}

/**
 * Client side: the one mapping from a gRPC failure to an errno. A status the
 * server set carries its errno; transport failures become EIO (unreachable)
 * or ETIMEDOUT (deadline), with the peer named so the message is actionable.
 */
export function fromServiceError(err: unknown, peer = 'server'): DfsError {
  if (err instanceof DfsError) return err;
  if (!isServiceError(err)) return asDfsError(err);
  const tagged = err.metadata?.get(ERRNO_METADATA_KEY)?.[0];
  if (typeof tagged === 'string') {
    const prefix = `${tagged}: `;
    const details = err.details?.startsWith(prefix) ? err.details.slice(prefix.length) : err.details;
    return new DfsError(tagged as ErrnoName, details);
  }
  switch (err.code) {
    case grpc.status.DEADLINE_EXCEEDED:
      return new DfsError('ETIMEDOUT', `${peer} did not answer in time`);
    case grpc.status.UNAVAILABLE:
      return new DfsError('EIO', `${peer} unreachable (${err.details})`);
    case grpc.status.NOT_FOUND:
      return new DfsError('ENOENT', err.details);
    case grpc.status.ALREADY_EXISTS:
      return new DfsError('EEXIST', err.details);
    case grpc.status.PERMISSION_DENIED:
    case grpc.status.UNAUTHENTICATED:
      return new DfsError('EACCES', err.details);
    case grpc.status.RESOURCE_EXHAUSTED:
      return new DfsError('ENOSPC', err.details);
    case grpc.status.INVALID_ARGUMENT:
      return new DfsError('EINVAL', err.details);
    case grpc.status.UNIMPLEMENTED:
      return new DfsError('ENOSYS', err.details);
    case grpc.status.CANCELLED:
      return new DfsError('EIO', `${peer}: call cancelled`);
    default:
      return new DfsError('EIO', `${peer}: ${err.details || err.message}`);
  }
}

/** Wrap an arbitrary error (Node system errors keep their errno name). */
export function asDfsError(err: unknown): DfsError {
  if (err instanceof DfsError) return err;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code && code in osConstants.errno) return new DfsError(code as ErrnoName, err.message);
    return new DfsError('EIO', err.message);
  }
  return new DfsError('EIO', String(err));
}

/** Whether retrying the same idempotent call may succeed. */
export function isTransient(err: unknown): boolean {
  if (!isServiceError(err)) return false;
  if (err.metadata?.get(ERRNO_METADATA_KEY)?.length) return false;
  return err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED;
}
