import type { Attr__Output } from '../rpc/gen/dfs/Attr';
import type { ChunkInfo__Output } from '../rpc/gen/dfs/ChunkInfo';
import type { Caller as WireCaller } from '../rpc/gen/dfs/Caller';
import type { Caller, FileAttr } from './types';
import { nextRequestId } from './request-id';

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export const isDir = (a: { mode: number }): boolean => (a.mode & S_IFMT) === S_IFDIR;
export const isRegular = (a: { mode: number }): boolean => (a.mode & S_IFMT) === S_IFREG;
export const isSymlink = (a: { mode: number }): boolean => (a.mode & S_IFMT) === S_IFLNK;

/** uint64 strings from the wire become numbers: sizes and inodes stay far below 2^53. */
export function toFileAttr(a: Attr__Output): FileAttr {
  return {
    ino: Number(a.ino),
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    size: Number(a.size),
    nlink: a.nlink,
    atimeMs: Number(a.atimeMs),
    mtimeMs: Number(a.mtimeMs),
    ctimeMs: Number(a.ctimeMs),
    rdev: a.rdev,
    generation: Number(a.generation),
    storageClass: a.storageClass,
    replication: a.replication,
  };
}

/** A chunk as the client works with it. */
export interface ChunkLocation {
  index: number;
  chunkId: string;
  version: number;
  size: number;
  replicas: { id: string; address: string }[];
  token: string;
}

export function toChunkLocation(c: ChunkInfo__Output): ChunkLocation {
  return {
    index: Number(c.index),
    chunkId: c.chunkId,
    version: Number(c.version),
    size: Number(c.size),
    replicas: c.replicas.map((r) => ({ id: r.id, address: r.address })),
    token: c.token,
  };
}

/** The Caller message for one request: the request id travels to every server it touches. */
export function wireCaller(caller: Caller, requestId = nextRequestId()): WireCaller {
  return { uid: caller.uid, gid: caller.gid, groups: caller.groups ?? [], requestId };
}
