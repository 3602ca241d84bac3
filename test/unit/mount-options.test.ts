import { describe, expect, it } from 'vitest';
import { parseGroupsLine } from '../../src/mount/caller';
import { DfsFuse } from '../../src/mount/dfs-fuse';
import { parseMountInfo } from '../../src/mount/mount-point';
import { applyMountOptions, FUSE_DEFAULTS } from '../../src/mount/options';
import { toStatfs } from '../../src/mount/stat';

describe('mount options', () => {
  it('applies FUSE flags, timeouts and the name node from -o', () => {
    const fuse = { ...FUSE_DEFAULTS };
    const { namenode } = applyMountOptions(
      'allow_other,ro,attr_timeout=2,negative_timeout=0,rw,noatime,namenode=10.0.0.1:9000',
      fuse,
    );
    expect(fuse.allowOther).toBe(true);
    expect(fuse.readOnly).toBe(true);
    expect(fuse.attrTimeoutS).toBe(2);
    expect(fuse.negativeTimeoutS).toBe(0);
    expect(namenode).toBe('10.0.0.1:9000');
  });

  it('has fuse-native answer security.capability and read-only flushes itself', () => {
    // The mount refuses file capabilities, and its flush only commits writes;
    // test/integration/fuse-native-thread-answers.test.ts shows what the flags do.
    const fuse = new DfsFuse('/nonexistent', {}, { ...FUSE_DEFAULTS });
    expect(fuse.opts.noSecurityCapability).toBe(true);
    expect(fuse.opts.noReadOnlyFlush).toBe(true);
  });

  it('rejects unknown options and bad values with EINVAL', () => {
    expect(() => applyMountOptions('bogus', { ...FUSE_DEFAULTS })).toThrow(/EINVAL: unknown mount option 'bogus'/);
    expect(() => applyMountOptions('attr_timeout=-1', { ...FUSE_DEFAULTS })).toThrow(/EINVAL/);
    expect(() => applyMountOptions('namenode=nope', { ...FUSE_DEFAULTS })).toThrow(/EINVAL/);
  });
});

describe('mount helpers', () => {
  it('reads mount points (with escaped spaces) from mountinfo', () => {
    const text = '36 35 0:40 / /mnt/my\\040dfs rw,nosuid - fuse.dfs dfs rw,user_id=0\n';
    expect(parseMountInfo(text)).toEqual([{ mountPoint: '/mnt/my dfs', fsType: 'fuse.dfs', source: 'dfs' }]);
  });

  it('reads supplementary groups from /proc/PID/status', () => {
    expect(parseGroupsLine('Name:\tbash\nGroups:\t4 24 27 \nNSpid:\t1\n')).toEqual([4, 24, 27]);
    expect(parseGroupsLine('Groups:\t\n')).toEqual([]);
  });

  it('fits a large capacity into 32-bit statvfs block counts', () => {
    const s = toStatfs({
      capacity: 2 ** 50,
      used: 2 ** 40,
      available: 2 ** 49,
      files: 10,
      blockSize: 4096,
      maxName: 255,
      chunkSize: 1,
    });
    expect(s.blocks).toBeLessThan(2 ** 32);
    expect(s.blocks * s.frsize).toBe(2 ** 50);
    expect(s.bavail * s.frsize).toBe(2 ** 49);
    expect(s.namemax).toBe(255);
  });
});
