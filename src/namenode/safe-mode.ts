import type { Logger } from '../common/logger';
import { events } from './events';

/**
 * Safe mode, as in HDFS: right after a restart the name node knows every chunk
 * (from its journal) but not yet where the replicas are, because the data
 * nodes have not reported. Until they have, "no live replica" only means "not
 * reported yet", so nothing may be re-replicated, trimmed, rebalanced or
 * deleted on that basis. Safe mode ends once every chunk with data has a
 * reported replica (after a short grace, so the other replicas of a chunk can
 * report too) or after `maxWaitMs`, whichever comes first.
 */
export class SafeMode {
  private on: boolean;
  private readonly startedMs: number;

  constructor(
    hasChunks: boolean,
    private readonly maxWaitMs: number,
    private readonly graceMs: number,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.on = hasChunks;
    this.startedMs = clock();
    if (this.on) this.log.info({ maxWaitMs }, 'safe mode: waiting for data node reports');
  }

  /** Whether safe mode is still on; `missing` counts chunks with data but no reported replica. */
  active(missing: () => number): boolean {
    if (!this.on) return false;
    const elapsed = this.clock() - this.startedMs;
    if (elapsed >= this.maxWaitMs || (elapsed >= this.graceMs && missing() === 0)) {
      this.on = false;
      this.log.info({ afterMs: elapsed }, 'leaving safe mode');
      events.record('safe-mode-left', `left safe mode after ${Math.round(elapsed / 1000)} s`);
    }
    return this.on;
  }
}
