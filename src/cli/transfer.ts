import cliProgress from 'cli-progress';
import { formatBytes } from '../common/units';

/**
 * Moves bytes from a positional source to a positional sink in fixed-size
 * pieces: constant memory for a file of any size, with a little read-ahead and
 * write-behind so the network and the disk work at the same time.
 */

/** Bytes per piece: big enough to keep a replication pipeline busy, small enough to stay cheap. */
export const PIECE_BYTES = 8 * 1024 * 1024;
/** Reads started ahead of the one being written, and writes left in flight. */
const READS_AHEAD = 2;
const WRITES_IN_FLIGHT = 2;

export type ReadAt = (position: number, length: number) => Promise<Buffer>;
export type WriteAt = (position: number, data: Buffer) => Promise<void>;

export interface Progress {
  add(bytes: number): void;
  stop(): void;
}

/**
 * Copies until the source returns a short piece (end of file). `sizeHint` only
 * bounds the read-ahead; a source that grows meanwhile is still read to its end.
 * Resolves with the number of bytes copied, after every write has finished.
 */
export async function pump(read: ReadAt, write: WriteAt, sizeHint: number, progress?: Progress): Promise<number> {
  const reads: Promise<Buffer>[] = [];
  const writes: Promise<void>[] = [];
  let nextRead = 0;
  const startRead = (): void => {
    const p = read(nextRead, PIECE_BYTES);
    // Awaited in order below; this only keeps an early rejection from being "unhandled".
    p.catch(() => undefined);
    reads.push(p);
    nextRead += PIECE_BYTES;
  };
  let position = 0;
  try {
    for (;;) {
      if (reads.length === 0) startRead();
      while (reads.length < READS_AHEAD && nextRead < sizeHint) startRead();
      const piece = await reads.shift()!;
      if (piece.length > 0) {
        const at = position;
        const w = write(at, piece).then(() => progress?.add(piece.length));
        w.catch(() => undefined);
        writes.push(w);
        position += piece.length;
        if (writes.length >= WRITES_IN_FLIGHT) await writes.shift();
      }
      if (piece.length < PIECE_BYTES) break;
    }
    await Promise.all(writes);
  } finally {
    // Let stray reads settle so nothing touches a handle after the caller closes it.
    await Promise.allSettled([...reads, ...writes]);
  }
  return position;
}

/**
 * A progress bar with throughput, drawn on stderr only when a person is
 * watching (`enabled`), and a no-op otherwise so scripts see nothing extra.
 */
export function progressBar(label: string, total: number, enabled: boolean): Progress {
  if (!enabled) return { add: () => undefined, stop: () => undefined };
  const started = Date.now();
  let done = 0;
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {bar} {percentage}% | {done} / {size} | {speed} | ETA {eta_formatted}`,
      hideCursor: true,
      barsize: 30,
      etaBuffer: 20,
      fps: 10,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = (): Record<string, string> => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    return { done: formatBytes(done), size: formatBytes(total), speed: `${formatBytes(done / seconds)}/s` };
  };
  bar.start(Math.max(total, 1), 0, payload());
  return {
    add(bytes: number) {
      done += bytes;
      bar.update(Math.min(done, Math.max(total, 1)), payload());
    },
    stop() {
      // An empty file never calls add(): show it complete rather than at 0%.
      if (done >= total) bar.update(Math.max(total, 1), payload());
      bar.stop();
    },
  };
}
