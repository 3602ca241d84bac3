/** Counters the heartbeat and /metrics report. */
export interface DataNodeStats {
  activeStreams: number;
  bytesWritten: number;
  bytesRead: number;
  bytesReplicated: number;
}

export function newStats(): DataNodeStats {
  return { activeStreams: 0, bytesWritten: 0, bytesRead: 0, bytesReplicated: 0 };
}
