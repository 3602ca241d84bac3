import { DfsError } from '../rpc/errors';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** Parses `64MiB`, `10G`, `1.5gb`, `4096` into bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new DfsError('EINVAL', `not a size: '${text}' (try 64MiB, 10G, 4096)`);
  return Math.round(Number(m[1]) * unit);
}

const DURATION_UNITS: Record<string, number> = { '': 1000, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `30s`, `500ms`, `2m`, `10` (seconds) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|)\s*$/.exec(text);
  if (!m) throw new DfsError('EINVAL', `not a duration: '${text}' (try 30s, 500ms, 2m)`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]]);
}

/** Parses `host:port`; a bare port means 127.0.0.1. */
export function parseAddress(text: string, what = 'address'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text.trim()) ?? /^()()(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new DfsError('EINVAL', `bad ${what} '${text}' (expected HOST:PORT)`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
