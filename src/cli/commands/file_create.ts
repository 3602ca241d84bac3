import { DfsError, asDfsError } from '../../rpc/errors';
import { ok, type CommandSpec } from '../command';
import { onPath, PathError } from '../errors';
import { isRegularFile } from '../format';

export const fileCreate: CommandSpec = {
  name: 'file_create',
  aliases: ['touch'],
  summary: 'create an empty file (an existing file only gets its times updated, like touch)',
  args: ['<PATH>'],
  examples: ['dfs file_create notes.txt', 'dfs touch /docs/empty.log'],
  async run(ctx, [target]) {
    const client = await ctx.client();
    const p = ctx.resolve(target);
    try {
      await client.create(p, 0o644, ctx.caller, { exclusive: true });
      return ok({ path: p, created: true });
    } catch (err) {
      if (!(err instanceof DfsError) || err.errno !== 'EEXIST') throw new PathError(p, asDfsError(err));
    }
    // Never truncate an existing file: creating one that exists is `touch`.
    const attr = await onPath(p, () => client.stat(p, ctx.caller));
    if (!isRegularFile(attr.mode)) throw new PathError(p, new DfsError('EEXIST', 'not a regular file'));
    await onPath(p, () => client.setattr(p, { atimeMs: 'now', mtimeMs: 'now' }, ctx.caller));
    return ok({ path: p, created: false });
  },
};
