import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger';
import { events } from './events';

export type DrainState = 'decommissioning' | 'decommissioned';

const FILE = 'decommission.json';

/**
 * Data nodes being drained (`dfs decommission NODE`) or drained already. A
 * draining node still serves reads and copies but its replicas no longer count,
 * so re-replication copies every chunk it holds elsewhere; it gets no new
 * chunks. The states survive a name node restart (a small JSON file in the
 * data dir, replaced atomically), since an operator's decision is not
 * something a restart should undo.
 */
export class Decommissions {
  private readonly states = new Map<string, DrainState>();

  constructor(
    private readonly dataDir: string | undefined,
    private readonly log: Logger,
  ) {
    if (!dataDir) return;
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(path.join(dataDir, FILE), 'utf8'));
      if (parsed && typeof parsed === 'object') {
        for (const [id, state] of Object.entries(parsed)) {
          if (state === 'decommissioning' || state === 'decommissioned') this.states.set(id, state);
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        log.error({ err: String(err) }, `${FILE} unreadable: no node is being decommissioned`);
      }
    }
  }

  state(id: string): DrainState | undefined {
    return this.states.get(id);
  }

  /** Draining or drained: its replicas do not count and it gets no new chunks. */
  isOut(id: string): boolean {
    return this.states.has(id);
  }

  draining(): string[] {
    return [...this.states].filter(([, s]) => s === 'decommissioning').map(([id]) => id);
  }

  all(): [string, DrainState][] {
    return [...this.states];
  }

  start(id: string): void {
    if (this.states.has(id)) return;
    this.states.set(id, 'decommissioning');
    this.log.warn({ node: id }, 'decommissioning data node');
    events.record('node-decommissioning', `${id} is being decommissioned`, { node: id });
    this.persist();
  }

  cancel(id: string): void {
    if (!this.states.delete(id)) return;
    this.log.warn({ node: id }, 'decommission cancelled');
    this.persist();
  }

  finish(id: string): void {
    if (this.states.get(id) !== 'decommissioning') return;
    this.states.set(id, 'decommissioned');
    this.log.warn({ node: id }, 'data node decommissioned: every chunk it holds has its replicas elsewhere');
    events.record('node-decommissioned', `${id} is decommissioned`, { node: id });
    this.persist();
  }

  private persist(): void {
    if (!this.dataDir) return;
    const file = path.join(this.dataDir, FILE);
    const tmp = `${file}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.states)));
      fs.renameSync(tmp, file);
    } catch (err) {
      this.log.error({ err: String(err) }, `cannot save ${FILE}; decommission states will not survive a restart`);
    }
  }
}
