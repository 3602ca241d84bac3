import { asDfsError } from '../../rpc/errors';
import { ok, type CommandSpec } from '../command';
import { requireDirectory } from '../cluster-files';
import { CliError, PathError } from '../errors';

/** X_OK for access(2): entering a directory needs search permission. */
const X_OK = 1;

export const openDirectory: CommandSpec = {
  name: 'open_directory',
  aliases: ['cd'],
  summary: 'change the current directory (kept between invocations; ".." goes up)',
  args: ['<DIR>'],
  examples: ['dfs open_directory /pics', 'dfs open_directory ..', 'dfs cd 2024 && dfs ls'],
  async run(ctx, [dirArg]) {
    const client = await ctx.client();
    const dir = ctx.resolve(dirArg);
    // Validate before storing: a missing or non-directory target leaves the current directory as it was.
    await requireDirectory(client, dir, ctx.caller);
    try {
      await client.access(dir, X_OK, ctx.caller);
    } catch (err) {
      const e = asDfsError(err);
      if (e.errno !== 'ENOSYS') throw new PathError(dir, e);
    }
    try {
      ctx.cwdStore.set(dir);
    } catch (err) {
      throw new CliError(`cannot save the current directory in ${ctx.cwdStore.file}: ${(err as Error).message}`);
    }
    return ok({ cwd: dir });
  },
};
