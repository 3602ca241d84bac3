import type { Writable } from 'node:stream';

/**
 * Resolves once `stream` can take more data (or is finished/cancelled, so a
 * sender waiting on it never hangs). Respecting this is what keeps memory
 * bounded when the other side reads slower than we produce.
 */
export function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('finish', done);
      stream.off('error', done);
      stream.off('cancelled', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('finish', done);
    stream.on('error', done);
    stream.on('cancelled', done);
  });
}
