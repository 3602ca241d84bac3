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
  /** When this fd last changed the file (for picking the freshest size among several writers). */
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
 * Makes the writes buffered in other fds of the same inode visible to the
 * name node before an operation that must see them (a read through another
 * fd, an explicit utimens, a path truncate): one mount behaves like one
 * local disk for the processes using it.
 */
export async function flushDirtySiblings(files: OpenFiles, ino: number, except?: OpenFile): Promise<void> {
  await Promise.all(
    files
      .forIno(ino)
      .filter((f) => f !== except && isDirty(f))
      .map((f) => flushFile(f)),
  );
}

/** The size the kernel should see: the freshest dirty fd's idea of it, else the name node's. */
export function effectiveSize(files: OpenFiles, ino: number, committed: number): number {
  let best: OpenFile | undefined;
  for (const f of files.forIno(ino)) {
    if (isDirty(f) && (!best || f.lastWriteAt >= best.lastWriteAt)) best = f;
  }
  return best ? best.handle.size : committed;
}
