import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFlags } from '../../src/common/node-flags';

const ROOT = path.resolve(__dirname, '../..');

/** What docker/entrypoint.sh runs for a role (its `bin` function, called on its own). */
function entrypointCommand(role: string): string {
  const script = fs.readFileSync(path.join(ROOT, 'docker/entrypoint.sh'), 'utf8');
  const bin = /^bin\(\) \{[\s\S]*?^\}/m.exec(script)?.[0];
  expect(bin, 'entrypoint.sh defines bin()').toBeTruthy();
  return execFileSync('bash', ['-c', `APP=/app\n${bin}\nbin ${role}`], { encoding: 'utf8' }).trim();
}

describe('node flags of the dfs programs', () => {
  it('data nodes and mounts collect garbage on one thread, and less often; the name node and the CLI keep the default', () => {
    const dataPath = ['--single-threaded-gc', '--initial-old-space-size=256'];
    expect(nodeFlags('datanode/main.js')).toEqual(dataPath);
    expect(nodeFlags('/opt/dfs/dist/mount/main.js')).toEqual(dataPath);
    expect(nodeFlags('bench/memfs.js')).toEqual(nodeFlags('mount/main.js'));
    expect(nodeFlags('namenode/main.js')).toEqual([]);
    expect(nodeFlags('cli/main.js')).toEqual([]);
  });

  it('the bins run with the same flags however they are started: #! line and Docker entrypoint', () => {
    for (const role of ['namenode', 'datanode', 'mount', 'cli']) {
      const flags = nodeFlags(`${role}/main.js`);
      const shebang = fs.readFileSync(path.join(ROOT, 'src', role, 'main.ts'), 'utf8').split('\n')[0];
      expect(shebang).toBe(flags.length > 0 ? `#!/usr/bin/env -S node ${flags.join(' ')}` : '#!/usr/bin/env node');
      expect(entrypointCommand(role)).toBe(['node', ...flags, `/app/dist/${role}/main.js`].join(' '));
    }
  });
});
