import type { Logger } from '../common/logger';
import { DfsError } from '../rpc/errors';
import { loadTls, tlsFilesFrom, type TlsConfig } from '../rpc/tls';
import { chunkSubject, type ChunkOp, type ClusterKeys, loadClusterKeys } from '../rpc/tokens';

/** The data node's secret (to prove membership and check access tokens) and certificates. */
export interface DataNodeSecurity {
  keys?: ClusterKeys;
  tls?: TlsConfig;
}

export interface DataNodeSecurityFlags {
  secretFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

export function loadDataNodeSecurity(
  flags: DataNodeSecurityFlags,
  env: NodeJS.ProcessEnv = process.env,
): DataNodeSecurity {
  const secretFile = flags.secretFile ?? (env.DFS_SECRET_FILE || undefined);
  const tls = loadTls(tlsFilesFrom({ cert: flags.tlsCert, key: flags.tlsKey, ca: flags.tlsCa }, env));
  if (tls && (!tls.cert || !tls.key))
    throw new DfsError('EINVAL', 'a data node needs --tls-cert and --tls-key for TLS');
  return { keys: secretFile ? loadClusterKeys(secretFile) : undefined, tls };
}

/**
 * Checks the access token of every request against the chunk and operation it
 * asks for (a no-op when the cluster runs open). A refusal is EACCES
 * (PERMISSION_DENIED on the wire) and is logged here, once, with the reason.
 */
export class ChunkAccess {
  constructor(
    private readonly keys: ClusterKeys | undefined,
    private readonly log: Logger,
  ) {}

  get secured(): boolean {
    return this.keys !== undefined;
  }

  /** `ops`: any one of them suffices (a replacing write accepts a write or a replicate token). */
  check(token: string, chunkIds: string | readonly string[], ops: ChunkOp | readonly ChunkOp[], peer = '?'): void {
    if (!this.keys) return;
    const subject = typeof chunkIds === 'string' ? chunkIds : chunkSubject(chunkIds);
    const wanted = typeof ops === 'string' ? [ops] : ops;
    let first: DfsError | undefined;
    for (const op of wanted) {
      try {
        this.keys.verifyChunkToken(token, subject, op);
        return;
      } catch (err) {
        first ??= err as DfsError;
      }
    }
    this.log.warn({ chunk: subject, op: wanted.join('|'), peer, reason: first?.detail }, 'refused a chunk request');
    throw first ?? new DfsError('EACCES', `no access to chunk ${subject}`);
  }
}
