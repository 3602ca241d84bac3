import type { Caller, DfsClient } from '../../client/types';
import { DfsError, asDfsError } from '../../rpc/errors';
import { ok, type CommandSpec } from '../command';
import { isWithin, joinCluster, requireDirectory } from '../cluster-files';
import { confirm } from '../confirm';
import { CliError, onPath, PathError } from '../errors';
import { isDirectory } from '../format';
import path from 'node:path';

export const deleteDirectory: CommandSpec = {
  name: 'delete_directory',
  aliases: ['rmdir'],
  summary: 'delete a directory; if it is not empty, asks yes/no first and then deletes everything in it',
  args: ['<DIR>'],
  examples: [
    'dfs delete_directory old                   # asks first if "old" has files',
    'dfs delete_directory --yes /tmp/scratch    # no question: for scripts',
    'dfs rmdir empty-dir',
  ],
  async run(ctx, [dirArg]) {
    const client = await ctx.client();
    const dir = ctx.resolve(dirArg);
    if (dir === '/') throw new CliError(`refusing to delete / (use initialize to empty it)`, 1, 'EBUSY');
    await requireDirectory(client, dir, ctx.caller);
    const entries = await onPath(dir, () => client.readdir(dir, ctx.caller));
    let removed = 0;
    if (entries.length === 0) {
      await onPath(dir, () => client.rmdir(dir, ctx.caller));
    } else {
      await confirm(
        `${dir} is not empty (${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}); ` +
          `delete it and everything in it?`,
        { yes: ctx.opts.yes, command: 'delete_directory' },
      );
      removed = await removeTree(client, dir, ctx.caller);
    }
    // Standing in a deleted directory would make every relative path fail: step out of it.
    const cwd = ctx.cwd;
    if (isWithin(cwd, dir)) {
      try {
        ctx.cwdStore.set(path.posix.dirname(dir));
      } catch {
        // Unwritable state dir: the deletion itself succeeded.
      }
    }
    return ok({ path: dir, removedEntries: removed });
  },
};

/** Depth-first removal; returns how many entries (not counting `dir`) were removed. */
async function removeTree(client: DfsClient, dir: string, caller: Caller): Promise<number> {
  let removed = 0;
  for (const entry of await onPath(dir, () => client.readdir(dir, caller))) {
    const p = joinCluster(dir, entry.name);
    if (isDirectory(entry.attr.mode)) removed += await removeTree(client, p, caller);
    else {
      try {
        await client.unlink(p, caller);
      } catch (err) {
        const e = asDfsError(err);
        // Someone else removed it meanwhile: that is what we wanted anyway.
        if (e.errno !== 'ENOENT') throw new PathError(p, e);
      }
    }
    removed++;
  }
  try {
    await client.rmdir(dir, caller);
  } catch (err) {
    const e = asDfsError(err);
    if (e.errno !== 'ENOENT') throw new PathError(dir, e.errno === 'ENOTEMPTY' ? withHint(e) : e);
  }
  return removed;
}

function withHint(e: DfsError): DfsError {
  return new DfsError(e.errno, `${e.detail} (something was added while deleting; run it again)`.trim());
}
