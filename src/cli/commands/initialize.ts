import { formatBytes } from '../../common/units';
import type { CommandSpec } from '../command';
import { confirm } from '../confirm';

export const initialize: CommandSpec = {
  name: 'initialize',
  aliases: [],
  summary: 'remove everything in the file system (after a yes/no question) and print the available size',
  args: [],
  examples: ['dfs initialize', 'dfs initialize --yes        # no question: for scripts', 'dfs --json --yes initialize'],
  async run(ctx) {
    // Connect first: an unreachable name node should fail before we ask anything.
    const client = await ctx.client();
    await confirm(`remove EVERYTHING under / on ${ctx.opts.namenode}?`, {
      yes: ctx.opts.yes,
      command: 'initialize',
    });
    const fs = await client.initialize(ctx.caller);
    try {
      // The stored current directory no longer exists.
      if (ctx.cwd !== '/') ctx.cwdStore.set('/');
    } catch {
      // An unwritable state dir only costs the reset; the next command reports the missing dir.
    }
    return {
      text: `available: ${formatBytes(fs.available)} (${fs.available} bytes)`,
      json: { ok: true, available: fs.available, capacity: fs.capacity, used: fs.used },
    };
  },
};
