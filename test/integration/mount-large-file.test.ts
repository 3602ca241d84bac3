import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, tempDir } from '../helpers/cluster';
import { TestMount, sh, shOk, sleep } from '../helpers/mount';

/** 256 MiB by default on 2 shared cores; DFS_MOUNT_LARGE_MIB=1024 for the 1 GiB measurement. */
const MIB = Number(process.env.DFS_MOUNT_LARGE_MIB ?? 256);

describe('dfs-mount: large files', () => {
  let cluster: TestCluster;
  let mount: TestMount;
  const scratch = tempDir('mount-large');

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2, nodeTimeout: '3s' }).start();
    mount = await new TestMount(cluster.address).start();
  });

  afterAll(async () => {
    await mount?.stop();
    await cluster?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it(`keeps ${MIB} MiB written with dd intact across unmount and remount`, async () => {
    const file = mount.path('big.bin');
    await shOk(`head -c ${MIB}M /dev/urandom > ${scratch}/src.bin`, { timeoutMs: 120_000 });
    const want = (await shOk(`sha256sum < ${scratch}/src.bin`)).split(' ')[0];
    await shOk(`dd if=${scratch}/src.bin of=${file} bs=1M status=none`, { timeoutMs: 600_000 });
    await mount.stop();
    mount = await new TestMount(cluster.address).start();
    const got = (await shOk(`sha256sum < ${mount.path('big.bin')}`, { timeoutMs: 600_000 })).split(' ')[0];
    expect(got).toBe(want);
    expect(fs.statSync(mount.path('big.bin')).size).toBe(MIB * 1024 * 1024);
  });

  it('finishes a cp while a data node is killed -9, and the file is intact', async () => {
    const src = `${scratch}/src.bin`;
    const want = (await shOk(`sha256sum < ${src}`)).split(' ')[0];
    const copy = sh(`cp ${src} ${mount.path('during-kill.bin')}`, { timeoutMs: 600_000 });
    // Kill a node once the copy is well under way, while its pipeline is busy.
    await sleep(1_500);
    await cluster.datanodes[1].proc.kill('SIGKILL');
    const r = await copy;
    expect(r.code, r.stderr).toBe(0);
    const got = (await shOk(`sha256sum < ${mount.path('during-kill.bin')}`, { timeoutMs: 600_000 })).split(' ')[0];
    expect(got).toBe(want);
    expect(path.basename(mount.path('during-kill.bin'))).toBe('during-kill.bin');
  });
});
