import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type DfsClient } from '../../src/client';
import { TestCluster, waitFor } from '../helpers/cluster';
import { me, MiB, NameNodeAdmin, readFile, runCli, sha, writeFile } from './healing-helpers';

/**
 * Storage classes with real processes: 4 data nodes with different labels,
 * files placed by directory class and by name pattern, a class change moving
 * replicas, an unmeetable class reported while writes still succeed, and
 * everything surviving a name node kill -9. 1 MiB chunks keep it quick.
 */

const LABELS: Record<string, string[]> = { dn1: ['ssd'], dn2: ['ssd'], dn3: ['hdd'], dn4: ['hdd', 'media'] };
const SSD = new Set(['dn1', 'dn2']);
const HDD = new Set(['dn3', 'dn4']);

describe('placement rules (storage classes)', () => {
  let cluster: TestCluster;
  let client: DfsClient;
  let admin: NameNodeAdmin;
  const content = new Map<string, Buffer>();

  const cli = async (...args: string[]) => {
    const r = await runCli(cluster.address, args);
    if (r.code !== 0) throw new Error(`dfs ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const cliJson = async (...args: string[]): Promise<Record<string, unknown>> =>
    JSON.parse(await cli('--json', ...args)) as Record<string, unknown>;
  /** The replica sets of every chunk of a file, as the name node reports them. */
  const replicaSets = async (p: string): Promise<string[][]> =>
    (await client.fileInfo(p, me)).chunks.map((c) => c.replicas.map((r) => r.id).sort());
  const put = async (p: string, bytes: number): Promise<void> => {
    const data = randomBytes(bytes);
    await writeFile(client, p, data);
    content.set(p, data);
  };

  beforeAll(async () => {
    cluster = new TestCluster({ dataNodes: 0, replication: 2, chunkSize: '1MiB', nodeTimeout: '2s' });
    await cluster.start();
    for (const id of Object.keys(LABELS)) await cluster.addDataNode({ capacity: '96MiB', labels: LABELS[id] });
    client = createClient({ namenode: cluster.address, metadataTimeoutMs: 10_000 });
    admin = new NameNodeAdmin(cluster.address);
    await waitFor('4 live data nodes', async () => (await admin.status()).nodes.filter((n) => n.live).length === 4);
    await cli('class', 'create', 'media', '--copies', '2', '--label', 'hdd');
    await cli('class', 'create', 'hot', '--replica', 'ssd', '--replica', '*');
    await cli('class', 'pattern', '*.pdf', 'hot');
    await client.mkdir('/media', 0o755, me);
    await client.mkdir('/docs', 0o755, me);
    await cli('class', 'set', '/media', 'media');
  });

  afterAll(async () => {
    admin?.close();
    await client?.close();
    await cluster?.stop();
  });

  it('places files under a directory with a class, and files matching a pattern, only on matching nodes', async () => {
    await put('/media/movie.bin', 3 * MiB + 100);
    await put('/docs/paper.pdf', 2 * MiB);
    await put('/media/notes.pdf', MiB); // the pattern beats the directory
    for (const set of await replicaSets('/media/movie.bin')) expect(set).toEqual(['dn3', 'dn4']);
    for (const p of ['/docs/paper.pdf', '/media/notes.pdf']) {
      for (const set of await replicaSets(p)) {
        expect(set).toHaveLength(2);
        expect(
          set.some((n) => SSD.has(n)),
          `${p}: ${set.join(',')}`,
        ).toBe(true);
      }
    }
    const info = await cliJson('file_info', '/media/movie.bin');
    expect(info.storageClass).toBe('media');
    expect(info.replication).toBe(2);
    const got = await cliJson('class', 'get', '/media/notes.pdf');
    expect(got).toMatchObject({ class: 'hot', source: 'pattern', from: '*.pdf' });
    expect(await cliJson('class', 'get', '/media/movie.bin')).toMatchObject({ source: 'directory', from: '/media' });
    expect(await cliJson('class', 'get', '/docs')).toMatchObject({ class: 'default', source: 'default' });
  });

  it('moves replicas in the background when a file’s class or a pattern changes', async () => {
    await cli('class', 'create', 'ssdonly', '--copies', '2', '--label', 'ssd');
    await cli('class', 'set', '/media/movie.bin', 'ssdonly');
    await cli('class', 'pattern', '*.pdf', 'media');
    await waitFor(
      'movie.bin on ssd nodes and the pdfs on hdd nodes',
      async () => {
        const movie = await replicaSets('/media/movie.bin');
        const pdfs = [...(await replicaSets('/docs/paper.pdf')), ...(await replicaSets('/media/notes.pdf'))];
        return (
          movie.every((s) => s.length === 2 && s.every((n) => SSD.has(n))) &&
          pdfs.every((s) => s.length === 2 && s.every((n) => HDD.has(n)))
        );
      },
      60_000,
      250,
    );
    for (const [p, data] of content) expect(sha(await readFile(client, p)), p).toBe(sha(data));
    await waitFor('fsck clean after the moves', async () => (await admin.fsck()).healthy, 20_000);
  });

  it('writes under an unmeetable class still succeed, on the best available nodes, and are reported', async () => {
    await cli('class', 'create', 'tape', '--copies', '2', '--label', 'tape');
    await client.mkdir('/cold', 0o755, me);
    await cli('class', 'set', '/cold', 'tape');
    await put('/cold/archive.bin', 2 * MiB);
    for (const set of await replicaSets('/cold/archive.bin')) expect(set).toHaveLength(2);
    const fsck = await admin.fsck('/cold');
    expect(fsck.healthy).toBe(false);
    expect(fsck.problems.map((p) => p.problem)).toEqual(['unmeetable', 'unmeetable']);
    const status = await cliJson('status');
    const classes = status.classes as { name: string; meetable: boolean; unmeetableChunks: number }[];
    expect(classes.find((c) => c.name === 'tape')).toMatchObject({ meetable: false, unmeetableChunks: 2 });
    expect(classes.find((c) => c.name === 'media')).toMatchObject({ meetable: true, unmeetableChunks: 0 });
    expect(await cli('status')).toMatch(/WARNING: class tape .* cannot be met/);
    expect(cluster.namenode.proc.log()).toMatch(/storage class cannot be met/);
    const r = await runCli(cluster.address, ['fsck', '/cold']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/2 unmeetable/);
  });

  it('refuses to delete a class in use, with a clear error', async () => {
    const r = await runCli(cluster.address, ['class', 'delete', 'media']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/storage class 'media' is in use: .*\/media.*pattern '\*\.pdf'/);
    await cli('class', 'create', 'unused', '--replica', 'ssd');
    await cli('class', 'delete', 'unused');
  });

  it('keeps classes, patterns and settings across a name node kill -9 and restart', async () => {
    const before = await cliJson('class', 'list');
    await cluster.namenode.proc.kill('SIGKILL');
    await cluster.namenode.start();
    await waitFor(
      '4 live data nodes again',
      async () => (await admin.status()).nodes.filter((n) => n.live).length === 4,
    );
    const after = await cliJson('class', 'list');
    const names = (l: Record<string, unknown>) => (l.classes as { name: string; replicas: string[] }[]).map((c) => c);
    expect(names(after).map((c) => [c.name, c.replicas])).toEqual(names(before).map((c) => [c.name, c.replicas]));
    expect(after.patterns).toEqual(before.patterns);
    expect(await cliJson('class', 'get', '/media/movie.bin')).toMatchObject({ class: 'ssdonly', source: 'own' });
    expect(await cliJson('class', 'get', '/cold/archive.bin')).toMatchObject({ class: 'tape', source: 'directory' });
    await put('/media/after-restart.bin', MiB);
    for (const set of await replicaSets('/media/after-restart.bin')) expect(set).toEqual(['dn3', 'dn4']);
  });
});
