import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type DfsClient } from '../../src/client';
import { TestCluster, tempDir, waitFor } from '../helpers/cluster';
import { TestMount, sh, shOk } from '../helpers/mount';
import { me, NameNodeAdmin, readFile, sha } from './healing-helpers';

/** Scenario 5: a data node dies (kill -9) in the middle of a large write through the mount. */

const SIZE_MIB = 48;

describe('self-healing under a write through the mount', () => {
  let cluster: TestCluster;
  let mount: TestMount;
  let client: DfsClient;
  let admin: NameNodeAdmin;
  const scratch = tempDir('healing-mount');

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2, chunkSize: '1MiB', nodeTimeout: '2s' }).start();
    admin = new NameNodeAdmin(cluster.address);
    await waitFor('3 live data nodes', async () => (await admin.status()).nodes.filter((n) => n.live).length === 3);
    mount = await new TestMount(cluster.address).start();
    client = createClient({ namenode: cluster.address, metadataTimeoutMs: 10_000 });
  });

  afterAll(async () => {
    await mount?.stop();
    admin?.close();
    await client?.close();
    await cluster?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('completes the write, and the file is intact and fully replicated afterwards', async () => {
    const src = `${scratch}/src.bin`;
    await shOk(`head -c ${SIZE_MIB}M /dev/urandom > ${src}`);
    const data = fs.readFileSync(src);
    const target = mount.path('big.bin');
    // Throttled (pv-like) so the kill lands in the middle: dd with iflag=fullblock in 1 MiB pieces.
    const writing = sh(
      `for i in $(seq 0 ${SIZE_MIB - 1}); do dd if=${src} bs=1M skip=$i count=1 status=none; sleep 0.03; done > ${target}`,
      { timeoutMs: 50_000 },
    );
    await waitFor(
      'a quarter written',
      async () => (await fs.promises.stat(target).catch(() => ({ size: 0 }))).size >= (SIZE_MIB / 4) * 1024 * 1024,
      20_000,
      50,
    );
    await cluster.datanodes[1].proc.kill('SIGKILL');
    const r = await writing;
    expect(r.code, r.stderr).toBe(0);
    expect(sha(await readFile(client, '/big.bin'))).toBe(sha(data));
    await waitFor('fully replicated again', () => admin.healthy(), 30_000, 250);
    const info = await client.fileInfo('/big.bin', me);
    expect(info.chunks.length).toBe(SIZE_MIB);
    for (const c of info.chunks) {
      const ids = new Set(c.replicas.map((x) => x.id));
      expect(ids.size, `chunk ${c.index}`).toBe(2);
      expect(ids.has('dn2')).toBe(false);
    }
    const fresh = createClient({ namenode: cluster.address, metadataTimeoutMs: 10_000 });
    try {
      expect(sha(await readFile(fresh, '/big.bin'))).toBe(sha(data));
    } finally {
      await fresh.close();
    }
  });
});
