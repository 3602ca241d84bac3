import type { CliContext } from './context';

/**
 * One `dfs` sub-command, declared in its own file under commands/ and wired
 * to the argument parser by main.ts. Commands never print: they return what
 * to show, in both forms, and main.ts picks one (`--json` or text).
 */

export type CommandOptions = Record<string, string | boolean | undefined>;

export interface CommandResult {
  /** Human output (without a trailing newline); empty prints nothing. */
  text: string;
  /** `--json` output; every object carries `ok: true` so scripts can check one key. */
  json: { ok: true } & Record<string, unknown>;
  /** Non-zero when the command ran but found trouble (fsck: data at risk); the output is still printed. */
  exitCode?: number;
}

export interface CommandSpec {
  /** The canonical (seed) name. */
  name: string;
  aliases: string[];
  summary: string;
  /** Commander argument syntax: `<PATH>` required, `[LOCAL]` optional. */
  args: string[];
  /** `repeatable`: the option may be given several times; its values arrive joined with ','. */
  options?: Array<{ flags: string; description: string; repeatable?: boolean }>;
  /** Usage lines shown under `dfs COMMAND --help`. */
  examples: string[];
  run(ctx: CliContext, args: string[], opts: CommandOptions): Promise<CommandResult>;
}

/** The answer of every command whose contract output is `ok`. */
export function ok(details: Record<string, unknown> = {}): CommandResult {
  return { text: 'ok', json: { ok: true, ...details } };
}
