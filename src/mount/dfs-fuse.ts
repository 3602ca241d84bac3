import Fuse from 'fuse-native';

/** Largest FUSE request libfuse2 supports without max_pages: 32 pages. */
export const MAX_WRITE = 128 * 1024;

export interface KernelCacheOptions {
  /** Seconds the kernel may cache a name -> inode lookup. */
  entryTimeoutS: number;
  /** Seconds the kernel may cache attributes. */
  attrTimeoutS: number;
  /** How long the kernel remembers that a name does not exist (s). */
  negativeTimeoutS: number;
}

export interface DfsFuseOptions extends KernelCacheOptions {
  allowOther: boolean;
  allowRoot: boolean;
  autoUnmount: boolean;
  defaultPermissions: boolean;
  readOnly: boolean;
  nonEmpty: boolean;
  fuseDebug: boolean;
  maxReadaheadBytes: number;
}

/**
 * Every op is bounded by the client (metadata calls by its metadata timeout, data
 * calls by its data timeout and pipeline recovery), so fuse-native's own timer
 * is only a backstop against a bug: long enough that a replicated write, a
 * pipeline repair or a name node restart never hits it by accident.
 */
export const OP_TIMEOUTS_MS: Record<string, number> = {
  default: 120_000,
  read: 600_000,
  write: 600_000,
  flush: 600_000,
  fsync: 600_000,
  release: 600_000,
  ftruncate: 600_000,
  truncate: 600_000,
  create: 600_000,
  open: 600_000,
};

/**
 * fuse-native has no flag for the options that make the mount fast
 * (`big_writes`, `max_write`, `max_readahead`) or for inode numbers
 * (`use_ino`), so they are appended to the `-o` string it builds.
 */
export class DfsFuse extends Fuse {
  constructor(
    mnt: string,
    ops: Fuse.Operations,
    private readonly extra: DfsFuseOptions,
  ) {
    super(mnt, ops, {
      timeout: OP_TIMEOUTS_MS,
      debug: extra.fuseDebug,
      allowOther: extra.allowOther,
      allowRoot: extra.allowRoot,
      autoUnmount: extra.autoUnmount,
      defaultPermissions: extra.defaultPermissions,
      fsname: 'dfs',
      subtype: 'dfs',
      // XattrOps refuses file capabilities, and the kernel asks for one before every
      // write: the fixed answer is given on the FUSE thread, sparing the event loop a
      // round trip per write.
      noSecurityCapability: true,
      // FileOps.flush commits a writable handle's data; a read-only one has none, and
      // close(2) of it (cp, builds, readers) need not wait for the event loop.
      noReadOnlyFlush: true,
    });
  }

  protected override _fuseOptions(): string {
    const base = super._fuseOptions();
    const mine = [
      'big_writes',
      `max_write=${MAX_WRITE}`,
      `max_read=${MAX_WRITE}`,
      `max_readahead=${this.extra.maxReadaheadBytes}`,
      // st_ino from the name node: hard links share an inode number, as tar/cp -a expect.
      'use_ino',
      'readdir_ino',
      // fuse-native's own flags skip a 0 value, so the timeouts are always spelled out.
      `entry_timeout=${this.extra.entryTimeoutS}`,
      `attr_timeout=${this.extra.attrTimeoutS}`,
      `negative_timeout=${this.extra.negativeTimeoutS}`,
    ];
    if (this.extra.readOnly) mine.push('ro');
    if (this.extra.nonEmpty) mine.push('nonempty');
    return base ? `${base},${mine.join(',')}` : `-o${mine.join(',')}`;
  }

  mountAsync(): Promise<void> {
    return new Promise((resolve, reject) => this.mount((err) => (err ? reject(err) : resolve())));
  }

  unmountAsync(): Promise<void> {
    return new Promise((resolve, reject) => this.unmount((err) => (err ? reject(err) : resolve())));
  }
}
