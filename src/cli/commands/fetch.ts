import { formatBytes } from '../../common/units';
import { scanRemote } from '../../sync/scanner';
import type { CommandSpec } from '../command';
import { CliError, EXIT_USAGE, onPath } from '../errors';
import { isDirectory, table } from '../format';
import { fileRead } from './file_read';

/**
 * The seed's fetch.py: given a directory, the files under it with their
 * sizes; given a file, a download (exactly `file_read`).
 */
export const fetchFiles: CommandSpec = {
  name: 'fetch',
  aliases: [],
  summary: 'list the files under a directory with their sizes, or download a file',
  args: ['<REMOTE>', '[LOCAL]'],
  examples: [
    'dfs fetch /inbox                           # every file below /inbox, with sizes',
    'dfs fetch /inbox/report.pdf                # -> ./report.pdf',
    'dfs fetch /inbox/report.pdf ~/Downloads/   # -> ~/Downloads/report.pdf',
  ],
  async run(ctx, args, opts) {
    const [remoteArg, localArg] = args;
    const client = await ctx.client();
    const remote = ctx.resolve(remoteArg);
    const attr = await onPath(remote, () => client.stat(remote, ctx.caller));
    if (!isDirectory(attr.mode)) return fileRead.run(ctx, args, opts);
    if (localArg !== undefined)
      throw new CliError(`${remote} is a directory: fetch lists it; name a file to download`, EXIT_USAGE, 'EISDIR');

    const tree = await onPath(remote, () => scanRemote(client, ctx.caller, remote));
    const files = [...tree]
      .filter(([, e]) => e.kind === 'file')
      .map(([rel, e]) => ({ path: rel, size: e.size, mtimeMs: e.mtimeMs }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const total = files.reduce((n, f) => n + f.size, 0);
    const rows = files.map((f) => [formatBytes(f.size).padStart(10), f.path]);
    const summary = `${files.length} ${files.length === 1 ? 'file' : 'files'}, ${formatBytes(total)}`;
    return {
      text: files.length ? `${table(rows)}\n${summary}` : `no files under ${remote}`,
      json: { ok: true, path: remote, files, totalBytes: total },
    };
  },
};
