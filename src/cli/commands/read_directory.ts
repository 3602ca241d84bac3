import path from 'node:path';
import type { DirEntry, FileAttr } from '../../client/types';
import { groupName, userName } from '../accounts';
import type { CommandSpec } from '../command';
import { onPath } from '../errors';
import { fileType, formatMode, formatTime, isDirectory, table } from '../format';

export const readDirectory: CommandSpec = {
  name: 'read_directory',
  aliases: ['ls'],
  summary: 'list a directory (default: the current one); directories end with "/"',
  args: ['[DIR]'],
  options: [{ flags: '-l, --long', description: 'show mode, owner, size and modification time' }],
  examples: ['dfs read_directory', 'dfs ls /pics', 'dfs ls -l', 'dfs --json ls /pics'],
  async run(ctx, [dirArg], opts) {
    const client = await ctx.client();
    const dir = ctx.resolve(dirArg ?? '.');
    const attr = await onPath(dir, () => client.stat(dir, ctx.caller));
    // Like ls: naming a file lists just that file.
    const entries: DirEntry[] = isDirectory(attr.mode)
      ? await onPath(dir, () => client.readdir(dir, ctx.caller))
      : [{ name: path.posix.basename(dir), attr }];

    const text = opts.long ? longListing(entries) : entries.map((e) => displayName(e)).join('\n');
    return {
      text,
      json: {
        ok: true,
        path: dir,
        entries: entries.map((e) => ({
          name: e.name,
          type: fileType(e.attr.mode),
          size: e.attr.size,
          mode: e.attr.mode & 0o7777,
          uid: e.attr.uid,
          gid: e.attr.gid,
          mtimeMs: e.attr.mtimeMs,
        })),
      },
    };
  },
};

function displayName(e: DirEntry): string {
  return isDirectory(e.attr.mode) ? `${e.name}/` : e.name;
}

function longListing(entries: DirEntry[]): string {
  const owner = (a: FileAttr): string => userName(a.uid) ?? String(a.uid);
  const group = (a: FileAttr): string => groupName(a.gid) ?? String(a.gid);
  return table(
    entries.map((e) => [
      formatMode(e.attr.mode),
      String(e.attr.nlink),
      owner(e.attr),
      group(e.attr),
      String(e.attr.size).padStart(12),
      formatTime(e.attr.mtimeMs),
      displayName(e),
    ]),
  );
}
