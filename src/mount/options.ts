import { parseAddress, parseSize } from '../common/units';
import { DfsError } from '../rpc/errors';
import type { ClientSecurityFlags } from '../client/credentials';
import type { DfsFuseOptions } from './dfs-fuse';

export const DEFAULT_NAMENODE = '127.0.0.1:9000';

/** Everything `dfs-mount` is told, parsed and checked once at start-up. */
export interface MountConfig {
  mountPoint: string;
  namenode: string;
  foreground: boolean;
  debug: boolean;
  fuse: DfsFuseOptions;
  /** How long to wait for the name node at start before giving up. */
  connectTimeoutMs: number;
  /** `--token-file`, `--tls-*` (files only: no secret on the command line). */
  security: ClientSecurityFlags;
}

/**
 * Defaults of the `-o` options. The kernel's attribute cache is off
 * (attr_timeout=0) so that an open after another mount's close sees the new
 * size (close-to-open); the client's own cache answers those getattrs. Names
 * are cached for 1 s like NFS's lookup cache, and so are missing names
 * (negative_timeout): `mv a b`, `cp`, editors and builds look up the name they
 * are about to create several times, each a name node round trip otherwise.
 * This mount's own creates replace its negative entries at once.
 */
export const FUSE_DEFAULTS: DfsFuseOptions = {
  allowOther: false,
  allowRoot: false,
  autoUnmount: false,
  defaultPermissions: false,
  readOnly: false,
  nonEmpty: false,
  fuseDebug: false,
  maxReadaheadBytes: 1024 * 1024,
  entryTimeoutS: 1,
  attrTimeoutS: 0,
  negativeTimeoutS: 1,
};

/** Generic mount(8)/fstab options that mean nothing to a FUSE file system. */
const IGNORED = new Set([
  'defaults',
  'rw',
  'dev',
  'nodev',
  'suid',
  'nosuid',
  'exec',
  'noexec',
  'atime',
  'noatime',
  'relatime',
  'nodiratime',
  'auto',
  'noauto',
  'user',
  'nouser',
  'users',
  '_netdev',
  'nofail',
]);

function seconds(name: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isFinite(n) || n < 0) {
    throw new DfsError('EINVAL', `mount option ${name} needs a number of seconds (e.g. ${name}=1)`);
  }
  return n;
}

/** Applies one `-o` list ("allow_other,ro,attr_timeout=1") to `fuse`; returns the namenode if one is given. */
export function applyMountOptions(list: string, fuse: DfsFuseOptions): { namenode?: string } {
  let namenode: string | undefined;
  for (const raw of list.split(',')) {
    const opt = raw.trim();
    if (opt === '' || IGNORED.has(opt)) continue;
    const eq = opt.indexOf('=');
    const name = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    switch (name) {
      case 'allow_other':
        fuse.allowOther = true;
        break;
      case 'allow_root':
        fuse.allowRoot = true;
        break;
      case 'auto_unmount':
        fuse.autoUnmount = true;
        break;
      case 'default_permissions':
        fuse.defaultPermissions = true;
        break;
      case 'ro':
        fuse.readOnly = true;
        break;
      case 'nonempty':
        fuse.nonEmpty = true;
        break;
      case 'debug':
        fuse.fuseDebug = true;
        break;
      case 'entry_timeout':
        fuse.entryTimeoutS = seconds(name, value);
        break;
      case 'attr_timeout':
        fuse.attrTimeoutS = seconds(name, value);
        break;
      case 'negative_timeout':
        fuse.negativeTimeoutS = seconds(name, value);
        break;
      case 'max_readahead':
        fuse.maxReadaheadBytes = parseSize(value ?? '');
        break;
      case 'namenode':
        parseAddress(value ?? '', 'name node address');
        namenode = value;
        break;
      default:
        throw new DfsError('EINVAL', `unknown mount option '${opt}'`);
    }
  }
  return { namenode };
}
