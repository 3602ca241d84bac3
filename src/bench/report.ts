import { existsSync, promises as fsp } from 'node:fs';
import { TARGET_LABELS, type TargetId } from './targets';

/**
 * Turns the samples of one run into the report: medians and spreads per
 * target, every dfs figure as a ratio to the two ceilings measured in the same
 * run, MooseFS's reference figures (quoted from issue 6, measured earlier) and
 * the issue's targets. Printed as Markdown and written into BENCHMARKS.md
 * between markers, so prose around the results survives a re-run.
 */

export interface Metric {
  key: string;
  label: string;
  unit: string;
  /** false for durations (seconds): smaller is better. */
  higherIsBetter: boolean;
  /** MooseFS 3.0.117, 1 master + 3 chunkservers on loopback, goal 2, on this machine (issue 6). */
  moosefs?: number;
}

export const METRICS: Metric[] = [
  { key: 'seqWrite', label: 'sequential write, fsync at end', unit: 'MiB/s', higherIsBetter: true, moosefs: 144 },
  { key: 'seqRead', label: 'sequential read, cold cache', unit: 'MiB/s', higherIsBetter: true, moosefs: 444 },
  { key: 'randRead', label: 'random 4 KiB read', unit: 'IOPS', higherIsBetter: true, moosefs: 3400 },
  { key: 'randWrite', label: 'random 4 KiB write', unit: 'IOPS', higherIsBetter: true, moosefs: 6400 },
  { key: 'create', label: 'create small files', unit: 'ops/s', higherIsBetter: true, moosefs: 481 },
  { key: 'stat', label: 'stat', unit: 'ops/s', higherIsBetter: true, moosefs: 4400 },
  { key: 'rename', label: 'rename', unit: 'ops/s', higherIsBetter: true, moosefs: 1420 },
  { key: 'delete', label: 'delete', unit: 'ops/s', higherIsBetter: true, moosefs: 1960 },
  { key: 'mkdir', label: 'mkdir', unit: 'ops/s', higherIsBetter: true, moosefs: 2000 },
  { key: 'rmdir', label: 'rmdir', unit: 'ops/s', higherIsBetter: true },
  { key: 'cpIn', label: '`cp -r` tree in', unit: 's', higherIsBetter: false, moosefs: 20.6 },
  { key: 'cpOut', label: '`cp -r` tree out', unit: 's', higherIsBetter: false, moosefs: 14.5 },
];

/** Other figures from the issue, measured earlier on this machine. */
export const EARLIER_CEILINGS =
  'local ext4 wrote 317 MiB/s; a minimal fuse-native in-memory file system wrote 224 MiB/s, read 1,160 MiB/s and created 1,810 files/s';

export interface RunInfo {
  mode: 'full' | 'quick' | 'dry';
  reps: number;
  sizes: string;
  date: string;
  host: string;
  elapsedSeconds: number;
  /** Target id -> why it could not be set up. */
  unavailable: Map<TargetId, string>;
  warnings: string[];
}

/** samples[target][metric] = one value per repetition. */
export type Samples = Map<TargetId, Map<string, number[]>>;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Half the range, relative to the median. */
export function spread(xs: number[]): number {
  const m = median(xs);
  return m ? (Math.max(...xs) - Math.min(...xs)) / 2 / m : 0;
}

export function formatNumber(x: number, unit = ''): string {
  if (!Number.isFinite(x)) return '—';
  if (unit === 's') return x < 10 ? x.toFixed(2) : x.toFixed(1);
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(3);
}

function cell(xs: number[] | undefined, unit: string): string {
  if (!xs?.length) return '—';
  const base = formatNumber(median(xs), unit);
  return xs.length > 1 ? `${base} ±${Math.round(spread(xs) * 100)}%` : base;
}

/** Speed of `x` relative to `ref` (>1 = faster), whichever way the metric points. */
function speedRatio(m: Metric, x: number, ref: number): number {
  return m.higherIsBetter ? x / ref : ref / x;
}

function med(samples: Samples, t: TargetId, key: string): number | undefined {
  const xs = samples.get(t)?.get(key);
  return xs?.length ? median(xs) : undefined;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function ratioCell(m: Metric, x: number | undefined, ref: number | undefined): string {
  return x !== undefined && ref !== undefined && x > 0 && ref > 0 ? `${speedRatio(m, x, ref).toFixed(2)}×` : '—';
}

export function renderReport(
  samples: Samples,
  targets: TargetId[],
  info: RunInfo,
  identical: Map<TargetId, boolean>,
): string {
  const out: string[] = [];
  const measured = targets.filter((t) => samples.has(t));
  out.push(
    `### Run of ${info.date} (${info.mode}${info.mode === 'dry' ? ': tiny sizes, the figures are NOT measurements' : ''})`,
  );
  out.push('');
  out.push(`- host: ${info.host}`);
  out.push(`- sizes: ${info.sizes}; ${info.reps} repetition(s) per figure: median ±half the range`);
  out.push(`- whole run: ${Math.round(info.elapsedSeconds)} s`);
  for (const [t, why] of info.unavailable)
    out.push(`- ${t.startsWith('dfs') ? 'dfs' : t} target unavailable (${t}): ${why}`);
  for (const w of info.warnings) out.push(`- note: ${w}`);
  out.push('');

  const header = ['workload', 'unit', ...measured.map((t) => TARGET_LABELS[t]), 'MooseFS (earlier, not this run)'];
  const rows = METRICS.map((m) => [
    m.label,
    m.unit,
    ...measured.map((t) => cell(samples.get(t)?.get(m.key), m.unit)),
    m.moosefs === undefined ? '—' : formatNumber(m.moosefs, m.unit),
  ]);
  rows.push([
    '`cp -r` round trip identical (`diff -r`)',
    '',
    ...measured.map((t) => (identical.has(t) ? (identical.get(t) ? 'yes' : '**NO**') : '—')),
    'yes',
  ]);
  out.push(table(header, rows));

  for (const t of measured.filter((x) => x.startsWith('dfs'))) {
    out.push('');
    out.push(`#### ${TARGET_LABELS[t]} against the ceilings of this run and MooseFS`);
    out.push('');
    out.push('Ratios are speeds (for durations too): 0.50× = half as fast as the reference.');
    out.push('');
    const dfsRows = METRICS.map((m) => {
      const x = med(samples, t, m.key);
      // MooseFS was measured at full sizes: --quick/--dry figures are not comparable with it.
      const beats =
        info.mode !== 'full'
          ? `n/a (${info.mode} sizes)`
          : x === undefined || m.moosefs === undefined
            ? '—'
            : speedRatio(m, x, m.moosefs) >= 1
              ? 'yes'
              : 'no';
      return [
        m.label,
        x === undefined ? '—' : `${formatNumber(x, m.unit)} ${m.unit}`,
        ratioCell(m, x, med(samples, 'local', m.key)),
        ratioCell(m, x, med(samples, 'memfs', m.key)),
        m.moosefs === undefined
          ? '—'
          : `${formatNumber(m.moosefs, m.unit)}${info.mode === 'full' ? ` (${ratioCell(m, x, m.moosefs)})` : ''}`,
        beats,
      ];
    });
    out.push(
      table(
        ['workload', TARGET_LABELS[t], '÷ local disk', '÷ memfs', 'MooseFS earlier (dfs ÷ it)', 'beats MooseFS'],
        dfsRows,
      ),
    );
    if (t === 'dfs2') out.push('', goals(samples));
  }
  const client = clientLibrarySection(samples, measured);
  if (client) out.push(client);
  out.push('');
  out.push(`Earlier on this machine (issue 6, not this run): ${EARLIER_CEILINGS}.`);
  return out.join('\n');
}

/** The client library without FUSE (figures named by client-bench.ts), beside the FUSE figures above. */
function clientLibrarySection(samples: Samples, measured: TargetId[]): string {
  const dfs = measured.filter((t) => t.startsWith('dfs'));
  const keys = [...new Set(dfs.flatMap((t) => [...(samples.get(t)?.keys() ?? [])]))].filter((k) =>
    k.startsWith('client.'),
  );
  if (!keys.length) return '';
  const rows = keys.map((k) => [k.slice('client.'.length), ...dfs.map((t) => cell(samples.get(t)?.get(k), ''))]);
  return `\n#### The client library without FUSE (client-bench)\n\n${table(['figure', ...dfs.map((t) => TARGET_LABELS[t])], rows)}`;
}

/** The issue's targets for dfs at replication 2, checked against this run's ceilings. */
function goals(samples: Samples): string {
  const m = (key: string): Metric => METRICS.find((x) => x.key === key)!;
  const rows: string[][] = [];
  const goal = (what: string, key: string, needed: number | undefined): void => {
    const x = med(samples, 'dfs2', key);
    const need = needed === undefined ? '— (ceiling not measured)' : `≥ ${formatNumber(needed)} ${m(key).unit}`;
    const met = x === undefined || needed === undefined ? '—' : x >= needed ? 'yes' : 'no';
    rows.push([what, need, x === undefined ? '—' : `${formatNumber(x)} ${m(key).unit}`, met]);
  };
  const local = med(samples, 'local', 'seqWrite');
  goal('seq write ≥ 90% of local disk ÷ 2', 'seqWrite', local === undefined ? undefined : (0.9 * local) / 2);
  const half = (key: string): number | undefined => {
    const c = med(samples, 'memfs', key);
    return c === undefined ? undefined : c / 2;
  };
  goal('seq read ≥ 50% of memfs', 'seqRead', half('seqRead'));
  goal('creates ≥ 50% of memfs', 'create', half('create'));
  goal('stats ≥ 50% of memfs', 'stat', half('stat'));
  goal('renames ≥ 50% of memfs', 'rename', half('rename'));
  return `Issue 6 targets for dfs r=2:\n\n${table(['goal', 'needed', 'dfs r=2', 'met'], rows)}`;
}

const START = '<!-- bench:results:start (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

/** Replaces the results section of `file` (creating the file from a template when missing). */
export async function writeReport(file: string, body: string, template: string): Promise<void> {
  const section = `${START}\n${body}\n${END}`;
  let text = existsSync(file) ? await fsp.readFile(file, 'utf8') : template;
  const a = text.indexOf(START.slice(0, 30));
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + END.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  await fsp.writeFile(file, text);
}
