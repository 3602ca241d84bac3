/**
 * The Node.js flags each dfs program runs with, by entry script (relative to
 * dist/). Whoever starts one (the bins' `#!` lines, the local cluster, the
 * benchmark, the test helpers, the Docker entrypoint) passes these.
 *
 * Data nodes and mounts push every byte of file data through short-lived
 * Buffers (grpc-js messages, write slabs, read units), and each megabyte of
 * them makes V8 collect garbage. By default it marks and sweeps on helper
 * threads too; with two cores those threads take CPU from the data path (a
 * mount's four helper threads used 1.4 s of CPU for a 512 MiB read, its main
 * thread 0.8 s). With `--single-threaded-gc` the main thread does it alone,
 * at less CPU in all: on a 1 + 3 node cluster on this 2-core VM, runs
 * interleaved, a 512 MiB write through the mount went from 55-68 to 71-90
 * MB/s and a cold read from 137-185 to 192-220 MB/s, the data nodes' CPU
 * fell by 15-25% (write) and 30-45% (read). Their heaps stay small, so the
 * pauses do too. The name node keeps V8's default: its heap grows with the
 * namespace, where parallel marking keeps pauses short, and small-file
 * creates measured the same either way.
 *
 * Those Buffers live outside V8's heap, but V8 starts a full collection
 * whenever their total grows past a limit it derives from the heap's size,
 * and these heaps are small (10-15 MB): a 512 MiB read through the mount
 * made 22-25 mark-compacts. `--initial-old-space-size=256` lifts that limit
 * (the heap itself stays as small, the memory is only allowed): 8-10
 * mark-compacts, the mount's CPU for the read 3.32-3.54 -> 2.82-3.10 s and
 * for a 512 MiB write 2.87-3.40 -> 2.47-2.75 s, the data nodes' CPU for a
 * cold read 0.77-1.20 -> 0.69-1.10 s (4 runs each, interleaved). Peak RSS of
 * the mount rose by 20-40 MB.
 */
const DATA_PATH = ['--single-threaded-gc', '--initial-old-space-size=256'] as const;

const FLAGS: Readonly<Record<string, readonly string[]>> = {
  'datanode/main.js': DATA_PATH,
  'mount/main.js': DATA_PATH,
  // The benchmark's FUSE ceiling runs as the mount does, or the ratios to it would be off.
  'bench/memfs.js': DATA_PATH,
};

/** Flags to put before `script` (a path ending in e.g. `datanode/main.js`) on node's command line. */
export function nodeFlags(script: string): string[] {
  const key = Object.keys(FLAGS).find((k) => script === k || script.endsWith(`/${k}`));
  return key ? [...FLAGS[key]] : [];
}
