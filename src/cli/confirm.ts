import readline from 'node:readline';
import { CliError } from './errors';

/**
 * Yes/no confirmation for destructive commands. `--yes` answers for the user;
 * without a terminal to ask on (scripts, pipes, cron) and without `--yes` the
 * command refuses, so nothing is ever wiped silently.
 */
export async function confirm(question: string, opts: { yes: boolean; command: string }): Promise<void> {
  if (opts.yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError(
      `${question.replace(/\?$/, '')}: needs confirmation, but stdin is not a terminal ` + `(pass --yes to confirm)`,
      1,
      'ECANCELED',
    );
  }
  // The prompt goes to stderr so stdout stays clean for --json.
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string | null>((resolve) => {
    rl.once('close', () => resolve(null));
    rl.question(`dfs ${opts.command}: ${question} [y/N] `, (a) => resolve(a));
  });
  rl.close();
  if (answer === null || !/^\s*y(es)?\s*$/i.test(answer)) {
    throw new CliError('cancelled, nothing was changed', 1, 'ECANCELED');
  }
}
