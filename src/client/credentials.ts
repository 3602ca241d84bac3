import { readSecretFile } from '../rpc/tokens';
import { loadTls, tlsFilesFrom, type TlsConfig } from '../rpc/tls';

/** What `dfs` and `dfs-mount` are given: `--token-file`, `--tls-ca`, `--tls-cert`, `--tls-key`. */
export interface ClientSecurityFlags {
  tokenFile?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/**
 * The credentials of a client process, read once at start-up: the token from
 * `--token-file` or DFS_TOKEN_FILE (a file, never the token itself on the
 * command line), TLS from the flags or DFS_TLS_CA/DFS_TLS_CERT/DFS_TLS_KEY.
 */
export function loadClientSecurity(
  flags: ClientSecurityFlags,
  env: NodeJS.ProcessEnv = process.env,
): { token?: string; tls?: TlsConfig } {
  const tokenFile = flags.tokenFile ?? (env.DFS_TOKEN_FILE || undefined);
  const token = tokenFile ? readSecretFile(tokenFile, 'token file').toString('utf8') : undefined;
  const tls = loadTls(tlsFilesFrom({ ca: flags.tlsCa, cert: flags.tlsCert, key: flags.tlsKey }, env));
  return { token, tls };
}
