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
 */
const DATA_PATH = ['--single-threaded-gc'] as const;

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
