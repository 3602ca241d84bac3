import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chunkSubject, chunkTokenExpiry, ClusterKeys, readSecretFile } from '../../src/rpc/tokens';

const keys = new ClusterKeys(Buffer.from('0123456789abcdef0123456789abcdef'));
const other = new ClusterKeys(Buffer.from('fedcba9876543210fedcba9876543210'));

describe('chunk access tokens', () => {
  it('grant exactly the chunk and operations they name, until they expire', () => {
    const t = keys.issueChunkToken('42', ['write', 'replicate'], 60_000, 1_000);
    expect(() => keys.verifyChunkToken(t, '42', 'write', 2_000)).not.toThrow();
    expect(() => keys.verifyChunkToken(t, '42', 'replicate', 2_000)).not.toThrow();
    expect(() => keys.verifyChunkToken(t, '42', 'read', 2_000)).toThrow(/does not allow read/);
    expect(() => keys.verifyChunkToken(t, '43', 'write', 2_000)).toThrow(/for chunk 42, not 43/);
    expect(() => keys.verifyChunkToken(t, '42', 'write', 61_001)).toThrow(/expired/);
    expect(chunkTokenExpiry(t)).toBe(61_000);
  });

  it('refuse tokens signed with another secret, tampered with, or missing', () => {
    const t = keys.issueChunkToken('42', ['read']);
    expect(() => other.verifyChunkToken(t, '42', 'read')).toThrow(/bad signature/);
    expect(() => keys.verifyChunkToken(t.replace(':r:', ':rw:'), '42', 'write')).toThrow(/bad signature/);
    expect(() => keys.verifyChunkToken('', '42', 'read')).toThrow(/EACCES: no access token/);
    expect(() => keys.verifyChunkToken('garbage', '42', 'read')).toThrow(/malformed/);
  });

  it('name a list of chunks by its hash, so a token for one list does not cover another', () => {
    const t = keys.issueChunkToken(chunkSubject(['1', '2']), ['delete']);
    expect(() => keys.verifyChunkToken(t, chunkSubject(['1', '2']), 'delete')).not.toThrow();
    expect(() => keys.verifyChunkToken(t, chunkSubject(['1', '2', '3']), 'delete')).toThrow(/EACCES/);
  });
});

describe('client tokens and node proofs', () => {
  it('a client token names its holder and only verifies with the same secret', () => {
    const t = keys.issueClientToken('alice');
    expect(keys.verifyClientToken(t)).toBe('alice');
    expect(() => other.verifyClientToken(t)).toThrow(/not signed/);
    expect(() => keys.issueClientToken('a:b')).toThrow(/bad token name/);
  });

  it('a node proof never contains the secret and is only valid near its time', () => {
    const p = keys.nodeProof('dn1', 10_000_000);
    expect(p).not.toContain('0123456789abcdef');
    expect(keys.verifyNodeProof(p, 10_000_000 + 60_000)).toBe('dn1');
    expect(() => keys.verifyNodeProof(p, 10_000_000 + 10 * 60_000)).toThrow(/too old/);
    expect(() => other.verifyNodeProof(p, 10_000_000)).toThrow(/does not know the cluster secret/);
  });

  it('a short secret is refused', () => {
    expect(() => new ClusterKeys(Buffer.from('short'))).toThrow(/too short/);
  });
});

describe('secret files', () => {
  it('are refused when others may read them, and their content never appears in errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-secret-'));
    const file = path.join(dir, 'secret');
    fs.writeFileSync(file, 'supersecretvalue-0123456789\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(() => readSecretFile(file)).toThrow(/readable by others.*chmod 600/);
    fs.chmodSync(file, 0o600);
    expect(readSecretFile(file).toString()).toBe('supersecretvalue-0123456789');
    expect(() => readSecretFile(path.join(dir, 'missing'))).toThrow(/ENOENT/);
    fs.rmSync(dir, { recursive: true });
  });
});
