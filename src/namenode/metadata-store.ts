import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/logger';
import { DfsError } from '../rpc/errors';
import { encodeCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint';
import { Journal } from './journal';
import { type Effects, MetaState } from './meta-state';
import type { MetaRecord } from './records';

export interface MetaStoreOptions {
  dataDir: string;
  /** Used when the data dir is new; an existing cluster keeps the chunk size it was created with. */
  chunkSize: number;
  /** Take a checkpoint after this many journal records. */
  checkpointEvery: number;
  /** Owner of '/' when the data dir is new. */
  rootOwner: { uid: number; gid: number };
}

interface ClusterIdentity {
  clusterId: string;
  chunkSize: number;
  createdMs: number;
}

/**
 * Durable metadata: the in-memory state, the journal it is rebuilt from, and
 * checkpoints. `mutate` applies a record and resolves once it is fsync'd.
 */
export class MetaStore {
  private checkpointing: Promise<void> | undefined;

  private constructor(
    readonly state: MetaState,
    readonly clusterId: string,
    private readonly journal: Journal,
    private readonly opts: MetaStoreOptions,
    private readonly log: Logger,
  ) {}

  static async open(opts: MetaStoreOptions, log: Logger): Promise<MetaStore> {
    await fs.mkdir(opts.dataDir, { recursive: true });
    const identity = await loadIdentity(opts, log);
    const started = Date.now();
    const cp = await readCheckpoint(opts.dataDir);
    const state = cp?.state ?? MetaState.fresh(identity.chunkSize, opts.rootOwner, identity.createdMs);
    const seq = cp?.seq ?? 0;
    if (!cp) {
      // The initial state is written at once so replay always starts from the same root inode.
      await writeCheckpoint(opts.dataDir, encodeCheckpoint(state, 0));
    }
    const { journal, entries } = await Journal.open(path.join(opts.dataDir, 'journal'), seq, log);
    let failed = 0;
    for (const e of entries) {
      try {
        state.apply(e.rec);
      } catch (err) {
        failed++;
        log.error({ err, seq: e.seq, op: e.rec.op }, 'journal replay: record could not be applied; skipped');
      }
    }
    log.info(
      {
        checkpointSeq: seq,
        replayed: entries.length,
        failed,
        inodes: state.namespace.fileCount,
        chunks: state.chunks.size,
        ms: Date.now() - started,
      },
      'metadata loaded',
    );
    const store = new MetaStore(state, identity.clusterId, journal, opts, log);
    if (entries.length > 0) await store.checkpoint();
    return store;
  }

  get seq(): number {
    return this.journal.seq;
  }

  /** Applies `rec` and resolves with its effects once it is durable in the journal. */
  async mutate(rec: MetaRecord): Promise<Effects> {
    const failed = this.journal.failed;
    if (failed)
      throw new DfsError('EIO', `metadata is read-only: the journal could not be written (${failed.message})`);
    const effects = this.state.apply(rec);
    const durable = this.journal.append(rec);
    if (this.journal.recordsInSegment >= this.opts.checkpointEvery && !this.checkpointing) {
      void this.checkpoint().catch(() => undefined);
    }
    await durable;
    return effects;
  }

  /**
   * Snapshot now (synchronously, consistent with the journal's last record),
   * continue the journal in a new segment, write the snapshot durably, then
   * drop the segments it covers.
   */
  checkpoint(): Promise<void> {
    if (this.checkpointing) return this.checkpointing;
    const seq = this.journal.seq;
    const started = Date.now();
    const frame = encodeCheckpoint(this.state, seq);
    this.journal.roll();
    this.checkpointing = (async () => {
      try {
        await writeCheckpoint(this.opts.dataDir, frame);
        await this.journal.prune(seq);
        this.log.info({ seq, bytes: frame.length, ms: Date.now() - started }, 'checkpoint written');
      } catch (err) {
        this.log.error({ err }, 'checkpoint failed; the journal keeps every record');
        throw err;
      } finally {
        this.checkpointing = undefined;
      }
    })();
    return this.checkpointing;
  }

  /** Resolves when no checkpoint is being written (tests use it to stand in for a crash between two). */
  async idle(): Promise<void> {
    await this.checkpointing?.catch(() => undefined);
  }

  /** Clean shutdown: every queued record on disk, a final checkpoint, files closed. */
  async close(): Promise<void> {
    await this.journal.drain();
    await this.checkpointing?.catch(() => undefined);
    await this.checkpoint().catch(() => undefined);
    await this.journal.drain();
    await this.journal.close();
  }
}

async function loadIdentity(opts: MetaStoreOptions, log: Logger): Promise<ClusterIdentity> {
  const file = path.join(opts.dataDir, 'cluster.json');
  try {
    const id = JSON.parse(await fs.readFile(file, 'utf8')) as ClusterIdentity;
    if (id.chunkSize !== opts.chunkSize) {
      log.warn(
        { stored: id.chunkSize, requested: opts.chunkSize },
        'this cluster was created with another chunk size; keeping the stored one',
      );
    }
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DfsError('EIO', `cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const id: ClusterIdentity = {
    clusterId: randomBytes(8).toString('hex'),
    chunkSize: opts.chunkSize,
    createdMs: Date.now(),
  };
  const tmp = `${file}.tmp`;
  const fh = await fs.open(tmp, 'w');
  await fh.writeFile(JSON.stringify(id) + '\n');
  await fh.sync();
  await fh.close();
  await fs.rename(tmp, file);
  return id;
}
