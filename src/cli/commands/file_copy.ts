import { constants as fsConstants } from 'node:fs';
import path from 'node:path';
import type { Caller, DfsClient, FileAttr, FileHandle } from '../../client/types';
import { DfsError, asDfsError } from '../../rpc/errors';
import { ok, type CommandSpec } from '../command';
import { destinationFor, joinCluster, statOrNull } from '../cluster-files';
import { onPath, PathError } from '../errors';
import { isDirectory, isRegularFile } from '../format';
import { progressBar, pump } from '../transfer';

/** How many `NAME (copy N)` names to try before giving up. */
const MAX_COPY_NAMES = 1000;

export const fileCopy: CommandSpec = {
  name: 'file_copy',
  aliases: ['cp'],
  summary: 'copy a file inside the cluster (default destination: "NAME (copy)" beside it)',
  args: ['<PATH>', '[DEST]'],
  examples: [
    'dfs file_copy notes.txt                    # -> "notes.txt (copy)"',
    'dfs file_copy notes.txt /archive/          # -> /archive/notes.txt',
    'dfs cp /a/report.pdf /b/report-v2.pdf',
  ],
  async run(ctx, [srcArg, destArg]) {
    const client = await ctx.client();
    const src = ctx.resolve(srcArg);
    const attr = await onPath(src, () => client.stat(src, ctx.caller));
    if (isDirectory(attr.mode)) throw new PathError(src, new DfsError('EISDIR', 'file_copy copies files'));
    if (!isRegularFile(attr.mode)) throw new PathError(src, new DfsError('EINVAL', 'not a regular file'));

    let target: string;
    let existing: FileAttr | null;
    if (destArg === undefined) {
      target = await createCopyName(client, ctx.caller, src, attr.mode & 0o7777);
      existing = null;
    } else {
      ({ path: target, existing } = await destinationFor(
        client,
        ctx.caller,
        ctx.resolve(destArg),
        destArg.endsWith('/'),
        path.posix.basename(src),
      ));
      if (target === src)
        throw new PathError(target, new DfsError('EINVAL', 'source and destination are the same file'));
      if (existing && isDirectory(existing.mode)) throw new PathError(target, new DfsError('EISDIR', ''));
      if (!existing)
        await onPath(target, () => client.create(target, attr.mode & 0o7777, ctx.caller, { exclusive: true }));
    }

    const bar = progressBar(`cp ${path.posix.basename(src)}`, attr.size, ctx.interactiveOutput);
    let from: FileHandle | undefined;
    let to: FileHandle | undefined;
    try {
      from = await onPath(src, () => client.open(src, { flags: fsConstants.O_RDONLY }, ctx.caller));
      to = await onPath(target, () =>
        client.open(target, { flags: fsConstants.O_WRONLY | (existing ? fsConstants.O_TRUNC : 0) }, ctx.caller),
      );
      const [r, w] = [from, to];
      const bytes = await pump(
        (pos, len) => onPath(src, () => r.read(pos, len)),
        async (pos, data) => {
          await onPath(target, () => w.write(pos, data));
        },
        attr.size,
        bar,
      );
      to = undefined;
      await onPath(target, () => w.close());
      bar.stop();
      return ok({ path: src, dest: target, bytes });
    } catch (err) {
      bar.stop();
      await to?.close().catch(() => undefined);
      if (!existing) await client.unlink(target, ctx.caller).catch(() => undefined);
      throw err;
    } finally {
      await from?.close().catch(() => undefined);
    }
  },
};

/** Creates (exclusively, so two concurrent copies never share one) `NAME (copy)`, `NAME (copy 2)`, ... */
async function createCopyName(client: DfsClient, caller: Caller, src: string, mode: number): Promise<string> {
  const dir = path.posix.dirname(src);
  const name = path.posix.basename(src);
  for (let n = 1; n <= MAX_COPY_NAMES; n++) {
    const candidate = joinCluster(dir, n === 1 ? `${name} (copy)` : `${name} (copy ${n})`);
    if (await statOrNull(client, candidate, caller)) continue;
    try {
      await client.create(candidate, mode, caller, { exclusive: true });
      return candidate;
    } catch (err) {
      if (err instanceof DfsError && err.errno === 'EEXIST') continue;
      throw new PathError(candidate, asDfsError(err));
    }
  }
  throw new PathError(src, new DfsError('EEXIST', `${MAX_COPY_NAMES} copies exist already`));
}
