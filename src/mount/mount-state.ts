import type { Logger } from '../common/logger';
import type { DfsClient } from '../client/types';
import type { OpenFiles } from './open-files';

/** What every group of operations shares: the client, the open-file table and the log. */
export interface MountState {
  readonly client: DfsClient;
  readonly files: OpenFiles;
  readonly log: Logger;
}
