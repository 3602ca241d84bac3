import fs from 'node:fs/promises';
import path from 'node:path';
import { DfsError } from '../rpc/errors';
import { decodeFrames, encodeFrame } from './framing';
import { fsyncDir } from './fsync-dir';
import { MetaState, type StateSnapshot } from './meta-state';

export const CHECKPOINT_FILE = 'checkpoint';

interface CheckpointPayload {
  /** The last journal record this snapshot contains. */
  seq: number;
  createdMs: number;
  state: StateSnapshot;
}

/**
 * Serializes the whole state now (synchronously, so it is consistent with
 * journal record `seq`); the returned buffer is written later by `writeCheckpoint`.
 */
export function encodeCheckpoint(state: MetaState, seq: number): Buffer {
  const payload: CheckpointPayload = { seq, createdMs: Date.now(), state: state.snapshot() };
  return encodeFrame(Buffer.from(JSON.stringify(payload)));
}

/** Temp file, fsync, rename over the old one, fsync the directory: a crash leaves the old or the new, whole. */
export async function writeCheckpoint(dataDir: string, frame: Buffer): Promise<void> {
  const tmp = path.join(dataDir, `${CHECKPOINT_FILE}.tmp`);
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(frame);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path.join(dataDir, CHECKPOINT_FILE));
  await fsyncDir(dataDir);
}

/** The checkpoint, or undefined on a fresh data dir. A damaged one is an error: the journal before it is gone. */
export async function readCheckpoint(dataDir: string): Promise<{ seq: number; state: MetaState } | undefined> {
  const file = path.join(dataDir, CHECKPOINT_FILE);
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const decoded = decodeFrames(buf, 0xffffffff);
  if (decoded.payloads.length !== 1 || decoded.validBytes !== buf.length) {
    throw new DfsError('EIO', `checkpoint ${file} is damaged (${decoded.problem ?? 'trailing bytes'})`);
  }
  const payload = JSON.parse(decoded.payloads[0].toString('utf8')) as CheckpointPayload;
  return { seq: payload.seq, state: MetaState.restore(payload.state) };
}
