import pino from 'pino';
import { randomBytes } from 'node:crypto';

export type Logger = pino.Logger;

/**
 * Structured logs for every process. Servers default to `info`, the CLI and
 * the mount to `warn` (DFS_LOG_LEVEL overrides); pretty output only on a TTY.
 * Logs go to stderr so the CLI's stdout stays clean for --json.
 */
export function createLogger(name: string, defaultLevel: 'info' | 'warn' = 'info'): Logger {
  const level = process.env.DFS_LOG_LEVEL ?? defaultLevel;
  const pretty = process.stderr.isTTY && process.env.DFS_LOG_PRETTY !== '0';
  if (pretty) {
    try {
      require.resolve('pino-pretty');
      return pino({ name, level, transport: { target: 'pino-pretty', options: { destination: 2 } } });
    } catch {
      // pino-pretty is a dev dependency: fall back to JSON.
    }
  }
  return pino({ name, level }, pino.destination({ fd: 2, sync: false }));
}

/** A short id that travels with one request through client, name node and data nodes. */
export function newRequestId(): string {
  return randomBytes(6).toString('hex');
}
