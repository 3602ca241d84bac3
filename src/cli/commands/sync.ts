import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { formatBytes, parseDuration } from '../../common/units';
import { SyncEngine, StoppedError, type PassSummary, type SyncEvent } from '../../sync';
import type { CommandResult, CommandSpec } from '../command';
import { CliError, EXIT_USAGE, LocalFileError } from '../errors';

/** Retries for one operation before a one-shot sync gives up on an unreachable cluster. */
const ONE_SHOT_RETRY_BUDGET_MS = 60_000;
const RENAME_WINDOW_MS = 1_000;
/** Uploads at least this big announce their start, so a long silence is explained. */
const ANNOUNCE_UPLOAD_BYTES = 64 * 1024 * 1024;
const EXIT_INTERRUPTED = 130;

export const sync: CommandSpec = {
  name: 'sync',
  aliases: [],
  summary: 'mirror a local directory into the cluster (once, or continuously with --watch)',
  args: ['<LOCAL_DIR>', '<REMOTE_DIR>'],
  options: [
    {
      flags: '-w, --watch',
      description: 'keep running: upload new and changed files once they settle, follow renames',
    },
    { flags: '--delete', description: 'also remove cluster files and directories that are absent locally' },
    { flags: '--settle <DURATION>', description: 'with --watch: how long a file must stay unchanged (default 1s)' },
    { flags: '-q, --quiet', description: 'report only errors and retries on stderr' },
  ],
  examples: [
    'dfs sync ./photos /photos                  # upload what is new or changed, once',
    'dfs sync --watch ./inbox /inbox            # keep following ./inbox until Ctrl-C',
    'dfs sync --watch --delete ./site /www      # exact mirror, deletions included',
    'dfs --json sync -w ./inbox /inbox 2>events # events as JSON lines on stderr',
  ],
  async run(ctx, [localArg, remoteArg], opts) {
    const localRoot = path.resolve(localArg);
    const st = await fsp.stat(localRoot).catch((err: unknown) => {
      throw new LocalFileError(localArg, err);
    });
    if (!st.isDirectory()) throw new CliError(`local directory ${localArg}: not a directory`, 1, 'ENOTDIR');
    let settleMs = 1_000;
    if (typeof opts.settle === 'string') {
      try {
        settleMs = parseDuration(opts.settle);
      } catch {
        throw new CliError(`--settle: not a duration: '${opts.settle}' (try 1s, 500ms)`, EXIT_USAGE, 'EUSAGE');
      }
    }
    const watch = opts.watch === true;
    const client = await ctx.client();
    const engine = new SyncEngine(client, {
      localRoot,
      remoteRoot: ctx.resolve(remoteArg),
      caller: ctx.caller,
      delete: opts.delete === true,
      settleMs,
      renameWindowMs: RENAME_WINDOW_MS,
      retryBudgetMs: ONE_SHOT_RETRY_BUDGET_MS,
      onEvent: reporter(ctx.json, opts.quiet === true, watch),
    });

    const controller = new AbortController();
    const stop = (): void => {
      if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED); // a second Ctrl-C: quit now
      if (!ctx.json) process.stderr.write('sync: stopping (Ctrl-C again to quit at once)\n');
      controller.abort();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      if (watch) {
        const totals = await engine.watch(controller.signal);
        return result('stopped', { ...totals, ms: 0, unchanged: 0 });
      }
      const summary = await engine.syncOnce(controller.signal);
      const failed = summary.errors + summary.conflicts;
      if (failed > 0)
        throw new CliError(`${failed} ${failed === 1 ? 'entry was' : 'entries were'} not synced (see above)`);
      return result('synced', summary);
    } catch (err) {
      if (err instanceof StoppedError) throw new CliError('interrupted', EXIT_INTERRUPTED, 'ECANCELED');
      throw err;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  },
};

function result(what: string, s: PassSummary): CommandResult {
  const parts = [
    `${s.uploaded} uploaded (${formatBytes(s.bytes)})`,
    `${s.renamed} renamed`,
    `${s.deleted} deleted`,
    `${s.mkdirs} directories created`,
  ];
  if (what === 'synced') parts.push(`${s.unchanged} unchanged`);
  return { text: `${what}: ${parts.join(', ')}`, json: { ok: true, ...s } };
}

/** Events to stderr: JSON lines with --json, else one short line each (only problems with --quiet). */
function reporter(json: boolean, quiet: boolean, watch: boolean): (e: SyncEvent) => void {
  if (json) return (e) => process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), ...e }) + '\n');
  return (e) => {
    const line = describe(e, watch);
    if (line === null) return;
    if (quiet && !['error', 'conflict', 'retry'].includes(e.event)) return;
    process.stderr.write(`sync: ${line}\n`);
  };
}

function describe(e: SyncEvent, watch: boolean): string | null {
  switch (e.event) {
    case 'watching':
      return `watching ${e.local} -> ${e.remote} (Ctrl-C to stop)`;
    case 'scan':
      return null;
    case 'mkdir':
      return `created ${e.path}/`;
    case 'upload-start':
      return e.bytes >= ANNOUNCE_UPLOAD_BYTES ? `uploading ${e.path} (${formatBytes(e.bytes)})...` : null;
    case 'upload':
      return `uploaded ${e.path} (${formatBytes(e.bytes)}, ${e.reason})`;
    case 'upload-abandoned':
      return e.reason === 'interrupted'
        ? `${e.path}: upload abandoned (interrupted)`
        : `${e.path}: changed while uploading; will upload it once it settles`;
    case 'rename':
      return `renamed ${e.from} -> ${e.to}`;
    case 'delete':
      return `deleted ${e.path}${e.kind === 'dir' ? '/' : ''}`;
    case 'skip':
      return `skipped ${e.path} (${e.reason})`;
    case 'conflict':
      return `conflict: ${e.path}: ${e.reason}`;
    case 'error':
      return `error: ${e.path !== undefined ? `${e.path}: ` : ''}${e.error}`;
    case 'retry':
      return e.inMs > 0
        ? `cluster not answering (${e.error}); retrying in ${(e.inMs / 1000).toFixed(1)}s`
        : `cluster not answering (${e.error}); will catch up`;
    case 'catch-up':
      return 'catching up (comparing sizes and mtimes)';
    case 'pass':
      // One-shot: the command's own result line says it.
      return watch
        ? `in sync: ${e.uploaded} uploaded, ${e.deleted} deleted, ${e.unchanged} unchanged (${(e.ms / 1000).toFixed(1)}s)`
        : null;
    case 'stopped':
      return 'stopped';
  }
}
