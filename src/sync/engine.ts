import { promises as fsp, type Stats } from 'node:fs';
import type { DfsClient } from '../client/types';
import { LocalError, StoppedError, errnoOf, hasErrno, isRetryable, messageOf } from './errors';
import { localPathOf, parentRel } from './paths';
import { planSync, sameContent } from './planner';
import { RemoteSide } from './remote';
import { renameSourceFor } from './renames';
import { Backoff, sleep, withRetry } from './retry';
import { localEntryOf, scanLocal, scanRemote } from './scanner';
import { Settler, type Snapshot } from './settle';
import { MirroredState } from './state';
import { TaskQueue } from './queue';
import type { LocalEntry, PassSummary, SyncEvent, SyncOptions } from './types';
import { Uploader } from './uploader';
import { LocalWatcher, type WatchEventName } from './watcher';

/**
 * Mirrors a local directory into the cluster: `syncOnce` is one full pass
 * (scan both sides, plan, apply); `watch` does a pass and then follows the
 * watcher's events one operation at a time. Whenever the cluster stops
 * answering, pending work is dropped and a full pass is retried with backoff
 * until it succeeds: comparing size and mtime makes that catch-up cheap and
 * exact, whatever happened while the cluster was away.
 */

/** In watch mode one operation retries this long before the engine falls back to a catch-up pass. */
const WATCH_OP_BUDGET_MS = 5_000;
/** A file that keeps changing under a one-shot upload is tried this many times. */
const ONE_SHOT_UPLOAD_TRIES = 3;

type Counters = Omit<PassSummary, 'ms' | 'unchanged'>;

export class SyncEngine {
  private readonly remote: RemoteSide;
  private readonly uploader: Uploader;
  private readonly state = new MirroredState();
  private readonly queue: TaskQueue;
  private readonly holds = new Set<NodeJS.Timeout>();
  private settler?: Settler;
  private signal: AbortSignal = new AbortController().signal;
  private budgetMs: number;
  readonly totals: Counters = { uploaded: 0, bytes: 0, mkdirs: 0, renamed: 0, deleted: 0, conflicts: 0, errors: 0 };

  constructor(
    client: DfsClient,
    private readonly opts: SyncOptions,
  ) {
    this.remote = new RemoteSide(client, opts.caller, opts.remoteRoot);
    this.uploader = new Uploader(this.remote, (rel, bytes) => this.emit({ event: 'upload-start', path: rel, bytes }));
    this.budgetMs = opts.retryBudgetMs;
    this.queue = new TaskQueue((err, task) => this.taskFailed(err, task.label));
  }

  /** One full pass; rejects when the cluster stays unreachable past the retry budget, or on stop. */
  async syncOnce(signal?: AbortSignal): Promise<PassSummary> {
    if (signal) this.signal = signal;
    return this.fullPass(false);
  }

  /** Mirrors continuously until `signal` aborts; resolves with the session's totals once stopped cleanly. */
  async watch(signal: AbortSignal): Promise<Counters> {
    this.signal = signal;
    this.budgetMs = Math.min(this.opts.retryBudgetMs, WATCH_OP_BUDGET_MS);
    this.settler = new Settler(
      this.opts.settleMs,
      (rel) => this.probe(rel),
      (rel) => this.queue.push(rel, () => this.syncFile(rel, true)),
    );
    const watcher = await LocalWatcher.start(this.opts.localRoot, {
      onEvent: (name, rel) => this.onWatchEvent(name, rel),
      onError: (err) => this.report(err),
    });
    try {
      this.emit({ event: 'watching', local: this.opts.localRoot, remote: this.opts.remoteRoot });
      this.queue.push('', () => this.catchUp(false));
      if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    } finally {
      await watcher.close();
      this.settler.stop();
      for (const t of this.holds) clearTimeout(t);
      this.holds.clear();
      this.queue.clear();
      // The operation in progress sees the signal and abandons (an upload removes its temp file).
      await this.queue.idle();
    }
    this.emit({ event: 'stopped' });
    return this.totals;
  }

  // ---- full pass -------------------------------------------------------------------------------

  private async fullPass(deferUnsettled: boolean): Promise<PassSummary> {
    const started = Date.now();
    const before = { ...this.totals };
    this.remote.client.invalidate();
    this.remote.forgetDirs();
    await this.retry(() => this.remote.ensureRoot());
    const local = await scanLocal(this.opts.localRoot, (rel, reason) =>
      this.emit({ event: 'skip', path: rel, reason }),
    );
    const remote = await this.retry(() => scanRemote(this.remote.client, this.opts.caller, this.opts.remoteRoot));
    this.emit({ event: 'scan', localEntries: local.size, remoteEntries: remote.size });
    for (const [rel, e] of remote) if (e.kind === 'dir') this.remote.noteDir(rel);
    const plan = planSync(local, remote, { delete: this.opts.delete });

    this.state.clear();
    for (const temp of plan.staleTemps) {
      if (this.uploader.activeTemps.has(temp)) continue;
      await this.attempt(temp, async () => {
        await this.retry(() => this.remote.unlinkQuiet(temp));
        this.uploader.forget(temp);
      });
    }
    for (const d of plan.deletes) {
      await this.attempt(d.rel, async () => {
        await this.retry(() => this.remote.removeTree(d.rel));
        this.totals.deleted++;
        this.emit({ event: 'delete', path: d.rel, kind: d.kind });
      });
    }
    for (const c of plan.conflicts) {
      this.totals.conflicts++;
      this.emit({ event: 'conflict', path: c.rel, reason: `${c.reason}; left alone (use --delete to replace it)` });
    }
    for (const rel of plan.mkdirs) {
      const entry = local.get(rel)!;
      await this.attempt(rel, async () => {
        await this.retry(() => this.remote.mkdirp(rel, entry.mode));
        this.state.set(rel, entry);
        this.totals.mkdirs++;
        this.emit({ event: 'mkdir', path: rel });
      });
    }
    for (const rel of plan.unchanged) this.state.set(rel, local.get(rel)!);
    for (const u of plan.uploads) {
      const entry = local.get(u.rel)!;
      // In watch mode a file still being written is left to the settler: uploaded once, complete.
      if (
        deferUnsettled &&
        this.settler &&
        (this.settler.has(u.rel) || Date.now() - entry.mtimeMs < this.opts.settleMs)
      ) {
        this.settler.touch(u.rel);
        continue;
      }
      await this.attempt(u.rel, () => this.uploadNow(u.rel, u.reason, deferUnsettled ? 1 : ONE_SHOT_UPLOAD_TRIES));
    }
    const summary: PassSummary = {
      uploaded: this.totals.uploaded - before.uploaded,
      bytes: this.totals.bytes - before.bytes,
      mkdirs: this.totals.mkdirs - before.mkdirs,
      renamed: this.totals.renamed - before.renamed,
      deleted: this.totals.deleted - before.deleted,
      unchanged: plan.unchanged.length,
      conflicts: this.totals.conflicts - before.conflicts,
      errors: this.totals.errors - before.errors,
      ms: Date.now() - started,
    };
    this.emit({ event: 'pass', ...summary });
    return summary;
  }

  /**
   * Runs one item of a pass: a failure that concerns only this item is
   * reported and the pass goes on; an unreachable cluster or a stop ends the pass.
   */
  private async attempt(rel: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (err instanceof StoppedError || isRetryable(err)) throw err;
      this.report(err, rel);
    }
  }

  /** Full passes until one succeeds: the catch-up after start-up or after the cluster went away. */
  private async catchUp(afterFailure: boolean): Promise<void> {
    if (afterFailure) this.emit({ event: 'catch-up' });
    const backoff = new Backoff(500, 10_000);
    for (;;) {
      try {
        await this.fullPass(true);
        return;
      } catch (err) {
        if (err instanceof StoppedError || this.signal.aborted) throw new StoppedError();
        const wait = backoff.next();
        if (isRetryable(err)) this.emit({ event: 'retry', errno: errnoOf(err), error: messageOf(err), inMs: wait });
        else this.report(err);
        await sleep(wait, this.signal);
      }
    }
  }

  // ---- operations ------------------------------------------------------------------------------

  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, {
      budgetMs: this.budgetMs,
      signal: this.signal,
      onRetry: (err, inMs) => this.emit({ event: 'retry', errno: errnoOf(err), error: messageOf(err), inMs }),
    });
  }

  private async uploadNow(rel: string, reason: 'new' | 'changed', tries: number): Promise<void> {
    const localPath = localPathOf(this.opts.localRoot, rel);
    for (let attempt = 1; ; attempt++) {
      let retried = false;
      let result;
      try {
        result = await this.retry(async () => {
          // A failed attempt may still have landed (the reply was lost): the remote copy tells.
          if (retried) {
            const [l, r] = await Promise.all([this.localEntry(rel), this.remote.statOrNull(rel)]);
            if (l?.kind === 'file' && r && sameContent(l, r)) return { status: 'uploaded' as const, entry: l, ms: 0 };
          }
          retried = true;
          return this.uploader.upload(localPath, rel, this.signal);
        });
      } catch (err) {
        if (err instanceof StoppedError) this.emit({ event: 'upload-abandoned', path: rel, reason: 'interrupted' });
        throw err;
      }
      if (result.status === 'gone') return;
      if (result.status === 'uploaded') {
        this.state.set(rel, result.entry);
        this.totals.uploaded++;
        this.totals.bytes += result.entry.size;
        this.emit({ event: 'upload', path: rel, bytes: result.entry.size, ms: result.ms, reason });
        return;
      }
      this.emit({ event: 'upload-abandoned', path: rel, reason: 'changed while uploading' });
      if (this.settler) {
        this.settler.touch(rel);
        return;
      }
      if (attempt >= tries)
        throw new LocalError('EBUSY', `local file ${localPath}: kept changing while being uploaded`);
      await sleep(this.opts.settleMs, this.signal);
    }
  }

  private async localEntry(rel: string): Promise<LocalEntry | null> {
    const localPath = localPathOf(this.opts.localRoot, rel);
    try {
      return localEntryOf(await fsp.lstat(localPath));
    } catch (err) {
      if (hasErrno(err, 'ENOENT', 'ENOTDIR')) return null;
      throw LocalError.from(`file ${localPath}`, err);
    }
  }

  private async probe(rel: string): Promise<Snapshot | null> {
    const st: Stats | null = await fsp.lstat(localPathOf(this.opts.localRoot, rel)).catch(() => null);
    return st?.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
  }

  /** A local rename replayed on the cluster; false when it cannot be (then the caller uploads/creates). */
  private async tryRename(from: string, to: string, now: LocalEntry): Promise<boolean> {
    try {
      await this.retry(async () => {
        await this.remote.mkdirp(parentRel(to));
        await this.remote.rename(from, to);
      });
    } catch (err) {
      if (err instanceof StoppedError || isRetryable(err)) throw err;
      // E.g. the remote source never made it: forget it and sync the new path from scratch.
      this.state.deleteTree(from);
      return false;
    }
    if (now.kind === 'dir') {
      this.state.moveTree(from, to);
      this.remote.forgetDirs();
    } else {
      this.state.delete(from);
    }
    this.state.set(to, now);
    this.totals.renamed++;
    this.emit({ event: 'rename', from, to, kind: now.kind });
    return true;
  }

  // ---- watch events ----------------------------------------------------------------------------

  private onWatchEvent(name: WatchEventName, rel: string): void {
    if (this.signal.aborted) return;
    switch (name) {
      case 'addDir':
        this.queue.push(rel, () => this.syncDir(rel));
        break;
      case 'add':
        this.queue.push(rel, () => this.syncFile(rel, false));
        break;
      case 'change':
        this.settler?.touch(rel);
        break;
      case 'unlink':
        this.settler?.cancel(rel);
        this.hold(() => this.queue.push(rel, () => this.syncGone(rel, 'file')));
        break;
      case 'unlinkDir':
        this.hold(() => this.queue.push(rel, () => this.syncGone(rel, 'dir')));
        break;
    }
  }

  /** Delays an unlink so that the add of a rename, reported just after it, is handled first. */
  private hold(fn: () => void): void {
    const t = setTimeout(() => {
      this.holds.delete(t);
      fn();
    }, this.opts.renameWindowMs);
    this.holds.add(t);
  }

  private async syncDir(rel: string): Promise<void> {
    const entry = await this.localEntry(rel);
    if (entry?.kind !== 'dir' || this.state.get(rel)?.ino === entry.ino) return;
    const from = await renameSourceFor(this.opts.localRoot, this.state, rel, entry);
    if (from && (await this.tryRename(from, rel, entry))) return;
    const created = await this.retry(() => this.remote.mkdirp(rel, entry.mode));
    this.state.set(rel, entry);
    if (created) {
      this.totals.mkdirs++;
      this.emit({ event: 'mkdir', path: rel });
    }
  }

  /** `settled`: the file has been stable for the settle interval, so it may be uploaded now. */
  private async syncFile(rel: string, settled: boolean): Promise<void> {
    const entry = await this.localEntry(rel);
    if (entry?.kind !== 'file') return;
    const known = this.state.get(rel);
    if (known && sameContent(known, entry)) {
      if (known.ino !== entry.ino) this.state.set(rel, entry);
      return;
    }
    const from = await renameSourceFor(this.opts.localRoot, this.state, rel, entry);
    if (from && (await this.tryRename(from, rel, entry))) return;
    if (!settled) {
      this.settler?.touch(rel);
      return;
    }
    const remote = await this.retry(() => this.remote.statOrNull(rel));
    if (remote && sameContent(entry, remote) && (remote.mode & 0o170000) === 0o100000) {
      this.state.set(rel, entry);
      return;
    }
    await this.uploadNow(rel, remote ? 'changed' : 'new', 1);
  }

  private async syncGone(rel: string, kind: 'file' | 'dir'): Promise<void> {
    // Back already (a rename there and back, an editor's save): nothing was deleted.
    if (await this.localEntry(rel)) return;
    if (kind === 'dir') this.state.deleteTree(rel);
    else this.state.delete(rel);
    if (!this.opts.delete) return;
    const attr = await this.retry(() => this.remote.statOrNull(rel));
    if (!attr) return;
    await this.retry(() => this.remote.removeTree(rel));
    this.totals.deleted++;
    this.emit({ event: 'delete', path: rel, kind: (attr.mode & 0o170000) === 0o040000 ? 'dir' : 'file' });
  }

  // ---- reporting -------------------------------------------------------------------------------

  private taskFailed(err: unknown, rel: string): void {
    if (err instanceof StoppedError || this.signal.aborted) return;
    if (isRetryable(err)) {
      // The cluster is away: what is queued would fail too. One catch-up pass covers it all.
      this.queue.clear();
      this.emit({ event: 'retry', errno: errnoOf(err), error: messageOf(err), inMs: 0 });
      this.queue.push('', () => this.catchUp(true));
      return;
    }
    this.report(err, rel || undefined);
  }

  private report(err: unknown, rel?: string): void {
    this.totals.errors++;
    this.emit({
      event: 'error',
      ...(rel !== undefined ? { path: rel } : {}),
      errno: errnoOf(err),
      error: messageOf(err),
    });
  }

  private emit(e: SyncEvent): void {
    this.opts.onEvent(e);
  }
}
