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
      // Storage classes: replicas on nodes the class does not want (being moved), or that no node can fix.
      misplaced: count('misplaced'),
      unmeetable: count('unmeetable'),
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
  s: { missing: number; corrupt: number; underReplicated: number; misplaced: number; unmeetable: number },
): string {
  const lines: string[] = [];
  if (problems.length > 0) {
    const rows = [['PATH', 'CHUNK', 'INDEX', 'PROBLEM', 'LIVE/WANTED']];
    for (const x of problems) rows.push([x.path, x.chunkId, String(x.index), x.problem, `${x.live}/${x.wanted}`]);
    lines.push(table(rows), '');
  }
  lines.push(
    `${p}: ${files} file(s), ${chunks} chunk(s): ${s.missing} missing, ${s.corrupt} corrupt, ` +
      `${s.underReplicated} under-replicated, ${s.misplaced} misplaced, ${s.unmeetable} unmeetable`,
    problems.length === 0
      ? 'HEALTHY'
      : s.missing > 0 || s.corrupt > 0
        ? 'AT RISK: some data cannot be read or has a damaged copy'
        : s.underReplicated > 0
          ? 'AT RISK: some chunks have fewer copies than wanted (the name node is copying them)'
          : s.misplaced > 0
            ? 'MISPLACED: some chunks are not where their storage class wants them (the name node is moving them)'
            : 'UNMEETABLE: some storage classes cannot be met by the live data nodes (see dfs class list)',
  );
  return lines.join('\n');
}
