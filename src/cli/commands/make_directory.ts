import path from 'node:path';
import { asDfsError } from '../../rpc/errors';
import type { Caller, DfsClient } from '../../client/types';
import { ok, type CommandSpec } from '../command';
import { requireDirectory } from '../cluster-files';
import { PathError } from '../errors';

export const makeDirectory: CommandSpec = {
  name: 'make_directory',
  aliases: ['mkdir'],
  summary: 'create a directory',
  args: ['<DIR>'],
  options: [{ flags: '-p, --parents', description: 'create missing parents too; an existing directory is fine' }],
  examples: ['dfs make_directory pics', 'dfs mkdir -p /backups/2024/06'],
  async run(ctx, [dirArg], opts) {
    const client = await ctx.client();
    const dir = ctx.resolve(dirArg);
    if (opts.parents) await makeParents(client, dir, ctx.caller);
    else await mkdir(client, dir, ctx.caller, false);
    return ok({ path: dir });
  },
};

async function mkdir(client: DfsClient, dir: string, caller: Caller, existingIsFine: boolean): Promise<void> {
  try {
    await client.mkdir(dir, 0o755, caller);
  } catch (err) {
    const e = asDfsError(err);
    if (existingIsFine && e.errno === 'EEXIST') {
      await requireDirectory(client, dir, caller);
      return;
    }
    throw new PathError(dir, e);
  }
}

async function makeParents(client: DfsClient, dir: string, caller: Caller): Promise<void> {
  if (dir === '/') return;
  const parts = dir.split('/').filter(Boolean);
  let p = '';
  for (const part of parts) {
    p = path.posix.join(p || '/', part);
    await mkdir(client, p, caller, true);
  }
}
