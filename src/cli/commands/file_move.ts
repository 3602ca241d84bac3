import path from 'node:path';
import { ok, type CommandSpec } from '../command';
import { destinationFor, isWithin } from '../cluster-files';
import { onPath } from '../errors';

export const fileMove: CommandSpec = {
  name: 'file_move',
  aliases: ['mv'],
  summary: 'move or rename a file or directory (atomically; an existing target file is replaced)',
  args: ['<PATH>', '<DEST>'],
  examples: [
    'dfs file_move notes.txt notes-old.txt',
    'dfs file_move notes.txt /archive/          # -> /archive/notes.txt',
    'dfs mv /a/dir /b/dir',
  ],
  async run(ctx, [srcArg, destArg]) {
    const client = await ctx.client();
    const src = ctx.resolve(srcArg);
    await onPath(src, () => client.stat(src, ctx.caller));
    const { path: target } = await destinationFor(
      client,
      ctx.caller,
      ctx.resolve(destArg),
      destArg.endsWith('/'),
      path.posix.basename(src),
    );
    await onPath(src, () => client.rename(src, target, ctx.caller));
    // Moving the current directory (or one above it) moves the user along with it.
    const cwd = ctx.cwd;
    if (src !== '/' && isWithin(cwd, src)) {
      try {
        ctx.cwdStore.set(target + cwd.slice(src.length));
      } catch {
        // Unwritable state dir: the move itself succeeded.
      }
    }
    return ok({ path: src, dest: target });
  },
};
