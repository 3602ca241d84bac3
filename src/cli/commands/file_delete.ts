import { DfsError, asDfsError } from '../../rpc/errors';
import { ok, type CommandSpec } from '../command';
import { statOrNull } from '../cluster-files';
import { PathError } from '../errors';
import { isDirectory } from '../format';

export const fileDelete: CommandSpec = {
  name: 'file_delete',
  aliases: ['rm'],
  summary: 'delete a file',
  args: ['<PATH>'],
  examples: ['dfs file_delete notes.txt', 'dfs rm /pics/old.jpg'],
  async run(ctx, [target]) {
    const client = await ctx.client();
    const p = ctx.resolve(target);
    try {
      await client.unlink(p, ctx.caller);
    } catch (err) {
      const e = asDfsError(err);
      // unlink(2) on a directory says EISDIR or EPERM depending on the system; say what to do instead.
      if (e.errno === 'EISDIR' || e.errno === 'EPERM') {
        const attr = await statOrNull(client, p, ctx.caller).catch(() => null);
        if (attr && isDirectory(attr.mode)) {
          throw new PathError(p, new DfsError('EISDIR', 'use delete_directory to remove a directory'));
        }
      }
      throw new PathError(p, e);
    }
    return ok({ path: p });
  },
};
