import { constants as fsConstants, promises as fsp, type Stats } from 'node:fs';
import type { FileHandle as RemoteHandle } from '../client/types';
import { LocalError, StoppedError, hasErrno } from './errors';
import { baseName, joinRel, parentRel, tempNameFor } from './paths';
import type { RemoteSide } from './remote';
import { localEntryOf } from './scanner';
import type { LocalEntry } from './types';

/**
 * Uploads one local file so that a reader of the cluster never sees half of
 * it: the bytes go to a temp name beside the target, are fsync'd on every
 * replica, get the local mode and mtime, and only then are renamed over the
 * target. If the local file changes while it is being read (a writer that
 * paused longer than the settle interval) the upload is abandoned instead of
 * publishing a mix of old and new bytes.
 */

/** Bytes read and handed to the client at a time. */
const PIECE_BYTES = 8 * 1024 * 1024;

export type UploadResult =
  | { status: 'uploaded'; entry: LocalEntry; ms: number }
  /** The file changed (or was replaced) while being read: try again once it settles. */
  | { status: 'changed' }
  /** The local file is gone or is no longer a regular file. */
  | { status: 'gone' };

function sameVersion(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export class Uploader {
  /** Temp names (rel) being written right now: a catch-up must not remove them as stale. */
  readonly activeTemps = new Set<string>();
  /** Temps that could not be removed when their upload failed (the cluster was away): removed later. */
  private readonly orphans = new Set<string>();

  constructor(
    private readonly remote: RemoteSide,
    private readonly onStart: (rel: string, bytes: number) => void = () => undefined,
  ) {}

  async upload(localPath: string, rel: string, signal?: AbortSignal): Promise<UploadResult> {
    const started = Date.now();
    const source = await fsp.open(localPath, 'r').catch((err: unknown) => {
      if (hasErrno(err, 'ENOENT', 'ENOTDIR')) return null;
      throw LocalError.from(`file ${localPath}`, err);
    });
    if (!source) return { status: 'gone' };
    try {
      const before = await source.stat();
      const entry = localEntryOf(before);
      if (entry?.kind !== 'file') return { status: 'gone' };
      await this.remote.mkdirp(parentRel(rel));
      this.onStart(rel, before.size);
      const temp = joinRel(parentRel(rel), tempNameFor(baseName(rel)));
      const copied = await this.writeTemp(source, localPath, before, temp, signal);
      if (!copied) return { status: 'changed' };
      // Replaced under the same name while we read the old inode: the new one gets its own upload.
      const now = await fsp.stat(localPath).catch(() => null);
      if (!now || !sameVersion(before, now)) {
        await this.discard(temp);
        return { status: 'changed' };
      }
      try {
        await this.remote.client.setattr(
          this.remote.pathOf(temp),
          { mode: entry.mode, mtimeMs: entry.mtimeMs },
          this.remote.caller,
        );
        await this.remote.rename(temp, rel);
      } catch (err) {
        await this.discard(temp);
        throw err;
      }
      // The cluster answers again: a good moment to clear what an outage left behind.
      await this.sweepOrphans();
      return { status: 'uploaded', entry, ms: Date.now() - started };
    } finally {
      await source.close().catch(() => undefined);
    }
  }

  /** Copies the file into `temp`; false (temp removed) when the file changed meanwhile. */
  private async writeTemp(
    source: fsp.FileHandle,
    localPath: string,
    before: Stats,
    temp: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const client = this.remote.client;
    const tempPath = this.remote.pathOf(temp);
    this.activeTemps.add(temp);
    let handle: RemoteHandle | undefined;
    try {
      // Owner-writable while we fill it; the local mode is applied once the bytes are in.
      await client.create(tempPath, 0o600, this.remote.caller, { exclusive: true });
      handle = await client.open(tempPath, { flags: fsConstants.O_WRONLY }, this.remote.caller);
      for (let position = 0; position < before.size;) {
        if (signal?.aborted) throw new StoppedError();
        const length = Math.min(PIECE_BYTES, before.size - position);
        // A fresh buffer per piece: the client keeps it until the replicas acknowledge it.
        const buf = Buffer.allocUnsafe(length);
        const { bytesRead } = await source.read(buf, 0, length, position).catch((err: unknown) => {
          throw LocalError.from(`file ${localPath}`, err);
        });
        const now = await source.stat();
        if (bytesRead < length || !sameVersion(before, now)) {
          await handle.close().catch(() => undefined);
          handle = undefined;
          await this.discard(temp);
          return false;
        }
        await handle.write(position, buf);
        position += length;
      }
      // fsync, not just close: a finished upload survives a power loss on every replica.
      await handle.fsync();
      const h = handle;
      handle = undefined;
      await h.close();
      return true;
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await this.discard(temp);
      throw err;
    } finally {
      this.activeTemps.delete(temp);
    }
  }

  /** Best effort: a temp that cannot be removed now is retried after the next upload (and by any full pass). */
  private async discard(temp: string): Promise<void> {
    await this.remote.unlinkQuiet(temp).catch(() => this.orphans.add(temp));
  }

  /** A full pass removed `temp` (or found it gone). */
  forget(temp: string): void {
    this.orphans.delete(temp);
  }

  private async sweepOrphans(): Promise<void> {
    for (const temp of [...this.orphans]) {
      await this.remote.unlinkQuiet(temp).then(
        () => this.orphans.delete(temp),
        () => undefined,
      );
    }
  }
}
