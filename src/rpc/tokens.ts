import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { DfsError } from './errors';

/**
 * The cluster secret and everything signed with it, in one place: chunk
 * access tokens (issued by the name node, checked by data nodes), client
 * tokens (issued by `dfs-namenode --issue-token`, checked by the name node)
 * and data node membership proofs (made by data nodes, checked by the name
 * node). Each kind has its own key derived from the secret, so a token of
 * one kind can never pass as another.
 *
 * Formats (fields separated by ':', MAC = base64url HMAC-SHA256 of the rest):
 *   chunk  dfs1:c:<subject>:<ops>:<expiry ms>:<mac>   subject: a chunk id, or h<hash> of a list of ids
 *   client dfs1:u:<name>:<mac>
 *   node   dfs1:n:<node id>:<time ms>:<mac>
 */

export type ChunkOp = 'read' | 'write' | 'replicate' | 'delete' | 'truncate' | 'stat';

const OP_LETTER: Record<ChunkOp, string> = {
  read: 'r',
  write: 'w',
  replicate: 'c',
  delete: 'd',
  truncate: 't',
  stat: 's',
};

/** What a token from each name node call grants. */
export const GRANTS = {
  /** GetChunks: read the replicas (and probe them). */
  read: ['read', 'stat'],
  /** PrepareWrite / ReplacePipelineNode: write, seed a replacement from a survivor, probe. */
  write: ['write', 'replicate', 'stat'],
} as const satisfies Record<string, readonly ChunkOp[]>;

/** Default lifetime of a chunk token: long enough for one chunk's write, short enough to limit a leak. */
export const CHUNK_TOKEN_LIFETIME_MS = 60 * 60_000;
/** How far a data node's clock may be from the name node's for a membership proof. */
export const NODE_PROOF_WINDOW_MS = 5 * 60_000;
/** A secret shorter than this is refused (16 bytes of randomness; `openssl rand -hex 32` makes 64 chars). */
const MIN_SECRET_BYTES = 16;
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** Keys derived from the cluster secret; the secret itself is never kept, sent or logged. */
export class ClusterKeys {
  private readonly chunk: Buffer;
  private readonly client: Buffer;
  private readonly node: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < MIN_SECRET_BYTES) {
      throw new DfsError(
        'EINVAL',
        `the cluster secret is too short (${secret.length} bytes; at least ${MIN_SECRET_BYTES})`,
      );
    }
    const derive = (purpose: string) => createHmac('sha256', secret).update(`dfs ${purpose} key v1`).digest();
    this.chunk = derive('chunk token');
    this.client = derive('client token');
    this.node = derive('node proof');
  }

  // ---- chunk access tokens --------------------------------------------

  issueChunkToken(subject: string, ops: readonly ChunkOp[], lifetimeMs = CHUNK_TOKEN_LIFETIME_MS, now = Date.now()) {
    const letters = [...new Set(ops.map((o) => OP_LETTER[o]))].sort().join('');
    const body = `dfs1:c:${subject}:${letters}:${now + lifetimeMs}`;
    return `${body}:${mac(this.chunk, body)}`;
  }

  /** Throws EACCES unless `token` grants `op` on `subject` and has not expired. */
  verifyChunkToken(token: string, subject: string, op: ChunkOp, now = Date.now()): void {
    if (!token) throw new DfsError('EACCES', `no access token for ${op} of chunk ${subject}`);
    const parts = token.split(':');
    if (parts.length !== 6 || parts[0] !== 'dfs1' || parts[1] !== 'c') {
      throw new DfsError('EACCES', `malformed access token for ${op} of chunk ${subject}`);
    }
    const [, , sub, letters, expiry, sig] = parts;
    if (!sameMac(this.chunk, parts.slice(0, 5).join(':'), sig)) {
      throw new DfsError('EACCES', `access token for chunk ${subject} has a bad signature`);
    }
    if (sub !== subject) throw new DfsError('EACCES', `access token is for chunk ${sub}, not ${subject}`);
    if (!letters.includes(OP_LETTER[op]))
      throw new DfsError('EACCES', `access token for chunk ${sub} does not allow ${op}`);
    if (Number(expiry) < now) throw new DfsError('EACCES', `access token for chunk ${sub} expired`);
  }

  // ---- client tokens ----------------------------------------------------

  /** A bearer token naming a client (`dfs-namenode --issue-token NAME`); valid until the secret changes. */
  issueClientToken(name: string): string {
    if (!NAME.test(name)) throw new DfsError('EINVAL', `bad token name '${name}' (1-64 of A-Z a-z 0-9 . _ @ -)`);
    const body = `dfs1:u:${name}`;
    return `${body}:${mac(this.client, body)}`;
  }

  /** The client's name, or EACCES. */
  verifyClientToken(token: string): string {
    const parts = token.split(':');
    if (parts.length !== 4 || parts[0] !== 'dfs1' || parts[1] !== 'u')
      throw new DfsError('EACCES', 'malformed client token');
    if (!sameMac(this.client, parts.slice(0, 3).join(':'), parts[3])) {
      throw new DfsError('EACCES', 'client token not signed with this cluster secret');
    }
    return parts[2];
  }

  // ---- data node membership ---------------------------------------------

  /** A fresh proof that the node `id` knows the secret (an HMAC of its id and the time, never the secret). */
  nodeProof(id: string, now = Date.now()): string {
    const body = `dfs1:n:${id}:${now}`;
    return `${body}:${mac(this.node, body)}`;
  }

  /** The proven node id, or EACCES. */
  verifyNodeProof(proof: string, now = Date.now()): string {
    const parts = proof.split(':');
    if (parts.length !== 5 || parts[0] !== 'dfs1' || parts[1] !== 'n')
      throw new DfsError('EACCES', 'malformed node proof');
    if (!sameMac(this.node, parts.slice(0, 4).join(':'), parts[4])) {
      throw new DfsError('EACCES', `node ${parts[2]} does not know the cluster secret`);
    }
    if (Math.abs(Number(parts[3]) - now) > NODE_PROOF_WINDOW_MS) {
      throw new DfsError('EACCES', `node ${parts[2]}: proof too old or from the future (check the clocks)`);
    }
    return parts[2];
  }
}

/** The subject of a token over several chunks (DeleteChunks): a hash of the exact list. */
export function chunkSubject(ids: readonly string[]): string {
  if (ids.length === 1) return ids[0];
  return `h${createHash('sha256').update(ids.join(',')).digest('hex').slice(0, 32)}`;
}

/** When a chunk token expires (ms since the epoch), read without the key; undefined for an empty token. */
export function chunkTokenExpiry(token: string): number | undefined {
  const parts = token.split(':');
  return parts.length === 6 && parts[1] === 'c' ? Number(parts[4]) : undefined;
}

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}

function sameMac(key: Buffer, body: string, sig: string): boolean {
  const want = Buffer.from(mac(key, body));
  const got = Buffer.from(sig ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

/**
 * Reads a secret or token file: trimmed, and refused when others may read it
 * (like ssh refuses a private key with loose permissions). The content is
 * never part of an error message.
 */
export function readSecretFile(file: string, what = 'secret file'): Buffer {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new DfsError('ENOENT', `cannot read the ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!st.isFile()) throw new DfsError('EINVAL', `the ${what} ${file} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new DfsError(
      'EACCES',
      `the ${what} ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const text = fs.readFileSync(file).toString('utf8').trim();
  if (text === '') throw new DfsError('EINVAL', `the ${what} ${file} is empty`);
  return Buffer.from(text, 'utf8');
}

/** Loads the cluster keys from `--secret-file`. */
export function loadClusterKeys(file: string): ClusterKeys {
  return new ClusterKeys(readSecretFile(file, 'secret file'));
}

/** Writes a new random secret (hex) to `file` with mode 0600, unless it exists. Returns whether it wrote one. */
export function ensureSecretFile(file: string): boolean {
  if (fs.existsSync(file)) return false;
  fs.writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return true;
}
