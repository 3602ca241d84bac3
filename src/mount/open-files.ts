import type { FileHandle } from '../client/types';
import { DfsError } from '../rpc/errors';

/** One open(2) of the mount: the kernel's file handle number maps to one client FileHandle. */
export interface OpenFile {
  readonly fd: number;
  readonly handle: FileHandle;
  readonly writable: boolean;
  path: string;
  /** Bumped by every write/truncate through this fd; compared after a flush to know it is clean. */
  writeSeq: number;
  /** The writeSeq covered by the last successful flush. */
  flushedSeq: number;
  /** When this fd last changed the file (a path truncate goes through the latest writer). */
  lastWriteAt: number;
}

/** fd 0 means "no handle" to fuse-native, so numbers start at 1 and wrap before 2^31. */
const MAX_FD = 0x7fff_ffff;

/** The table of open files, by kernel fd and by inode (for coherence between fds of one file). */
export class OpenFiles {
  private nextFd = 1;
  private readonly byFd = new Map<number, OpenFile>();
  private readonly byIno = new Map<number, Set<OpenFile>>();

  add(handle: FileHandle, path: string, writable: boolean): OpenFile {
    while (this.byFd.has(this.nextFd)) this.advance();
    const file: OpenFile = { fd: this.nextFd, handle, writable, path, writeSeq: 0, flushedSeq: 0, lastWriteAt: 0 };
    this.advance();
    this.byFd.set(file.fd, file);
    let set = this.byIno.get(handle.ino);
    if (!set) this.byIno.set(handle.ino, (set = new Set()));
    set.add(file);
    return file;
  }

  get(fd: number): OpenFile {
    const file = this.byFd.get(fd);
    if (!file) throw new DfsError('EBADF', `no open file with handle ${fd}`);
    return file;
  }

  remove(fd: number): OpenFile | undefined {
    const file = this.byFd.get(fd);
    if (!file) return undefined;
    this.byFd.delete(fd);
    const set = this.byIno.get(file.handle.ino);
    set?.delete(file);
    if (set && set.size === 0) this.byIno.delete(file.handle.ino);
    return file;
  }

  forIno(ino: number): OpenFile[] {
    return [...(this.byIno.get(ino) ?? [])];
  }

  all(): OpenFile[] {
    return [...this.byFd.values()];
  }

  get size(): number {
    return this.byFd.size;
  }

  private advance(): void {
    this.nextFd = this.nextFd >= MAX_FD ? 1 : this.nextFd + 1;
  }
}

export function markWritten(file: OpenFile): void {
  file.writeSeq++;
  file.lastWriteAt = Date.now();
}

export function isDirty(file: OpenFile): boolean {
  return file.writeSeq !== file.flushedSeq;
}

/** Flushes `file` and records which writes that flush covered (later writes keep it dirty). */
export async function flushFile(file: OpenFile): Promise<void> {
  const seq = file.writeSeq;
  await file.handle.flush();
  if (file.flushedSeq < seq) file.flushedSeq = seq;
}

/**
 * Commits the writes buffered for an inode before an operation that must
 * come after them (an explicit utimens, a path truncate). The client shares
 * one writer between every handle of an inode, so flushing one dirty fd
 * commits them all; reads and opens need no such step.
 */
export async function flushDirtySiblings(files: OpenFiles, ino: number, except?: OpenFile): Promise<void> {
  const dirty = files.forIno(ino).filter((f) => f !== except && isDirty(f));
  if (dirty.length === 0) return;
  await Promise.all(dirty.map((f) => flushFile(f)));
}

/**
 * The size the kernel should see. The client's stat and readdir already
 * include writes buffered by any handle of this process (one shared view
 * per inode), so the attribute's size is it.
 */
export function effectiveSize(_files: OpenFiles, _ino: number, committed: number): number {
  return committed;
}
