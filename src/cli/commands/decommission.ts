import type { DecommissionNode__Output } from '../../rpc/gen/dfs/DecommissionNode';
import { decommissionCall } from '../admin-rpc';
import type { CommandSpec } from '../command';
import { CliError } from '../errors';
import { table } from '../format';

const POLL_MS = 500;

export const decommission: CommandSpec = {
  name: 'decommission',
  aliases: [],
  summary: 'drain data nodes (copy all their chunks elsewhere) so they can be removed; shows progress',
  args: ['[NODE]'],
  options: [
    { flags: '--cancel', description: 'stop draining: the nodes count and receive chunks again' },
    { flags: '--wait', description: 'wait until every named node is decommissioned' },
    { flags: '--timeout <SECONDS>', description: 'with --wait, give up after this long (default 3600)' },
  ],
  examples: [
    'dfs decommission dn3          # start draining dn3',
    'dfs decommission              # show drains and their progress',
    'dfs decommission --wait dn3',
    'dfs decommission --cancel dn3',
  ],
  async run(ctx, nodes, opts) {
    const cancel = opts.cancel === true;
    if (cancel && nodes.length === 0) throw new CliError('--cancel needs the node ids', 2, 'EUSAGE');
    const timeoutS = opts.timeout === undefined ? 3600 : Number(opts.timeout);
    if (!(timeoutS > 0)) throw new CliError('--timeout must be a number of seconds', 2, 'EUSAGE');
    let reply = await decommissionCall(ctx.opts.namenode, { nodeIds: nodes, cancel });
    const deadline = Date.now() + timeoutS * 1000;
    const pending = () => reply.nodes.filter((n) => nodes.includes(n.id) && n.state !== 'decommissioned');
    let last = '';
    while (opts.wait === true && !cancel && pending().length > 0) {
      if (Date.now() > deadline) {
        throw new CliError(`still draining after ${timeoutS}s: ${describe(pending())}`, 1, 'ETIMEDOUT');
      }
      const line = `draining: ${describe(pending())}`;
      if (!ctx.json && line !== last) process.stderr.write(`${line}\n`);
      last = line;
      await new Promise((r) => setTimeout(r, POLL_MS));
      reply = await decommissionCall(ctx.opts.namenode, { nodeIds: [], cancel: false });
    }
    const shown = reply.nodes.map((n) => ({
      id: n.id,
      state: n.state,
      chunks: Number(n.chunks),
      remaining: Number(n.remaining),
    }));
    const rows = [['DATA NODE', 'STATE', 'CHUNKS', 'LEFT TO COPY']];
    for (const n of shown) rows.push([n.id, n.state, String(n.chunks), String(n.remaining)]);
    return {
      text: shown.length > 0 ? table(rows) : 'no data node is being decommissioned',
      json: { ok: true, nodes: shown },
    };
  },
};

function describe(nodes: DecommissionNode__Output[]): string {
  return nodes.map((n) => `${n.id} ${n.state}, ${n.remaining} chunk(s) left`).join('; ');
}
