import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Integration tests run the compiled processes: build once before the suite. */
export default function setup(): void {
  if (process.env.DFS_SKIP_BUILD === '1') return;
  const root = path.resolve(__dirname, '../..');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
}
