import { constants as fsConstants, promises as fsp } from 'node:fs';
import path from 'node:path';
import type { FileHandle as DfsFileHandle } from '../../client/types';
import { DfsError } from '../../rpc/errors';
import { ok, type CommandSpec } from '../command';
import { destinationFor } from '../cluster-files';
import { CliError, LocalFileError, onPath, PathError } from '../errors';
import { isDirectory } from '../format';
import { progressBar, pump } from '../transfer';

export const fileWrite: CommandSpec = {
  name: 'file_write',
  aliases: ['put'],
  summary: 'upload a local file (default destination: its name in the current directory)',
  args: ['<LOCAL>', '[PATH]'],
  examples: [
    'dfs file_write ./photo.jpg                 # -> photo.jpg in the current directory',
    'dfs file_write ./photo.jpg /pics/          # -> /pics/photo.jpg',
    'dfs put backup.tar /backups/2024-06.tar',
  ],
  async run(ctx, [local, remoteArg]) {
    const name = path.basename(local);
    const source = await fsp.open(local, 'r').catch((err: unknown) => {
      throw new LocalFileError(local, err);
    });
    try {
      const st = await source.stat();
      if (st.isDirectory()) throw new CliError(`local file ${local}: is a directory (upload files one at a time)`);
      const client = await ctx.client();
      const dest = remoteArg ?? '.';
      const { path: target, existing } = await destinationFor(
        client,
        ctx.caller,
        ctx.resolve(dest),
        dest.endsWith('/') || remoteArg === undefined,
        name,
      );
      if (existing && isDirectory(existing.mode)) throw new PathError(target, new DfsError('EISDIR', ''));

      // A new file gets the local permission bits, as `cp` does.
      if (!existing)
        await onPath(target, () => client.create(target, st.mode & 0o777, ctx.caller, { exclusive: true }));
      let handle: DfsFileHandle | undefined;
      const bar = progressBar(`put ${name}`, st.size, ctx.interactiveOutput);
      const started = Date.now();
      try {
        handle = await onPath(target, () =>
          client.open(target, { flags: fsConstants.O_WRONLY | (existing ? fsConstants.O_TRUNC : 0) }, ctx.caller),
        );
        const h = handle;
        const bytes = await pump(
          readLocal(source, local),
          async (pos, data) => {
            await onPath(target, () => h.write(pos, data));
          },
          st.size,
          bar,
        );
        // fsync, not just close: a finished upload survives a power loss on every replica (DESIGN guarantee 1).
        await onPath(target, () => h.fsync());
        handle = undefined;
        await onPath(target, () => h.close());
        bar.stop();
        return ok({ path: target, local: path.resolve(local), bytes, seconds: (Date.now() - started) / 1000 });
      } catch (err) {
        bar.stop();
        await handle?.close().catch(() => undefined);
        // Don't leave a half-uploaded file behind that we created ourselves.
        if (!existing) await client.unlink(target, ctx.caller).catch(() => undefined);
        throw err;
      }
    } finally {
      await source.close().catch(() => undefined);
    }
  },
};

function readLocal(fh: fsp.FileHandle, what: string) {
  return async (position: number, length: number): Promise<Buffer> => {
    // A fresh buffer per piece: the client may keep it until the replicas acknowledge it.
    const buf = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await fh.read(buf, filled, length - filled, position + filled).catch((err: unknown) => {
        throw new LocalFileError(what, err);
      });
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled < length ? buf.subarray(0, filled) : buf;
  };
}
