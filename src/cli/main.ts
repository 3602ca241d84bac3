#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { createLogger } from '../common/logger';
import type { CommandResult, CommandSpec, CommandOptions } from './command';
import type { ClientSecurityFlags } from '../client/credentials';
import { CliContext, type GlobalOptions } from './context';
import { EXIT_USAGE, reportError } from './errors';
import { deleteDirectory } from './commands/delete_directory';
import { fileCopy } from './commands/file_copy';
import { fileCreate } from './commands/file_create';
import { fileDelete } from './commands/file_delete';
import { fileInfo } from './commands/file_info';
import { fileMove } from './commands/file_move';
import { fileRead } from './commands/file_read';
import { fileWrite } from './commands/file_write';
import { initialize } from './commands/initialize';
import { makeDirectory } from './commands/make_directory';
import { openDirectory } from './commands/open_directory';
import { pwd } from './commands/pwd';
import { readDirectory } from './commands/read_directory';
import { status } from './commands/status';
import { balance } from './commands/balance';
import { decommission } from './commands/decommission';
import { fsck } from './commands/fsck';
import { sync } from './commands/sync';
import { fetchFiles } from './commands/fetch';
import { storageClass } from './commands/class';

/**
 * `dfs`: the command CLI. Parses the command line (commander), runs one
 * command from commands/ with a CliContext, prints its result as text or
 * JSON, and turns any failure into one `dfs: ...` line and an exit status.
 */

/** In the seed's order, then the extras. */
export const COMMANDS: CommandSpec[] = [
  initialize,
  fileCreate,
  fileRead,
  fileWrite,
  fileDelete,
  fileInfo,
  fileCopy,
  fileMove,
  openDirectory,
  readDirectory,
  makeDirectory,
  deleteDirectory,
  status,
  pwd,
  fsck,
  balance,
  decommission,
  sync,
  fetchFiles,
  storageClass,
];

const DEFAULT_NAMENODE = '127.0.0.1:9000';

const log = createLogger('dfs', 'warn');
const debug = (process.env.DFS_LOG_LEVEL ?? '').toLowerCase() === 'debug' || process.env.DFS_LOG_LEVEL === 'trace';

function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
  } catch {
    return 'unknown';
  }
}

function usageLine(message: string, command?: string): string {
  const text = message.replace(/^error: /, '').trim();
  const help = command ? `dfs ${command} --help` : 'dfs --help';
  return command ? `dfs: ${command}: ${text} (see '${help}')\n` : `dfs: ${text} (see '${help}')\n`;
}

function buildProgram(run: (spec: CommandSpec, args: string[], opts: CommandOptions) => Promise<void>): Command {
  const program = new Command('dfs')
    .description(
      'Command CLI for the dfs distributed file system.\n' +
        'Paths are cluster paths; relative ones resolve against the current directory (open_directory).',
    )
    .usage('[--namenode HOST:PORT] [--json] [--yes] COMMAND [ARGS]')
    .option(
      '--namenode <HOST:PORT>',
      'name node address (env DFS_NAMENODE)',
      process.env.DFS_NAMENODE || DEFAULT_NAMENODE,
    )
    .option('--json', 'print machine-readable JSON (stable keys) instead of text')
    .option('-y, --yes', 'answer yes to confirmations (initialize, delete_directory on a non-empty directory)')
    .option('--token-file <FILE>', 'client token for a secured cluster, mode 0600 (env DFS_TOKEN_FILE)')
    .option('--tls-ca <FILE>', 'CA certificate to verify the cluster with TLS (env DFS_TLS_CA)')
    .option('--tls-cert <FILE>', 'client certificate for mutual TLS (env DFS_TLS_CERT)')
    .option('--tls-key <FILE>', 'client key for mutual TLS (env DFS_TLS_KEY)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand('help [COMMAND]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(usageLine(str)) })
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  dfs make_directory /pics && dfs open_directory /pics',
        '  dfs file_write ./photo.jpg               # upload into the current directory',
        '  dfs read_directory',
        '  dfs file_info photo.jpg                  # chunks and the data nodes holding them',
        '  dfs --namenode 10.0.0.5:9000 status',
        '',
        "Run 'dfs COMMAND --help' for a command's arguments and examples.",
      ].join('\n'),
    );

  for (const spec of COMMANDS) {
    const cmd = program.command(spec.name).description(spec.summary);
    if (spec.aliases.length) cmd.aliases(spec.aliases);
    for (const a of spec.args) cmd.argument(a);
    for (const o of spec.options ?? []) {
      if (o.repeatable) cmd.option(o.flags, o.description, (v: string, prev?: string) => (prev ? `${prev},${v}` : v));
      else cmd.option(o.flags, o.description);
    }
    cmd.configureOutput({ outputError: (str, write) => write(usageLine(str, spec.name)) });
    cmd.addHelpText(
      'after',
      [
        '',
        'Examples:',
        ...spec.examples.map((e) => `  ${e}`),
        ...(spec.aliases.length ? ['', `Aliases: ${spec.aliases.join(', ')}`] : []),
      ].join('\n'),
    );
    cmd.action(async (...actionArgs: unknown[]) => {
      const self = actionArgs[actionArgs.length - 1] as Command;
      // A variadic argument (`[ARGS...]`) arrives as an array: its values are positional too.
      const positional = (self.processedArgs as Array<string | string[] | undefined>)
        .flat()
        .filter((a): a is string => a !== undefined);
      await run(spec, positional, self.opts<CommandOptions>());
    });
  }
  return program;
}

function print(result: CommandResult, json: boolean): void {
  if (json) process.stdout.write(JSON.stringify(result.json, null, 2) + '\n');
  else if (result.text) process.stdout.write(result.text + '\n');
}

/** Control characters from user input (a path with a newline) are shown escaped: an error stays one line. */
function oneLine(message: string): string {
  return message.replace(/[\x00-\x1f\x7f]/g, (c) =>
    c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  let ctx: CliContext | undefined;
  let activeCommand: string | undefined;
  const program = buildProgram(async (spec, args, opts) => {
    activeCommand = spec.name;
    const globals = program.opts<{ namenode: string; json?: boolean; yes?: boolean } & ClientSecurityFlags>();
    const options: GlobalOptions = {
      namenode: globals.namenode,
      json: !!globals.json,
      yes: !!globals.yes,
      security: {
        tokenFile: globals.tokenFile,
        tlsCa: globals.tlsCa,
        tlsCert: globals.tlsCert,
        tlsKey: globals.tlsKey,
      },
    };
    ctx = new CliContext(options, log);
    log.debug({ command: spec.name, args, opts, caller: ctx.caller }, 'running');
    const result = await spec.run(ctx, args, opts);
    print(result, options.json);
    if (result.exitCode) exitCode = result.exitCode;
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version are successes; anything else is a usage error already printed by outputError.
      exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
    } else {
      const explained = ctx ? await ctx.explain(err) : err;
      const r = reportError(explained);
      process.stderr.write(`dfs: ${activeCommand ? `${activeCommand}: ` : ''}${oneLine(r.message)}\n`);
      if (debug && explained instanceof Error && explained.stack) process.stderr.write(explained.stack + '\n');
      if (ctx?.json) {
        process.stdout.write(JSON.stringify({ ok: false, errno: r.errno, error: r.message }, null, 2) + '\n');
      }
      exitCode = r.exitCode;
    }
  } finally {
    await ctx?.close().catch((err: unknown) => log.debug({ err }, 'closing the client failed'));
  }
  return exitCode;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Exit once stdout is flushed: a lingering gRPC channel must not keep the CLI alive.
      process.stdout.write('', () => process.exit(code));
    },
    (err: unknown) => {
      process.stderr.write(`dfs: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      process.exit(1);
    },
  );
}
