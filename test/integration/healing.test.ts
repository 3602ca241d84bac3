import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type DfsClient } from '../../src/client';
import { TestCluster, waitFor } from '../helpers/cluster';
import {
  chunkDataPath,
  chunkFilesOnDisk,
  me,
  MiB,
  NameNodeAdmin,
  readFile,
  replicasByNode,
  runCli,
  sha,
  writeFile,
} from './healing-helpers';

/**
 * Guarantee 3 (self-healing) with real processes and injected faults: a node
 * killed with SIGKILL, the same node returning with stale and orphan replicas,
 * an empty node joining, a flipped byte on disk. 1 MiB chunks and a 2 s node
 * timeout keep every step to seconds. The scenarios build on each other (one
 * cluster), in the order.
 */

const FILES = 50;

describe('self-healing', () => {
  let cluster: TestCluster;
  let client: DfsClient;
  let admin: NameNodeAdmin;
  const content = new Map<string, Buffer>();

  const files = () => [...content.keys()].sort();
  async function expectAllFilesIntact(c: DfsClient = client): Promise<void> {
    for (const [p, data] of content) expect(sha(await readFile(c, p)), p).toBe(sha(data));
  }
  /** Every chunk of every file has exactly `n` live replicas on distinct nodes. */
  async function replicaCounts(): Promise<number[]> {
    const counts: number[] = [];
    for (const f of files()) {
      const info = await client.fileInfo(f, me);
      for (const c of info.chunks) counts.push(new Set(c.replicas.map((r) => r.id)).size);
    }
    return counts;
  }

  beforeAll(async () => {
    cluster = await new TestCluster({
      dataNodes: 3,
      replication: 2,
      chunkSize: '1MiB',
      nodeTimeout: '2s',
      dataNode: { capacity: '96MiB' },
    }).start();
    client = createClient({ namenode: cluster.address, metadataTimeoutMs: 10_000 });
    admin = new NameNodeAdmin(cluster.address);
    await waitFor('3 live data nodes', async () => (await admin.status()).nodes.filter((n) => n.live).length === 3);
    await client.mkdir('/h', 0o755, me);
    for (let i = 0; i < FILES; i++) {
      const data = randomBytes(randomInt(1, 1.5 * MiB));
      const p = `/h/f${String(i).padStart(2, '0')}`;
      await writeFile(client, p, data);
      content.set(p, data);
    }
  });

  afterAll(async () => {
    admin?.close();
    await client?.close();
    await cluster?.stop();
  });

  it('1: re-replicates every chunk after a data node is killed, and every file reads back identical', async () => {
    expect(await admin.healthy()).toBe(true);
    const dn3 = cluster.datanodes[2];
    const started = Date.now();
    await dn3.proc.kill('SIGKILL');
    await waitFor(
      'dn3 dead in status',
      async () => (await admin.status()).nodes.find((n) => n.id === 'dn3')?.state === 'dead',
      10_000,
    );
    // The CLI shows it too.
    const st = await runCli(cluster.address, ['--json', 'status']);
    expect((JSON.parse(st.stdout) as { nodes: { id: string; state: string }[] }).nodes).toContainEqual(
      expect.objectContaining({ id: 'dn3', state: 'dead' }),
    );
    await waitFor('every chunk back to 2 live replicas', () => admin.healthy(), 30_000, 200);
    const healedMs = Date.now() - started;
    expect((await replicaCounts()).every((n) => n === 2)).toBe(true);
    const byNode = await replicasByNode(client, files());
    expect(byNode.has('dn3')).toBe(false);
    await expectAllFilesIntact();
    console.log(`re-replication after a node loss: healthy ${healedMs} ms after kill -9`);
  });

  it('2: reconciles the returning node: stale and orphan replicas removed, nothing valid lost, no third copy', async () => {
    const dn3 = cluster.datanodes[2];
    const onDn3 = chunkFilesOnDisk(dn3.dataDir);
    expect(onDn3.size).toBeGreaterThan(0);
    // While dn3 is down: delete 10 files and overwrite 10 others (their old chunks become orphans on dn3).
    const gone = files().slice(0, 10);
    const goneChunks = new Set<string>();
    for (const p of gone) {
      for (const c of (await client.fileInfo(p, me)).chunks) goneChunks.add(c.chunkId);
      await client.unlink(p, me);
      content.delete(p);
    }
    for (const p of files().slice(0, 10)) {
      const data = randomBytes(randomInt(1, 1.5 * MiB));
      await writeFile(client, p, data);
      content.set(p, data);
    }
    await dn3.start();
    await waitFor('dn3 live again', async () => (await admin.status()).nodes.find((n) => n.id === 'dn3')?.live);
    await waitFor(
      'dn3 reconciled: it holds only chunks the name node counts on it',
      async () => {
        const valid = (await replicasByNode(client, files())).get('dn3') ?? new Set<string>();
        const disk = chunkFilesOnDisk(dn3.dataDir);
        return [...disk].every((id) => valid.has(id)) && (await admin.healthy());
      },
      30_000,
      250,
    );
    for (const d of cluster.datanodes) {
      for (const id of chunkFilesOnDisk(d.dataDir)) expect(goneChunks.has(id), `${d.id} still holds ${id}`).toBe(false);
    }
    // Over-replicated chunks (dn3's valid copies came back after re-replication) were trimmed to 2.
    await waitFor('no chunk with 3 copies', async () => (await replicaCounts()).every((n) => n === 2), 15_000, 250);
    // ... and the trimmed copies are deleted: exactly 2 chunk files per chunk on the nodes' disks.
    const wanted = (await replicaCounts()).length * 2;
    await waitFor('2 chunk files per chunk on disk', () => {
      let onDisk = 0;
      for (const d of cluster.datanodes) onDisk += chunkFilesOnDisk(d.dataDir).size;
      return onDisk === wanted;
    });
    await expectAllFilesIntact();
  });

  it('3: a new empty node receives chunks until disk use is balanced; data intact', async () => {
    const dn4 = await cluster.addDataNode({ capacity: '96MiB' });
    expect(chunkFilesOnDisk(dn4.dataDir).size).toBe(0);
    await waitFor('dn4 live', async () => (await admin.status()).nodes.find((n) => n.id === 'dn4')?.live);
    const before = await admin.balance(false);
    expect(before.balanced).toBe(false);
    const res = await runCli(cluster.address, ['--json', 'balance', '--timeout', '45']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { balanced: boolean; spreadPct: number; movedChunks: number };
    expect(out.balanced).toBe(true);
    expect(out.spreadPct).toBeLessThanOrEqual(10);
    expect(out.movedChunks).toBeGreaterThan(0);
    await waitFor('dn4 holds chunks', () => (chunkFilesOnDisk(dn4.dataDir).size > 0 ? true : false), 10_000);
    await waitFor('healthy after balancing', () => admin.healthy(), 15_000);
    expect((await replicaCounts()).every((n) => n === 2)).toBe(true);
    await expectAllFilesIntact();
  });

  it('4: a flipped byte on disk: the read returns correct data and the corrupt replica is replaced', async () => {
    const p = files().find((f) => content.get(f)!.length > 256 * 1024)!;
    const info = await client.fileInfo(p, me);
    const chunk = info.chunks[0];
    // The reader tries the first listed replica first: corrupt that one so the read trips over it.
    const victimId = chunk.replicas[0].id;
    const victim = cluster.datanodes.find((d) => d.id === victimId)!;
    const file = chunkDataPath(victim.dataDir, chunk.chunkId);
    const bytes = fs.readFileSync(file);
    const at = 12_345;
    bytes[at] ^= 0xff;
    fs.writeFileSync(file, bytes);

    const fresh = createClient({ namenode: cluster.address, metadataTimeoutMs: 10_000 });
    try {
      expect(sha(await readFile(fresh, p))).toBe(sha(content.get(p)!));
    } finally {
      await fresh.close();
    }
    await waitFor(
      'corrupt replica replaced',
      async () => {
        const now = (await client.fileInfo(p, me)).chunks[0];
        const ids = now.replicas.map((r) => r.id);
        return ids.length === 2 && !ids.includes(victimId) && (await admin.healthy());
      },
      20_000,
      200,
    );
    // The corrupt copy is gone from the victim's disk (or replaced by a good one).
    await waitFor('corrupt copy deleted', () => {
      if (!fs.existsSync(file)) return true;
      const b = fs.readFileSync(file);
      return b.length > at && b[at] === content.get(p)![at];
    });
    await expectAllFilesIntact();
  });

  it('fsck lists nothing and exits 0 on a healthy cluster, and names the file when a chunk is at risk', async () => {
    const ok = await runCli(cluster.address, ['fsck', '/h']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('HEALTHY');
    // Stop two nodes: some chunks lose both replicas or one.
    const [a, b] = cluster.datanodes;
    await a.proc.kill('SIGKILL');
    await b.proc.kill('SIGKILL');
    await waitFor('two nodes dead', async () => (await admin.status()).nodes.filter((n) => !n.live).length === 2);
    const bad = await runCli(cluster.address, ['--json', 'fsck', '/h']);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout) as { healthy: boolean; problems: { path: string; problem: string }[] };
    expect(report.healthy).toBe(false);
    expect(report.problems.some((x) => x.path.startsWith('/h/f'))).toBe(true);
    expect(report.problems.some((x) => x.problem === 'missing')).toBe(true);
    await a.start();
    await b.start();
    await waitFor('healthy again', () => admin.healthy(), 30_000, 250);
    await expectAllFilesIntact();
  });

  it('decommission drains a node: status shows it, it ends decommissioned and gets no new chunks', async () => {
    const res = await runCli(cluster.address, ['decommission', 'dn4']);
    expect(res.code, res.stderr).toBe(0);
    expect((await admin.status()).nodes.find((n) => n.id === 'dn4')?.state).toMatch(/^decommission/);
    const wait = await runCli(cluster.address, ['--json', 'decommission', '--wait', '--timeout', '40', 'dn4']);
    expect(wait.code, wait.stderr).toBe(0);
    const st = (await admin.status()).nodes.find((n) => n.id === 'dn4')!;
    expect(st.state).toBe('decommissioned');
    for (const f of files()) {
      for (const c of (await client.fileInfo(f, me)).chunks) {
        expect(c.replicas.filter((r) => r.id !== 'dn4').length, `${f} chunk ${c.index}`).toBe(2);
      }
    }
    const data = randomBytes(3 * MiB);
    await writeFile(client, '/h/after-decommission', data);
    content.set('/h/after-decommission', data);
    for (const c of (await client.fileInfo('/h/after-decommission', me)).chunks) {
      expect(c.replicas.map((r) => r.id)).not.toContain('dn4');
    }
    await expectAllFilesIntact();
  });

  it('after a name node restart the data nodes re-register and no valid replica is deleted', async () => {
    const before = new Map(cluster.datanodes.map((d) => [d.id, chunkFilesOnDisk(d.dataDir)]));
    await cluster.namenode.proc.kill('SIGKILL');
    await cluster.namenode.start();
    await waitFor('data nodes re-registered, out of safe mode, healthy', () => admin.healthy(), 20_000, 200);
    for (const d of cluster.datanodes) {
      const now = chunkFilesOnDisk(d.dataDir);
      for (const id of before.get(d.id)!) expect(now.has(id), `${d.id} lost ${id}`).toBe(true);
    }
    await expectAllFilesIntact();
  });
});
