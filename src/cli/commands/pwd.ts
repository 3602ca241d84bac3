import type { CommandSpec } from '../command';

export const pwd: CommandSpec = {
  name: 'pwd',
  aliases: [],
  summary: 'print the current directory (set by open_directory)',
  args: [],
  examples: ['dfs pwd'],
  async run(ctx) {
    // Purely local: no name node needed to say where we are.
    const cwd = ctx.cwd;
    return { text: cwd, json: { ok: true, cwd } };
  },
};
