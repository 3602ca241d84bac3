import type { FsckProblem } from '../../client/types';
import type { CommandSpec } from '../command';
import { onPath } from '../errors';
import { table } from '../format';

/** Exit status when some chunk is under-replicated, corrupt or missing (data at risk). */
const EXIT_AT_RISK = 1;

export const fsck: CommandSpec = {
  name: 'fsck',
  aliases: [],
  summary: 'check chunk health: under-replicated, corrupt and missing chunks and their files',
  args: ['[PATH]'],
  examples: ['dfs fsck', 'dfs fsck /pics', 'dfs --json fsck | jq .problems'],
  async run(ctx, [target]) {
    const client = await ctx.client();
    const p = ctx.resolve(target ?? '/');
    const report = await onPath(p, () => client.fsck(p, ctx.caller));
    const count = (kind: string) => report.problems.filter((x) => x.problem === kind).length;
    const summary = {
      missing: count('missing'),
      corrupt: count('corrupt'),
      underReplicated: count('under-replicated'),
    };
    const healthy = report.problems.length === 0;
    return {
      text: render(p, report.files, report.chunks, report.problems, summary),
      json: {
        ok: true,
        path: p,
        healthy,
        files: report.files,
        chunks: report.chunks,
        ...summary,
        problems: report.problems,
      },
      exitCode: healthy ? 0 : EXIT_AT_RISK,
    };
  },
};

function render(
  p: string,
  files: number,
  chunks: number,
  problems: FsckProblem[],
  s: { missing: number; corrupt: number; underReplicated: number },
): string {
  const lines: string[] = [];
  if (problems.length > 0) {
    const rows = [['PATH', 'CHUNK', 'INDEX', 'PROBLEM', 'LIVE/WANTED']];
    for (const x of problems) rows.push([x.path, x.chunkId, String(x.index), x.problem, `${x.live}/${x.wanted}`]);
    lines.push(table(rows), '');
  }
  lines.push(
    `${p}: ${files} file(s), ${chunks} chunk(s): ${s.missing} missing, ${s.corrupt} corrupt, ` +
      `${s.underReplicated} under-replicated`,
    problems.length === 0
      ? 'HEALTHY'
      : s.missing > 0 || s.corrupt > 0
        ? 'AT RISK: some data cannot be read or has a damaged copy'
        : 'AT RISK: some chunks have fewer copies than wanted (the name node is copying them)',
  );
  return lines.join('\n');
}
