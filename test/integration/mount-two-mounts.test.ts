import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster';
import { TestMount } from '../helpers/mount';

describe('dfs-mount: two mounts of one cluster (close-to-open consistency)', () => {
  let cluster: TestCluster;
  let a: TestMount;
  let b: TestMount;

  beforeAll(async () => {
    cluster = await new TestCluster({ dataNodes: 3, replication: 2, chunkSize: '1MiB' }).start();
    a = await new TestMount(cluster.address).start();
    b = await new TestMount(cluster.address).start();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await cluster?.stop();
  });

  it('sees a file whole on the other mount once it is closed', () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
    fs.writeFileSync(a.path('shared.bin'), data);
    expect(fs.readFileSync(b.path('shared.bin')).equals(data)).toBe(true);
  });

  it('sees an overwrite, an append and a truncate made on the other mount', () => {
    fs.writeFileSync(a.path('grow'), 'one');
    expect(fs.readFileSync(b.path('grow'), 'utf8')).toBe('one');
    fs.appendFileSync(a.path('grow'), '-two');
    expect(fs.readFileSync(b.path('grow'), 'utf8')).toBe('one-two');
    const fd = fs.openSync(a.path('grow'), 'r+');
    fs.writeSync(fd, 'ONE', 0);
    fs.closeSync(fd);
    expect(fs.readFileSync(b.path('grow'), 'utf8')).toBe('ONE-two');
    fs.truncateSync(a.path('grow'), 2);
    expect(fs.readFileSync(b.path('grow'), 'utf8')).toBe('ON');
  });

  it('sees renames and deletions made on the other mount', async () => {
    fs.mkdirSync(a.path('dir'));
    fs.writeFileSync(a.path('dir/f'), 'x');
    expect(fs.readFileSync(b.path('dir/f'), 'utf8')).toBe('x');
    fs.renameSync(a.path('dir/f'), a.path('dir/g'));
    // Names may be cached by the kernel for entry_timeout (1 s), as NFS caches lookups.
    await new Promise((r) => setTimeout(r, 1_100));
    expect(fs.readFileSync(b.path('dir/g'), 'utf8')).toBe('x');
    expect(fs.existsSync(b.path('dir/f'))).toBe(false);
    fs.unlinkSync(b.path('dir/g'));
    await new Promise((r) => setTimeout(r, 1_100));
    expect(fs.readdirSync(a.path('dir'))).toEqual([]);
  });
});
