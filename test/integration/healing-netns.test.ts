import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type DfsClient } from '../../src/client';
import { type Proc, tempDir, waitFor, waitForPort } from '../helpers/cluster';
import { NetLab, NetLabRefused } from '../helpers/netns';
import { chunkFilesOnDisk, me, MiB, NameNodeAdmin, readFile, replicasByNode, sha, writeFile } from './healing-helpers';

/**
 * Scenario 6: the name node and each data node in its own network namespace
 * (veth pairs to a bridge), and one data node's link cut instead of the
 * process killed: the same healing happens, and when the link returns the
 * node is reconciled (stale and orphan replicas removed, extras trimmed).
 */

const NN_PORT = 9000;
const DN_PORT = 9101;

describe('self-healing across a cut network link', () => {
  const lab = new NetLab();
  const root = tempDir('healing-netns');
  const procs: Proc[] = [];
  let refused: string | undefined;
  let client: DfsClient;
  let admin: NameNodeAdmin;
  const content = new Map<string, Buffer>();
  const nnAddr = () => `${lab.addr(0)}:${NN_PORT}`;
  const dnDir = (i: number) => path.join(root, `dn${i}`);

  beforeAll(async () => {
    try {
      await lab.setup(4);
    } catch (err) {
      if (err instanceof NetLabRefused) {
        refused = err.message;
        return;
      }
      throw err;
    }
    const nn = lab.start(0, 'namenode', 'namenode/main.js', [
      '--host',
      lab.addr(0),
      '--port',
      String(NN_PORT),
      '--http-port',
      '9870',
      '--data-dir',
      path.join(root, 'namenode'),
      '--replication',
      '2',
      '--chunk-size',
      '1MiB',
      '--node-timeout',
      '2s',
    ]);
    procs.push(nn);
    await waitForPort(NN_PORT, 20_000, lab.addr(0));
    for (let i = 1; i <= 3; i++) procs.push(await startDataNode(i));
    admin = new NameNodeAdmin(nnAddr());
    client = createClient({ namenode: nnAddr(), metadataTimeoutMs: 10_000 });
    await waitFor('3 live data nodes', async () => (await admin.status()).nodes.filter((n) => n.live).length === 3);
    await client.mkdir('/n', 0o755, me);
    for (let i = 0; i < 30; i++) {
      const data = randomBytes(randomInt(1, 1.5 * MiB));
      await writeFile(client, `/n/f${i}`, data);
      content.set(`/n/f${i}`, data);
    }
  });

  async function startDataNode(i: number): Promise<Proc> {
    const p = lab.start(i, `dn${i}`, 'datanode/main.js', [
      '--namenode',
      nnAddr(),
      '--host',
      lab.addr(i),
      '--port',
      String(DN_PORT),
      '--data-dir',
      dnDir(i),
      '--id',
      `dn${i}`,
    ]);
    await waitForPort(DN_PORT, 20_000, lab.addr(i));
    return p;
  }

  afterAll(async () => {
    admin?.close();
    await client?.close();
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await lab.teardown();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const files = () => [...content.keys()].sort();
  async function replicaCounts(): Promise<number[]> {
    const out: number[] = [];
    for (const f of files()) for (const c of (await client.fileInfo(f, me)).chunks) out.push(c.replicas.length);
    return out;
  }

  it('re-replicates when a link is cut, and reconciles the node when the link returns', async (ctx) => {
    if (refused) {
      console.warn(`network namespaces are not allowed here (${refused}): skipping`);
      ctx.skip();
    }
    expect(await admin.healthy()).toBe(true);
    await lab.cut(3);
    await waitFor('dn3 dead', async () => (await admin.status()).nodes.find((n) => n.id === 'dn3')?.state === 'dead');
    await waitFor('healed without dn3', () => admin.healthy(), 30_000, 250);
    expect((await replicasByNode(client, files())).has('dn3')).toBe(false);
    for (const [p, data] of content) expect(sha(await readFile(client, p)), p).toBe(sha(data));

    // While it is cut off: delete some files and overwrite others.
    for (const p of files().slice(0, 5)) {
      await client.unlink(p, me);
      content.delete(p);
    }
    for (const p of files().slice(0, 5)) {
      const data = randomBytes(randomInt(1, 1.5 * MiB));
      await writeFile(client, p, data);
      content.set(p, data);
    }
    const before = chunkFilesOnDisk(dnDir(3));
    expect(before.size).toBeGreaterThan(0);

    await lab.restore(3);
    await waitFor('dn3 live again', async () => (await admin.status()).nodes.find((n) => n.id === 'dn3')?.live, 20_000);
    await waitFor(
      'dn3 reconciled, every chunk at exactly 2 replicas',
      async () => {
        const valid = (await replicasByNode(client, files())).get('dn3') ?? new Set<string>();
        const disk = chunkFilesOnDisk(dnDir(3));
        return (
          [...disk].every((id) => valid.has(id)) &&
          (await replicaCounts()).every((n) => n === 2) &&
          (await admin.healthy())
        );
      },
      30_000,
      250,
    );
    for (const [p, data] of content) expect(sha(await readFile(client, p)), p).toBe(sha(data));
  });
});
