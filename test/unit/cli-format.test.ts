import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CwdStore } from '../../src/cli/cwd-store';
import { describeDfsError, reportError, PathError, CliError } from '../../src/cli/errors';
import { fileType, formatMode, octalMode, table } from '../../src/cli/format';
import { DfsError } from '../../src/rpc/errors';

describe('CLI formatting', () => {
  it('renders modes as ls -l does', () => {
    expect(formatMode(0o40755)).toBe('drwxr-xr-x');
    expect(formatMode(0o100644)).toBe('-rw-r--r--');
    expect(formatMode(0o104755)).toBe('-rwsr-xr-x');
    expect(formatMode(0o41777)).toBe('drwxrwxrwt');
    expect(formatMode(0o120777)).toBe('lrwxrwxrwx');
    expect(octalMode(0o100640)).toBe('0640');
    expect(fileType(0o40755)).toBe('directory');
    expect(fileType(0o100644)).toBe('file');
  });

  it('aligns table columns', () => {
    expect(
      table([
        ['a', 'bb', 'c'],
        ['ddd', 'e', 'f'],
      ]),
    ).toBe('a    bb  c\nddd  e   f');
  });
});

describe('CLI errors', () => {
  it('names the path and the problem in one line', () => {
    const e = new PathError('/a/b', new DfsError('ENOENT', 'lookup b in inode 17'));
    expect(e.message).toBe('/a/b: no such file or directory (lookup b in inode 17)');
    expect(reportError(e)).toMatchObject({ errno: 'ENOENT', exitCode: 1 });
    expect(describeDfsError(new DfsError('EACCES', '/x'), '/x')).toBe('/x: permission denied');
    expect(reportError(new CliError('bad', 2, 'EUSAGE'))).toEqual({ message: 'bad', errno: 'EUSAGE', exitCode: 2 });
  });

  it('suggests a way out of a full cluster', () => {
    expect(describeDfsError(new DfsError('ENOSPC', ''), '/big')).toMatch(
      /^\/big: no space left on the cluster \(.*data nodes/,
    );
  });
});

describe('current directory store', () => {
  it('keeps one directory per user and per name node', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-cwd-'));
    try {
      const a = new CwdStore('127.0.0.1:9000', 1000, dir);
      const b = new CwdStore('127.0.0.1:9001', 1000, dir);
      const c = new CwdStore('127.0.0.1:9000', 1001, dir);
      expect(a.get()).toBe('/');
      a.set('/x');
      b.set('/y');
      expect(new CwdStore('127.0.0.1:9000', 1000, dir).get()).toBe('/x');
      expect(b.get()).toBe('/y');
      expect(c.get()).toBe('/');
      fs.writeFileSync(path.join(dir, 'cwd.json'), '{torn');
      expect(a.get()).toBe('/');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
