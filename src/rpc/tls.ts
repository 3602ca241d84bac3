import fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { DfsError } from './errors';

/** `--tls-cert/--tls-key/--tls-ca` (or DFS_TLS_CERT/DFS_TLS_KEY/DFS_TLS_CA), as given. */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
}

/** Loaded PEM files. A server needs cert + key; a client needs the CA (and cert + key for mutual TLS). */
export interface TlsConfig {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/** Flags win over the environment; nothing given means plaintext. */
export function tlsFilesFrom(flags: TlsFiles, env: NodeJS.ProcessEnv = process.env): TlsFiles {
  const pick = (flag: string | undefined, name: string) => flag ?? (env[name] || undefined);
  return {
    cert: pick(flags.cert, 'DFS_TLS_CERT'),
    key: pick(flags.key, 'DFS_TLS_KEY'),
    ca: pick(flags.ca, 'DFS_TLS_CA'),
  };
}

/** Reads the PEM files once at start-up; undefined when TLS is off. */
export function loadTls(files: TlsFiles): TlsConfig | undefined {
  if (!files.cert && !files.key && !files.ca) return undefined;
  if (!files.cert !== !files.key) throw new DfsError('EINVAL', '--tls-cert and --tls-key go together');
  const read = (file: string | undefined, flag: string) => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new DfsError('EINVAL', `--${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  return { cert: read(files.cert, 'tls-cert'), key: read(files.key, 'tls-key'), ca: read(files.ca, 'tls-ca') };
}

/**
 * A fixed certificate provider (for grpc-js's server credentials that request,
 * but do not require, client certs). Updates are delivered on the next tick,
 * as grpc-js registers its watcher only after adding the listener.
 */
class StaticCertificates implements grpc.experimental.CertificateProvider {
  constructor(private readonly tls: TlsConfig) {}
  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    const { ca } = this.tls;
    setImmediate(() => listener(ca ? { caCertificate: ca } : null));
  }
  removeCaCertificateListener(): void {}
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    const { cert, key } = this.tls;
    setImmediate(() => listener(cert && key ? { certificate: cert, privateKey: key } : null));
  }
  removeIdentityCertificateListener(): void {}
}

/**
 * Server side. With a CA the server also asks for client certificates and
 * verifies them when given (mutual TLS: `hasVerifiedClientCert`), yet still
 * serves clients without one (the mount and the CLI authenticate with tokens).
 */
export function serverCredentials(tls: TlsConfig | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  if (!tls.cert || !tls.key) throw new DfsError('EINVAL', 'a server needs --tls-cert and --tls-key for TLS');
  if (!tls.ca) return grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false);
  const certs = new StaticCertificates(tls);
  return grpc.experimental.createCertificateProviderServerCredentials(certs, certs, false);
}

/** Client side: plaintext, or TLS trusting `ca` (system CAs without it), presenting cert + key when given. */
export function channelCredentials(tls: TlsConfig | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  // Node warns (DEP0123) on every TLS connection to an IP address, which grpc-js sends as the
  // server name; certificates for IPs are normal here, and the warning would break one-line errors.
  process.noDeprecation = true;
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

/** Whether the caller presented a client certificate that the server's CA verified (mutual TLS). */
export function hasVerifiedClientCert(call: { getAuthContext(): { sslPeerCertificate?: unknown } }): boolean {
  return call.getAuthContext().sslPeerCertificate !== undefined;
}
