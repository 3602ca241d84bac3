import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { bearerInterceptor, bearerOf, guardInterceptor, type Admission } from '../rpc/auth';
import { DfsError } from '../rpc/errors';
import type { ChunkInfo } from '../rpc/gen/dfs/ChunkInfo';
import { channelCredentials, hasVerifiedClientCert, loadTls, tlsFilesFrom, type TlsConfig } from '../rpc/tls';
import {
  chunkSubject,
  CHUNK_TOKEN_LIFETIME_MS,
  type ChunkOp,
  type ClusterKeys,
  GRANTS,
  loadClusterKeys,
} from '../rpc/tokens';
import { configureDataNodeChannels } from './datanode-clients';

/** How the name node is secured: with no keys it runs open (anyone who reaches the port may do anything). */
export interface NameNodeSecurity {
  keys?: ClusterKeys;
  tls?: TlsConfig;
  /** Lifetime of the chunk access tokens it issues. */
  chunkTokenLifetimeMs: number;
}

export const OPEN: NameNodeSecurity = { chunkTokenLifetimeMs: CHUNK_TOKEN_LIFETIME_MS };

/** Calls only data nodes make: they carry a membership proof instead of a client token. */
export const NODE_METHODS: ReadonlySet<string> = new Set([
  '/dfs.NameNode/Register',
  '/dfs.NameNode/Heartbeat',
  '/dfs.NameNode/ChunkReport',
]);

/**
 * The one check in front of every name node call: data node calls need a
 * fresh membership proof for the node id the message names (and, with a TLS
 * CA, a verified client certificate: mutual TLS); every other call needs a
 * client token. Refusals are logged once, with the peer and the reason.
 */
export function nameNodeGuard(security: NameNodeSecurity, log: Logger): grpc.ServerInterceptor {
  const { keys } = security;
  return guardInterceptor(
    (path, metadata, call): Admission => {
      if (!keys) return {};
      const credential = bearerOf(metadata);
      if (NODE_METHODS.has(path)) {
        if (security.tls?.ca && !hasVerifiedClientCert(call)) {
          throw new DfsError('EACCES', 'data node calls need a client certificate signed by the cluster CA');
        }
        if (!credential)
          throw new DfsError('EACCES', 'data node sent no membership proof (start it with --secret-file)');
        const id = keys.verifyNodeProof(credential);
        return {
          message: (m) => {
            const named = (m as { id?: unknown }).id;
            if (named !== id) throw new DfsError('EACCES', `membership proof is for node ${id}, not ${String(named)}`);
          },
        };
      }
      if (!credential) throw new DfsError('EACCES', 'no client token (set DFS_TOKEN_FILE or --token-file)');
      keys.verifyClientToken(credential);
      return {};
    },
    (path, peer, reason) => log.warn({ rpc: path.split('/').pop(), peer, reason }, 'refused an unauthenticated call'),
  );
}

/** ChunkInfo for a client, with an access token for `grant` (empty when the cluster runs open). */
export function chunkGranter(security: NameNodeSecurity) {
  return (info: ChunkInfo, grant: keyof typeof GRANTS): ChunkInfo => {
    if (!security.keys || !info.chunkId) return info;
    const token = security.keys.issueChunkToken(String(info.chunkId), GRANTS[grant], security.chunkTokenLifetimeMs);
    return { ...info, token };
  };
}

/** What each data node call the name node makes needs, by method: the op and the chunk ids it names. */
const OUTGOING: Record<string, { op: ChunkOp; ids: (m: Record<string, unknown>) => string[] }> = {
  '/dfs.DataNode/DeleteChunks': { op: 'delete', ids: (m) => ((m.chunkIds as unknown[]) ?? []).map(String) },
  '/dfs.DataNode/TruncateChunk': { op: 'truncate', ids: (m) => [String(m.chunkId)] },
  '/dfs.DataNode/ReplicateChunk': { op: 'replicate', ids: (m) => [String(m.chunkId)] },
  '/dfs.DataNode/StatChunk': { op: 'stat', ids: (m) => [String(m.chunkId)] },
  '/dfs.DataNode/ReadChunk': { op: 'read', ids: (m) => [String(m.chunkId)] },
};

/**
 * The name node's own calls to data nodes (deletions, truncation,
 * re-replication) get a token for exactly what each message asks, signed as
 * the message leaves: no call site has to remember it.
 */
function signOutgoing(keys: ClusterKeys, lifetimeMs: number): grpc.Interceptor {
  return (options, nextCall) => {
    const rule = OUTGOING[options.method_definition.path];
    return new grpc.InterceptingCall(nextCall(options), {
      sendMessage: (message: Record<string, unknown>, next) => {
        if (!rule || typeof message !== 'object' || message === null) return next(message);
        next({ ...message, token: keys.issueChunkToken(chunkSubject(rule.ids(message)), [rule.op], lifetimeMs) });
      },
    });
  };
}

/** Sets up the name node's channels to data nodes: TLS (presenting its own certificate) and signed requests. */
export function secureDataNodeChannels(security: NameNodeSecurity): void {
  const interceptors = security.keys ? [signOutgoing(security.keys, security.chunkTokenLifetimeMs)] : [];
  configureDataNodeChannels(channelCredentials(security.tls), interceptors);
}

/** A bearer interceptor for a client token (used by tools in this process, e.g. bench-meta). */
export function clientTokenInterceptor(token: string): grpc.Interceptor {
  return bearerInterceptor(() => token);
}

/** The security flags of dfs-namenode (and of dfs-datanode: the same names). */
export interface SecurityFlags {
  secretFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** Reads the secret and certificates once at start-up (DFS_SECRET_FILE and DFS_TLS_* stand in for absent flags). */
export function loadNameNodeSecurity(flags: SecurityFlags, env: NodeJS.ProcessEnv = process.env): NameNodeSecurity {
  const secretFile = flags.secretFile ?? (env.DFS_SECRET_FILE || undefined);
  const tls = loadTls(tlsFilesFrom({ cert: flags.tlsCert, key: flags.tlsKey, ca: flags.tlsCa }, env));
  if (tls && (!tls.cert || !tls.key))
    throw new DfsError('EINVAL', 'the name node needs --tls-cert and --tls-key for TLS');
  return {
    keys: secretFile ? loadClusterKeys(secretFile) : undefined,
    tls,
    chunkTokenLifetimeMs: CHUNK_TOKEN_LIFETIME_MS,
  };
}

/** Start-up lines that say how the name node is protected; running open is loud on purpose. */
export function logSecurity(security: NameNodeSecurity, log: Logger): void {
  if (security.keys)
    log.info({ tls: security.tls !== undefined }, 'cluster secret loaded: data nodes and clients must authenticate');
  else
    log.warn(
      'RUNNING OPEN: no --secret-file, so anyone who can reach this port can read, change or delete everything ' +
        'and any process can join as a data node. Start with --secret-file FILE to require credentials.',
    );
  if (!security.tls) log.info('gRPC is plaintext (no --tls-cert/--tls-key)');
}
