/** The sync engine: mirrors a local directory into a dfs cluster (one-shot or watching). */
export { SyncEngine } from './engine';
export { LocalError, StoppedError } from './errors';
export type { PassSummary, SyncEvent, SyncOptions } from './types';
