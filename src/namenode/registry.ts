import type { Logger } from '../common/logger';
import { parseAddress } from '../common/units';
import { DfsError } from '../rpc/errors';
import type { PlacementCandidate } from './placement';
import { events } from './events';

export interface DataNodeEntry {
  id: string;
  address: string;
  capacity: number;
  used: number;
  labels: string[];
  activeStreams: number;
  /** Chunks placed on it since its last heartbeat. */
  assigned: number;
  lastHeartbeatMs: number;
  registeredMs: number;
  /** Valid replicas in its last full report. */
  chunkCount: number;
  /** Liveness seen by the last sweep (to log transitions once). */
  wasLive: boolean;
}

export interface Registration {
  id: string;
  address: string;
  capacity: number;
  used: number;
  labels: string[];
}

/** The data nodes this name node knows: registration, heartbeats, liveness (silent for `nodeTimeoutMs` => dead). */
export class DataNodeRegistry {
  private readonly nodes = new Map<string, DataNodeEntry>();
  private lastSweepMs: number | undefined;

  constructor(
    private readonly nodeTimeoutMs: number,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  get(id: string): DataNodeEntry | undefined {
    return this.nodes.get(id);
  }

  all(): DataNodeEntry[] {
    return [...this.nodes.values()];
  }

  isLive(id: string): boolean {
    const n = this.nodes.get(id);
    return n !== undefined && this.clock() - n.lastHeartbeatMs <= this.nodeTimeoutMs;
  }

  live(): DataNodeEntry[] {
    return this.all().filter((n) => this.isLive(n.id));
  }

  /**
   * A node (re)registers. The same id from the same address is the node
   * restarting; from another address while the first is alive it is a
   * configuration mistake (two nodes sharing `--id`) and is refused.
   */
  register(reg: Registration): DataNodeEntry {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(reg.id)) {
      throw new DfsError('EINVAL', `bad data node id '${reg.id}' (letters, digits, '.', '_', '-'; up to 128)`);
    }
    parseAddress(reg.address, `address of data node ${reg.id}`);
    const old = this.nodes.get(reg.id);
    if (old && old.address !== reg.address && this.isLive(reg.id)) {
      throw new DfsError(
        'EEXIST',
        `data node id '${reg.id}' is already in use by a live node at ${old.address}; ` +
          `${reg.address} must use another --id (or wait until the other is dead)`,
      );
    }
    const now = this.clock();
    const entry: DataNodeEntry = {
      ...reg,
      activeStreams: 0,
      assigned: 0,
      lastHeartbeatMs: now,
      registeredMs: now,
      chunkCount: 0,
      wasLive: true,
    };
    this.nodes.set(reg.id, entry);
    this.log.info({ node: reg.id, address: reg.address, capacity: reg.capacity }, 'data node registered');
    events.record(
      old ? 'node-returned' : 'node-registered',
      `${reg.id} at ${reg.address} ${old ? 'registered again' : 'registered'}`,
      { node: reg.id },
    );
    return entry;
  }

  /** Returns false when the node must register again (unknown, e.g. after a name node restart, or declared dead). */
  heartbeat(id: string, used: number, capacity: number, activeStreams: number): boolean {
    const n = this.nodes.get(id);
    if (!n || !this.isLive(id)) return false;
    n.used = used;
    if (capacity > 0) n.capacity = capacity;
    n.activeStreams = activeStreams;
    n.assigned = 0;
    n.lastHeartbeatMs = this.clock();
    return true;
  }

  /**
   * Logs nodes that went silent (once per transition); returns the ids that
   * just died. Called every `intervalMs`: when it comes much later, this
   * process was held up (a long collection, a durable write on a stalled
   * disk, no CPU) and the heartbeats sent meanwhile are still unread in their
   * sockets. That time does not count as silence: every node gets it back,
   * so a stall neither declares a live node dead nor makes it register again
   * (a node already silent too long stays so).
   */
  sweep(intervalMs: number): string[] {
    const now = this.clock();
    const stalledMs = this.lastSweepMs === undefined ? 0 : now - this.lastSweepMs - 2 * intervalMs;
    this.lastSweepMs = now;
    if (stalledMs > 0) {
      const level = stalledMs >= 1000 ? 'warn' : 'debug';
      this.log[level]({ stalledMs }, 'name node was held up; not counted against data node heartbeats');
      for (const n of this.nodes.values()) n.lastHeartbeatMs = Math.min(now, n.lastHeartbeatMs + stalledMs);
    }
    const died: string[] = [];
    for (const n of this.nodes.values()) {
      const live = this.isLive(n.id);
      if (n.wasLive && !live) {
        died.push(n.id);
        this.log.warn(
          { node: n.id, address: n.address, silentMs: this.clock() - n.lastHeartbeatMs },
          'data node is dead',
        );
        events.record(
          'node-dead',
          `${n.id} at ${n.address} is dead (silent ${Math.round((this.clock() - n.lastHeartbeatMs) / 1000)} s)`,
          { node: n.id },
        );
      }
      n.wasLive = live;
    }
    return died;
  }

  placementCandidates(): PlacementCandidate[] {
    return this.live().map((n) => ({
      id: n.id,
      capacity: n.capacity,
      used: n.used,
      load: n.activeStreams + n.assigned,
    }));
  }

  noteAssigned(ids: readonly string[]): void {
    for (const id of ids) {
      const n = this.nodes.get(id);
      if (n) n.assigned++;
    }
  }
}
