#!/usr/bin/env -S node --single-threaded-gc --initial-old-space-size=256
import { Command, CommanderError } from 'commander';
import { createClient } from '../client';
import { createLogger } from '../common/logger';
import { asDfsError } from '../rpc/errors';
import { detach } from './daemon';
import { fusermountUnmount, resolveMountPoint } from './mount-point';
import { applyMountOptions, DEFAULT_NAMENODE, FUSE_DEFAULTS, type MountConfig } from './options';
import { runMount } from './run';

const CONNECT_TIMEOUT_MS = 15_000;

interface CliOptions {
  namenode?: string;
  foreground?: boolean;
  options: string[];
  debug?: boolean;
  unmount?: string;
  lazy?: boolean;
  tokenFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function program(): Command {
  return new Command('dfs-mount')
    .description('Mount a dfs cluster as a POSIX file system (FUSE).')
    .argument('[mountpoint]', 'directory to mount on')
    .option('--namenode <host:port>', `name node address (default: $DFS_NAMENODE or ${DEFAULT_NAMENODE})`)
    .option('-f, --foreground', 'stay in the foreground (default: detach once the mount is live)')
    .option('-o, --options <opts>', 'mount options: allow_other, ro, auto_unmount, attr_timeout=S, ...', collect, [])
    .option('--debug', 'log every operation (level debug)')
    .option('--token-file <file>', 'client token for a secured cluster, mode 0600 (env DFS_TOKEN_FILE)')
    .option('--tls-ca <file>', 'CA certificate to verify the cluster with TLS (env DFS_TLS_CA)')
    .option('--tls-cert <file>', 'client certificate for mutual TLS (env DFS_TLS_CERT)')
    .option('--tls-key <file>', 'client key for mutual TLS (env DFS_TLS_KEY)')
    .option('--unmount <mountpoint>', 'unmount a dfs mount and exit')
    .option('--lazy', 'with --unmount: detach even if busy (fusermount -uz)')
    .addHelpText(
      'after',
      '\nA mount whose process died shows "Transport endpoint is not connected": fusermount -uz MOUNTPOINT clears it.',
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function toConfig(mountPointArg: string, opts: CliOptions): MountConfig {
  const fuse = { ...FUSE_DEFAULTS };
  let namenode = opts.namenode ?? process.env.DFS_NAMENODE ?? DEFAULT_NAMENODE;
  for (const list of opts.options) {
    const fromOptions = applyMountOptions(list, fuse).namenode;
    if (fromOptions && !opts.namenode) namenode = fromOptions;
  }
  return {
    mountPoint: resolveMountPoint(mountPointArg),
    namenode,
    foreground: opts.foreground === true,
    debug: opts.debug === true,
    fuse,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    security: { tokenFile: opts.tokenFile, tlsCa: opts.tlsCa, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey },
  };
}

async function main(argv: string[]): Promise<number> {
  const cmd = program();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  const opts = cmd.opts<CliOptions>();
  if (opts.unmount) {
    await fusermountUnmount(resolveMountPoint(opts.unmount), opts.lazy === true);
    return 0;
  }
  const [mountPointArg] = cmd.args;
  if (!mountPointArg) {
    process.stderr.write('dfs-mount: missing MOUNTPOINT (dfs-mount --help)\n');
    return 2;
  }
  const config = toConfig(mountPointArg, opts);
  if (!config.foreground) return detach(argv, config.mountPoint);
  if (config.debug) process.env.DFS_LOG_LEVEL = 'debug';
  const log = createLogger('dfs-mount', 'warn');
  const code = await runMount(config, log, createClient);
  // The log is written asynchronously: let it drain before the process exits.
  await new Promise<void>((resolve) => log.flush(() => resolve()));
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dfs-mount: ${asDfsError(err).detail}\n`);
    process.exit(1);
  },
);
