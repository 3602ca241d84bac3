import { constants as fsConstants } from 'node:fs';
import { formatBytes } from '../common/units';

/** Text rendering shared by the commands: modes, sizes, times, aligned tables. */

const TYPE_BITS: Array<[number, string, string]> = [
  [fsConstants.S_IFDIR, 'd', 'directory'],
  [fsConstants.S_IFREG, '-', 'file'],
  [fsConstants.S_IFLNK, 'l', 'symlink'],
  [fsConstants.S_IFIFO, 'p', 'fifo'],
  [fsConstants.S_IFSOCK, 's', 'socket'],
  [fsConstants.S_IFCHR, 'c', 'char device'],
  [fsConstants.S_IFBLK, 'b', 'block device'],
];

export function isDirectory(mode: number): boolean {
  return (mode & fsConstants.S_IFMT) === fsConstants.S_IFDIR;
}

export function isRegularFile(mode: number): boolean {
  return (mode & fsConstants.S_IFMT) === fsConstants.S_IFREG;
}

/** 'file', 'directory', 'symlink', ... (stable: used as a --json value). */
export function fileType(mode: number): string {
  const t = mode & fsConstants.S_IFMT;
  return TYPE_BITS.find(([bits]) => bits === t)?.[2] ?? 'unknown';
}

/** `drwxr-xr-x`, as ls -l shows it (setuid/setgid/sticky included). */
export function formatMode(mode: number): string {
  const t = mode & fsConstants.S_IFMT;
  const type = TYPE_BITS.find(([bits]) => bits === t)?.[1] ?? '?';
  const rwx = (bits: number, special: boolean, specialChar: string): string => {
    const x = bits & 1;
    const exec = special ? (x ? specialChar : specialChar.toUpperCase()) : x ? 'x' : '-';
    return (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + exec;
  };
  return (
    type +
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

/** Permission bits as four octal digits, e.g. `0644`. */
export function octalMode(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** `10.0 MiB (10485760 bytes)`: readable, and exact for anyone comparing sizes. */
export function sizeWithBytes(n: number): string {
  return n < 1024 ? `${n} B` : `${formatBytes(n)} (${n} bytes)`;
}

/** Local time with the offset, second precision: unambiguous and readable. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '-';
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const tz = `${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${tz}`
  );
}

/** `3s ago`, `5m ago`: heartbeat ages read better relative than absolute. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return 'just now';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m ago`;
  return `${Math.round(m / 60)}h ago`;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
