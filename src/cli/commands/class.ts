import type { ClassOfReply__Output } from '../../rpc/gen/dfs/ClassOfReply';
import type { CreateClassRequest } from '../../rpc/gen/dfs/CreateClassRequest';
import type { DeleteClassRequest } from '../../rpc/gen/dfs/DeleteClassRequest';
import type { ListClassesReply__Output } from '../../rpc/gen/dfs/ListClassesReply';
import type { PathRequest } from '../../rpc/gen/dfs/PathRequest';
import type { SetClassPatternRequest } from '../../rpc/gen/dfs/SetClassPatternRequest';
import type { SetClassRequest } from '../../rpc/gen/dfs/SetClassRequest';
import type { StorageClassInfo__Output } from '../../rpc/gen/dfs/StorageClassInfo';
import { adminCall } from '../admin-rpc';
import type { CommandOptions, CommandResult, CommandSpec } from '../command';
import type { CliContext } from '../context';
import { CliError, EXIT_USAGE, onPath } from '../errors';
import { table } from '../format';

const ACTIONS = 'create, modify, list, delete, set, clear, get, pattern';

/**
 * `dfs class ACTION ...`: storage classes (replication factor + a label
 * constraint per replica, like MooseFS's) and the rules that pick one for a
 * file. The name node does the work; this file parses and prints.
 */
export const storageClass: CommandSpec = {
  name: 'class',
  aliases: ['sclass'],
  summary:
    'storage classes: create|modify|list|delete a class, set|clear|get the class of a path, route names by pattern',
  args: ['<ACTION>', '[ARGS...]'],
  options: [
    {
      flags: '--replica <LABELS>',
      description: "one replica's constraint: a label, 'a|b' (either), or '*' (any node); repeat per replica",
      repeatable: true,
    },
    { flags: '--copies <N>', description: 'N replicas, each on a node with --label (or anywhere without it)' },
    { flags: '--label <LABELS>', description: 'with --copies: the constraint of every replica' },
    { flags: '-r, --recursive', description: 'set/clear: also clear every class set below the directory' },
    { flags: '--remove', description: 'pattern: remove the pattern' },
  ],
  examples: [
    "dfs class create hot --replica ssd --replica '*'     # one copy on an ssd node, one anywhere",
    'dfs class create media --copies 2 --label hdd        # two copies on hdd nodes',
    'dfs class modify media --copies 3 --label hdd        # redefine: replicas move in the background',
    'dfs class list                                       # classes, their use, unmeetable ones, patterns',
    'dfs class set /videos media -r                       # the whole tree below /videos follows media',
    "dfs class pattern '*.mp3' media                      # files named *.mp3 anywhere use media",
    "dfs class pattern '*.mp3' --remove",
    'dfs class get /videos/a.mp3                          # the effective class and where it comes from',
    'dfs class clear /videos/a.mp3',
    'dfs class delete hot                                 # refused while a path or pattern uses it',
    '',
    'Which class a file gets, first match wins:',
    '  1. the class set on the file itself (class set FILE CLASS)',
    '  2. the most specific name pattern matching its base name (class pattern GLOB CLASS; cluster-wide,',
    "     case-sensitive, '*' '?' '[..]'; more literal characters wins)",
    '  3. the class of the nearest directory above it that has one (class set DIR CLASS)',
    "  4. the cluster default ('default': the name node's --replication copies on any nodes)",
    'Rules apply to existing files too: changing one moves their replicas in the background.',
    'A class the live data nodes cannot meet does not fail writes: the best available nodes are used,',
    "and 'dfs status', 'dfs class list' and 'dfs fsck' report it.",
  ],
  async run(ctx, [action, ...rest], opts) {
    switch (action) {
      case 'create':
      case 'modify':
        return create(ctx, rest, opts, action === 'modify');
      case 'list':
      case 'ls':
        noMore(action, rest, 0);
        return list(ctx);
      case 'delete':
      case 'rm':
        return remove(ctx, rest);
      case 'set':
        return set(ctx, rest, opts);
      case 'clear':
        return clear(ctx, rest, opts);
      case 'get':
        return get(ctx, rest);
      case 'pattern':
        return pattern(ctx, rest, opts);
      default:
        throw usage(`unknown action '${action}' (${ACTIONS})`);
    }
  },
};

function usage(message: string): CliError {
  return new CliError(`${message} (see 'dfs class --help')`, EXIT_USAGE, 'EUSAGE');
}

function noMore(action: string, args: string[], n: number): void {
  if (args.length > n) throw usage(`${action}: unexpected argument '${args[n]}'`);
}

function need(action: string, args: string[], names: string[]): string[] {
  if (args.length < names.length) throw usage(`${action}: missing ${names.slice(args.length).join(' ')}`);
  noMore(action, args, names.length);
  return args;
}

/** --replica (repeatable) or --copies N [--label L]: the list of per-replica constraints. */
function replicaSpec(opts: CommandOptions): string[] {
  const replica = typeof opts.replica === 'string' ? opts.replica : undefined;
  const copies = typeof opts.copies === 'string' ? opts.copies : undefined;
  const label = typeof opts.label === 'string' ? opts.label : undefined;
  if (replica !== undefined && (copies !== undefined || label !== undefined)) {
    throw usage('give either --replica (per replica) or --copies with --label, not both');
  }
  if (replica !== undefined) return replica.split(',');
  if (copies === undefined)
    throw usage('say how many replicas and where: --replica LABEL... or --copies N [--label L]');
  const n = Number(copies);
  if (!Number.isSafeInteger(n) || n < 1) throw usage(`--copies must be a whole number above 0, not '${copies}'`);
  return Array.from({ length: n }, () => label ?? '*');
}

function classJson(c: StorageClassInfo__Output): Record<string, unknown> {
  return {
    name: c.name,
    replication: c.replicas.length,
    replicas: c.replicas,
    builtin: c.builtin,
    meetable: c.meetable,
    files: Number(c.files),
    misplacedChunks: Number(c.misplacedChunks),
    unmeetableChunks: Number(c.unmeetableChunks),
    patterns: c.patterns,
  };
}

function describe(c: StorageClassInfo__Output): string {
  const n = c.replicas.length;
  return `${n} ${n === 1 ? 'copy' : 'copies'}: ${c.replicas.join(', ')}`;
}

async function create(ctx: CliContext, args: string[], opts: CommandOptions, replace: boolean): Promise<CommandResult> {
  const [name] = need(replace ? 'modify' : 'create', args, ['NAME']);
  const replicas = replicaSpec(opts);
  const c = await adminCall<CreateClassRequest, StorageClassInfo__Output>(ctx.opts.namenode, 'CreateClass', {
    caller: ctx.caller,
    name,
    replicas,
    replace,
  });
  const warning = c.meetable ? '' : `\nWARNING: the live data nodes cannot meet it now (writes fall back)`;
  return { text: `${c.name}: ${describe(c)}${warning}`, json: { ok: true, class: classJson(c) } };
}

async function list(ctx: CliContext): Promise<CommandResult> {
  const r = await adminCall<object, ListClassesReply__Output>(ctx.opts.namenode, 'ListClasses', {});
  return { text: renderClasses(r), json: { ok: true, ...classesJson(r) } };
}

export function classesJson(r: ListClassesReply__Output): { classes: unknown[]; patterns: unknown[] } {
  return {
    classes: r.classes.map(classJson),
    patterns: r.patterns.map((p) => ({ pattern: p.pattern, class: p.className })),
  };
}

/** The class table (and the pattern table): shared with `dfs status`. */
export function renderClasses(r: ListClassesReply__Output): string {
  const rows = [['CLASS', 'REPLICAS', 'FILES', 'MISPLACED', 'STATE', 'PATTERNS']];
  for (const c of r.classes) {
    const unmeetable = Number(c.unmeetableChunks);
    rows.push([
      c.name + (c.builtin ? ' (built-in)' : ''),
      describe(c),
      String(c.files),
      String(c.misplacedChunks),
      !c.meetable ? 'UNMEETABLE' : unmeetable > 0 ? `${unmeetable} chunk(s) on fallback nodes` : 'ok',
      c.patterns.join(' ') || '-',
    ]);
  }
  const lines = [table(rows)];
  const bad = r.classes.filter((c) => !c.meetable || Number(c.unmeetableChunks) > 0);
  for (const c of bad) {
    lines.push(
      `WARNING: class ${c.name} (${c.replicas.join(', ')}) cannot be met by the live data nodes` +
        (Number(c.unmeetableChunks) > 0 ? `: ${c.unmeetableChunks} chunk(s) kept on fallback nodes` : ''),
    );
  }
  return lines.join('\n');
}

async function remove(ctx: CliContext, args: string[]): Promise<CommandResult> {
  const [name] = need('delete', args, ['NAME']);
  await adminCall<DeleteClassRequest, object>(ctx.opts.namenode, 'DeleteClass', { caller: ctx.caller, name });
  return { text: 'ok', json: { ok: true, deleted: name } };
}

function classOfJson(r: ClassOfReply__Output): Record<string, unknown> {
  return {
    path: r.path,
    class: r.className,
    replication: r.replicas.length,
    replicas: r.replicas,
    source: r.source,
    from: r.from || null,
    own: r.own || null,
  };
}

function renderClassOf(r: ClassOfReply__Output): string {
  const why =
    r.source === 'own'
      ? 'set on it'
      : r.source === 'pattern'
        ? `name pattern '${r.from}'`
        : r.source === 'directory'
          ? `inherited from ${r.from}`
          : 'cluster default';
  return `${r.path}: ${r.className} (${r.replicas.length} ${r.replicas.length === 1 ? 'copy' : 'copies'}: ${r.replicas.join(', ')}; ${why})`;
}

async function setOrClear(ctx: CliContext, p: string, className: string, opts: CommandOptions): Promise<CommandResult> {
  const r = await onPath(p, () =>
    adminCall<SetClassRequest, ClassOfReply__Output>(ctx.opts.namenode, 'SetClass', {
      caller: ctx.caller,
      path: p,
      className,
      recursive: opts.recursive === true,
    }),
  );
  return { text: renderClassOf(r), json: { ok: true, ...classOfJson(r) } };
}

function set(ctx: CliContext, args: string[], opts: CommandOptions): Promise<CommandResult> {
  const [target, className] = need('set', args, ['PATH', 'CLASS']);
  return setOrClear(ctx, ctx.resolve(target), className, opts);
}

function clear(ctx: CliContext, args: string[], opts: CommandOptions): Promise<CommandResult> {
  const [target] = need('clear', args, ['PATH']);
  return setOrClear(ctx, ctx.resolve(target), '', opts);
}

async function get(ctx: CliContext, args: string[]): Promise<CommandResult> {
  const [target] = need('get', args, ['PATH']);
  const p = ctx.resolve(target);
  const r = await onPath(p, () =>
    adminCall<PathRequest, ClassOfReply__Output>(ctx.opts.namenode, 'GetClass', {
      caller: ctx.caller,
      path: p,
      followSymlinks: true,
    }),
  );
  return { text: renderClassOf(r), json: { ok: true, ...classOfJson(r) } };
}

async function pattern(ctx: CliContext, args: string[], opts: CommandOptions): Promise<CommandResult> {
  const removing = opts.remove === true;
  const [glob, className] = need('pattern', args, removing ? ['GLOB'] : ['GLOB', 'CLASS']);
  const r = await adminCall<SetClassPatternRequest, ListClassesReply__Output>(ctx.opts.namenode, 'SetClassPattern', {
    caller: ctx.caller,
    pattern: glob,
    className: removing ? '' : className,
  });
  const rows = [['PATTERN', 'CLASS'], ...r.patterns.map((p) => [p.pattern, p.className])];
  return {
    text: r.patterns.length > 0 ? table(rows) : 'no patterns',
    json: { ok: true, patterns: classesJson(r).patterns },
  };
}
