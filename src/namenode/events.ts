/** What happened in the cluster, as the status page lists it. */
export type ClusterEventKind =
  | 'node-registered'
  | 'node-returned'
  | 'node-dead'
  | 'node-decommissioning'
  | 'node-decommissioned'
  | 'chunk-re-replicated'
  | 'replica-bad'
  | 'pipeline-node-replaced'
  | 'safe-mode-left'
  | 'initialized';

export interface ClusterEvent {
  /** Increases by one per event: lets a page tell new events from ones it has shown. */
  seq: number;
  timeMs: number;
  kind: ClusterEventKind;
  message: string;
  /** The data node concerned, if any. */
  node?: string;
  chunk?: string;
}

/**
 * The last few hundred cluster events, in memory only: an operator's view of
 * what just happened (the logs keep the full history). A ring buffer, so
 * recording is O(1) and memory is bounded however busy the cluster gets.
 */
export class EventLog {
  private readonly ring: (ClusterEvent | undefined)[];
  private next = 0;
  private seq = 0;

  constructor(
    readonly capacity = 200,
    private readonly clock: () => number = Date.now,
  ) {
    this.ring = new Array<ClusterEvent | undefined>(capacity);
  }

  record(kind: ClusterEventKind, message: string, about: { node?: string; chunk?: string } = {}): void {
    this.ring[this.next] = { seq: ++this.seq, timeMs: this.clock(), kind, message, ...about };
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first, at most `limit`. */
  recent(limit = this.capacity): ClusterEvent[] {
    const out: ClusterEvent[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (!e) break;
      out.push(e);
    }
    return out;
  }

  /** Events recorded so far (including ones the ring has dropped). */
  get total(): number {
    return this.seq;
  }
}

/**
 * The name node's event log: one per process, so the registry, the name node
 * and the re-replication code record into it without being handed it.
 */
export const events = new EventLog();
