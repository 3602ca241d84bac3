import type { FileHandle } from '../client/types';
import { DfsError } from '../rpc/errors';

/** One open(2) of the mount: the kernel's file handle number maps to one client FileHandle. */
export interface OpenFile {
  readonly fd: number;
  readonly handle: FileHandle;
  readonly writable: boolean;
  path: string;
}

/** fd 0 means "no handle" to fuse-native, so numbers start at 1 and wrap before 2^31. */
const MAX_FD = 0x7fff_ffff;

/** The table of open files by kernel fd. Coherence between fds of one file is the client's (one shared writer per inode). */
export class OpenFiles {
  private nextFd = 1;
  private readonly byFd = new Map<number, OpenFile>();

  add(handle: FileHandle, path: string, writable: boolean): OpenFile {
    while (this.byFd.has(this.nextFd)) this.advance();
    const file: OpenFile = { fd: this.nextFd, handle, writable, path };
    this.advance();
    this.byFd.set(file.fd, file);
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
    return file;
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
