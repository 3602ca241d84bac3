import { constants as fsConstants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { DfsError, asDfsError } from '../../rpc/errors';
import { ok, type CommandSpec } from '../command';
import { CliError, LocalFileError, onPath, PathError } from '../errors';
import { isDirectory } from '../format';
import { progressBar, pump } from '../transfer';

export const fileRead: CommandSpec = {
  name: 'file_read',
  aliases: ['get'],
  summary: 'download a file (default: to its name in the local working directory)',
  args: ['<PATH>', '[LOCAL]'],
  examples: [
    'dfs file_read report.pdf                   # -> ./report.pdf',
    'dfs file_read /pics/photo.jpg ~/Downloads/ # -> ~/Downloads/photo.jpg',
    'dfs get /backups/2024-06.tar restore.tar',
  ],
  async run(ctx, [remoteArg, localArg]) {
    const client = await ctx.client();
    const remote = ctx.resolve(remoteArg);
    const attr = await onPath(remote, () => client.stat(remote, ctx.caller));
    if (isDirectory(attr.mode)) throw new PathError(remote, new DfsError('EISDIR', 'list it with read_directory'));
    const name = path.posix.basename(remote);

    let local = localArg ?? name;
    const localStat = await fsp.stat(local).catch(() => null);
    if (localStat?.isDirectory()) local = path.join(local, name);
    else if (localArg?.endsWith('/'))
      throw new CliError(`local directory ${localArg}: no such file or directory`, 1, 'ENOENT');

    // Download beside the target and rename at the end: an interrupted download
    // never leaves a truncated file under the real name (or clobbers an old one).
    const tmp = path.join(path.dirname(local), `.${path.basename(local)}.dfs-part-${process.pid}`);
    const out = await fsp.open(tmp, 'wx').catch((err: unknown) => {
      throw new LocalFileError(local, err);
    });
    const handle = await onPath(remote, () => client.open(remote, { flags: fsConstants.O_RDONLY }, ctx.caller)).catch(
      async (err: unknown) => {
        await out.close();
        await fsp.unlink(tmp).catch(() => undefined);
        throw err;
      },
    );
    const bar = progressBar(`get ${name}`, attr.size, ctx.interactiveOutput);
    const started = Date.now();
    try {
      const bytes = await pump(
        (pos, len) => onPath(remote, () => handle.read(pos, len)),
        async (pos, data) => {
          let written = 0;
          while (written < data.length) {
            const r = await out.write(data, written, data.length - written, pos + written).catch((err: unknown) => {
              throw new LocalFileError(local, err);
            });
            written += r.bytesWritten;
          }
        },
        attr.size,
        bar,
      );
      await out.close();
      await fsp.rename(tmp, local).catch((err: unknown) => {
        throw new LocalFileError(local, err);
      });
      bar.stop();
      return ok({ path: remote, local: path.resolve(local), bytes, seconds: (Date.now() - started) / 1000 });
    } catch (err) {
      bar.stop();
      await out.close().catch(() => undefined);
      await fsp.unlink(tmp).catch(() => undefined);
      throw err instanceof CliError || err instanceof PathError ? err : new PathError(remote, asDfsError(err));
    } finally {
      await handle.close().catch(() => undefined);
    }
  },
};
