import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAddress } from '../common/units';

/**
 * The current cluster directory (`open_directory`) survives between `dfs`
 * invocations, like a shell's cwd. It is kept per user (the file lives in the
 * user's state directory and is keyed by uid, since tests and `sudo` may share
 * one DFS_STATE_DIR) and per name node (two clusters have two trees).
 */

interface CwdFile {
  version: 1;
  cwd: Record<string, string>;
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DFS_STATE_DIR) return env.DFS_STATE_DIR;
  if (env.XDG_STATE_HOME) return path.join(env.XDG_STATE_HOME, 'dfs');
  return path.join(os.homedir(), '.local', 'state', 'dfs');
}

export class CwdStore {
  readonly file: string;
  private readonly key: string;

  constructor(namenode: string, uid: number, dir: string = stateDir()) {
    this.file = path.join(dir, 'cwd.json');
    const { host, port } = parseAddress(namenode, 'name node address');
    this.key = `${uid}@${host}:${port}`;
  }

  /** The stored directory, or "/" when none is stored or the file is unreadable. */
  get(): string {
    const stored = this.read().cwd[this.key];
    return typeof stored === 'string' && stored.startsWith('/') ? stored : '/';
  }

  set(dir: string): void {
    const data = this.read();
    data.cwd[this.key] = dir;
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    // Write-then-rename so a crash or a concurrent `dfs cd` never leaves a torn file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, this.file);
  }

  private read(): CwdFile {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(this.file, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null && 'cwd' in parsed) {
        const cwd = (parsed as { cwd: unknown }).cwd;
        if (typeof cwd === 'object' && cwd !== null) return { version: 1, cwd: { ...(cwd as Record<string, string>) } };
      }
    } catch {
      // Missing, unreadable or corrupt: start from the root rather than fail every command.
    }
    return { version: 1, cwd: {} };
  }
}
