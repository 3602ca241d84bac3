import { formatBytes } from '../../common/units';
import type { BalanceStatus__Output } from '../../rpc/gen/dfs/BalanceStatus';
import { balanceCall } from '../admin-rpc';
import type { CommandSpec } from '../command';
import { CliError } from '../errors';
import { table } from '../format';

const POLL_MS = 500;

export const balance: CommandSpec = {
  name: 'balance',
  aliases: [],
  summary: 'move chunks until every data node’s disk use is within a band of the others; shows progress',
  args: [],
  options: [
    {
      flags: '--band <PCT>',
      description: 'allowed spread of disk use in percent points (default: the name node’s, 10)',
    },
    { flags: '--status', description: 'only show the balancer’s progress' },
    { flags: '--no-wait', description: 'start balancing and return at once' },
    { flags: '--timeout <SECONDS>', description: 'give up waiting after this long (default 600)' },
  ],
  examples: ['dfs balance', 'dfs balance --band 5', 'dfs balance --status', 'dfs --json balance --no-wait'],
  async run(ctx, _args, opts) {
    const band = opts.band === undefined ? 0 : Number(opts.band);
    if (!Number.isFinite(band) || band <= 0 || band > 100) {
      if (opts.band !== undefined) throw new CliError(`--band must be a percentage above 0 up to 100`, 2, 'EUSAGE');
    }
    const timeoutS = opts.timeout === undefined ? 600 : Number(opts.timeout);
    if (!(timeoutS > 0)) throw new CliError(`--timeout must be a number of seconds`, 2, 'EUSAGE');
    const onlyStatus = opts.status === true;
    const wait = opts.wait !== false && !onlyStatus;
    let s = await balanceCall(ctx.opts.namenode, { start: !onlyStatus, band });
    const deadline = Date.now() + timeoutS * 1000;
    let lastLine = '';
    while (wait && !(s.balanced && !s.running && s.inFlight === 0)) {
      if (Date.now() > deadline) throw new CliError(`not balanced after ${timeoutS}s (${progress(s)})`, 1, 'ETIMEDOUT');
      const line = progress(s);
      if (!ctx.json && line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
      await new Promise((r) => setTimeout(r, POLL_MS));
      s = await balanceCall(ctx.opts.namenode, { start: false, band: 0 });
    }
    return {
      text: render(s),
      json: {
        ok: true,
        running: s.running,
        balanced: s.balanced,
        bandPct: s.band,
        spreadPct: s.spread,
        movedChunks: Number(s.movedChunks),
        movedBytes: Number(s.movedBytes),
        inFlight: s.inFlight,
        bytesToMove: Number(s.bytesToMove),
        nodes: s.nodes.map((n) => ({
          id: n.id,
          utilizationPct: n.utilization,
          bytes: Number(n.bytes),
          capacity: Number(n.capacity),
        })),
      },
    };
  },
};

function progress(s: BalanceStatus__Output): string {
  return (
    `balancing: spread ${s.spread.toFixed(1)}% (band ${s.band.toFixed(1)}%), moved ${s.movedChunks} chunk(s) ` +
    `${formatBytes(Number(s.movedBytes))}, ${s.inFlight} in flight, ~${formatBytes(Number(s.bytesToMove))} to go`
  );
}

function render(s: BalanceStatus__Output): string {
  const rows = [['DATA NODE', 'USE%', 'CHUNK BYTES', 'CAPACITY']];
  for (const n of s.nodes) {
    rows.push([n.id, `${n.utilization.toFixed(1)}%`, formatBytes(Number(n.bytes)), formatBytes(Number(n.capacity))]);
  }
  const state = s.balanced
    ? `balanced: spread ${s.spread.toFixed(1)}% within the ${s.band.toFixed(1)}% band`
    : s.running
      ? progress(s)
      : `not balanced: spread ${s.spread.toFixed(1)}% (band ${s.band.toFixed(1)}%); run 'dfs balance' to start`;
  return [
    state,
    `moved since the name node started: ${s.movedChunks} chunk(s), ${formatBytes(Number(s.movedBytes))}`,
    '',
    s.nodes.length > 0 ? table(rows) : 'no live data nodes',
  ].join('\n');
}
