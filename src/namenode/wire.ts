import { DfsError } from '../rpc/errors';
import type { Attr } from '../rpc/gen/dfs/Attr';
import type { Caller__Output } from '../rpc/gen/dfs/Caller';
import type { ChunkInfo } from '../rpc/gen/dfs/ChunkInfo';
import type { Caller, Inode } from './inode';
import type { ChunkView } from './name-node';

/** A uint64/int64 from the wire (a decimal string) as a safe JS integer, or a clear EINVAL. */
export function wireInt(value: string | number | undefined, what: string): number {
  const n = typeof value === 'number' ? value : Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new DfsError('EINVAL', `bad ${what}: '${String(value)}'`);
  return n;
}

export function wireCaller(c: Caller__Output | null | undefined): Caller {
  if (!c) throw new DfsError('EINVAL', 'request without a caller (uid/gid)');
  return {
    uid: c.uid,
    gid: c.gid,
    groups: c.groups ?? [],
    requestId: c.requestId || undefined,
    client: c.client || undefined,
  };
}

/** `replication` and `storageClass`: of the inode's effective storage class. */
export function toAttr(i: Inode, replication: number, storageClass = ''): Attr {
  return {
    ino: i.ino,
    mode: i.mode,
    uid: i.uid,
    gid: i.gid,
    size: i.size,
    nlink: i.nlink,
    atimeMs: i.atimeMs,
    mtimeMs: i.mtimeMs,
    ctimeMs: i.ctimeMs,
    rdev: i.rdev,
    generation: i.generation,
    storageClass,
    replication,
  };
}

export function toChunkInfo(c: ChunkView): ChunkInfo {
  return {
    index: c.index,
    chunkId: c.chunkId,
    version: c.version,
    size: c.size,
    replicas: c.replicas.map((r) => ({ id: r.id, address: r.address })),
    token: '',
  };
}
