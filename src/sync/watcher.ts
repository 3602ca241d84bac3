import path from 'node:path';
import type { Stats } from 'node:fs';
import { watch, type FSWatcher } from 'chokidar';
import { isTempName, relOfLocal } from './paths';

/**
 * The local side's change feed: chokidar (inotify on Linux, with its fixes
 * for editors' atomic saves and partial events) reduced to five typed events
 * with rel paths. No initial events: the engine scans the tree itself once
 * the watch is in place, so nothing created in between is missed.
 */

export type WatchEventName = 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir';

export interface WatchHandlers {
  onEvent(name: WatchEventName, rel: string, stats?: Stats): void;
  onError(err: unknown): void;
}

export class LocalWatcher {
  private constructor(private readonly fsw: FSWatcher) {}

  /** Resolves once the whole tree is being watched. */
  static async start(root: string, handlers: WatchHandlers): Promise<LocalWatcher> {
    const fsw = watch(root, {
      ignoreInitial: true,
      alwaysStat: true,
      followSymlinks: false,
      // Our own temp files (uploads in progress, downloads by `dfs fetch`) are not content.
      ignored: (p: string) => isTempName(path.basename(p)),
    });
    const relay =
      (name: WatchEventName) =>
      (p: string, stats?: Stats): void => {
        const rel = relOfLocal(root, p);
        if (rel === null || rel === '') return;
        handlers.onEvent(name, rel, stats);
      };
    for (const name of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) fsw.on(name, relay(name));
    fsw.on('error', (err) => handlers.onError(err));
    await new Promise<void>((resolve) => fsw.once('ready', () => resolve()));
    return new LocalWatcher(fsw);
  }

  close(): Promise<void> {
    return this.fsw.close();
  }
}
