import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeFrames } from '../../src/namenode/framing';
import { INLINE_WRITE_BYTES, Journal, PREALLOCATE_BYTES } from '../../src/namenode/journal';
import type { MetaRecord } from '../../src/namenode/records';
import { blockThreadPool, settlesWithin } from '../helpers/thread-pool';

const log = pino({ level: 'silent' });
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dfs-journal-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const rec = (i: number): MetaRecord => ({ op: 'setattr', ino: 1, mode: i, now: i });

async function writeRecords(n: number): Promise<string> {
  const { journal } = await Journal.open(dir, 0, log);
  await Promise.all(Array.from({ length: n }, (_, i) => journal.append(rec(i + 1))));
  await journal.close();
  const [segment] = fs.readdirSync(dir);
  return path.join(dir, segment);
}

/** Where a segment's records end (the zeros written ahead of them follow). */
function recordsEnd(file: string): number {
  return decodeFrames(fs.readFileSync(file), 1 << 24, true).validBytes;
}

/** The open flags of this process's descriptors for `file` (from /proc/self/fdinfo). */
function openFlagsOf(file: string): number[] {
  const flags: number[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) !== file) continue;
      flags.push(parseInt(/^flags:\s+([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8));
    } catch {
      // The descriptor readdir itself used, closed by now.
    }
  }
  return flags;
}

/** A logger that keeps what it warns about. */
function recordingLog(): { log: pino.Logger; messages: string[] } {
  const messages: string[] = [];
  const stream = { write: (line: string) => void messages.push((JSON.parse(line) as { msg: string }).msg) };
  return { log: pino({ level: 'warn' }, stream), messages };
}

async function recover(): Promise<number[]> {
  const { journal, entries } = await Journal.open(dir, 0, log);
  await journal.close();
  return entries.map((e) => e.seq);
}

describe('journal', () => {
  it('replays every appended record in order', async () => {
    await writeRecords(50);
    expect(await recover()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('resolves an append only once its record is in the file', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(1));
    expect(journal.commits).toBe(1);
    const [segment] = fs.readdirSync(dir);
    expect(recordsEnd(path.join(dir, segment))).toBeGreaterThan(8);
    await journal.close();
  });

  it('writes segments with O_DSYNC, so each write is durable when it returns (no separate fdatasync)', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(1));
    const first = openFlagsOf(path.join(dir, '0000000000000001.log'));
    expect(first).toHaveLength(1);
    expect(first[0] & fs.constants.O_DSYNC).toBe(fs.constants.O_DSYNC);
    journal.roll();
    await journal.append(rec(2));
    const rolled = openFlagsOf(path.join(dir, '0000000000000002.log'));
    expect(rolled).toHaveLength(1);
    expect(rolled[0] & fs.constants.O_DSYNC).toBe(fs.constants.O_DSYNC);
    await journal.close();
  });

  it('writes zeros ahead of the records, and grows that space as records fill it', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(1));
    const segment = path.join(dir, fs.readdirSync(dir)[0]);
    expect(fs.statSync(segment).size).toBe(PREALLOCATE_BYTES);
    // ~450 bytes a record: 3,000 of them need more than the first step.
    const big: MetaRecord = { op: 'link', ino: 2, parent: 1, name: 'x'.repeat(400), now: 1 };
    for (let i = 0; i < 30; i++) await Promise.all(Array.from({ length: 100 }, () => journal.append(big)));
    await journal.close();
    const end = recordsEnd(segment);
    expect(end).toBeGreaterThan(PREALLOCATE_BYTES);
    expect(fs.statSync(segment).size % PREALLOCATE_BYTES).toBe(0);
    expect(fs.statSync(segment).size).toBeGreaterThan(end);
    const { messages, log: warnLog } = recordingLog();
    const again = await Journal.open(dir, 0, warnLog);
    expect(again.entries).toHaveLength(3001);
    await again.journal.close();
    expect(messages).toEqual([]);
  });

  it('takes the zeros after a rolled segment for its end, not for damage: later segments are replayed', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(1));
    await journal.append(rec(2));
    journal.roll();
    await journal.append(rec(3));
    await journal.close();
    const { messages, log: warnLog } = recordingLog();
    const again = await Journal.open(dir, 0, warnLog);
    expect(again.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    await again.journal.append(rec(4));
    await again.journal.close();
    expect(messages).toEqual([]);
    expect(fs.readdirSync(dir).sort()).toEqual(['0000000000000001.log', '0000000000000003.log']);
    expect(await recover()).toEqual([1, 2, 3, 4]);
  });

  it('clears what a torn write left beyond the zeros, so records appended later are not followed by it', async () => {
    const file = await writeRecords(5);
    const end = recordsEnd(file);
    // A crash tore a batch: its first sector never reached the disk, a later one did.
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('later half of a torn batch'), 0, 26, end + 4096);
    fs.closeSync(fd);
    const { messages, log: warnLog } = recordingLog();
    const again = await Journal.open(dir, 0, warnLog);
    expect(again.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(messages).toHaveLength(1);
    await Promise.all([6, 7, 8].map((i) => again.journal.append(rec(i))));
    await again.journal.close();
    const { messages: later, log: laterLog } = recordingLog();
    const third = await Journal.open(dir, 0, laterLog);
    expect(third.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await third.journal.close();
    expect(later).toEqual([]);
  });

  it('writes the records of one turn of the event loop with one durable write, and drain waits for them', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    // A create that also prepares its first chunk appends two records back to back.
    const both = Promise.all([journal.append(rec(1)), journal.append(rec(2))]);
    await journal.drain();
    expect(journal.commits).toBe(1);
    await both;
    // Appended, not awaited: drain still waits for it (a checkpoint relies on that).
    void journal.append(rec(3));
    await journal.drain();
    expect(journal.commits).toBe(2);
    await journal.close();
    expect(await recover()).toEqual([1, 2, 3]);
  });

  it('shares one write between records that arrive while another is written (group commit)', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await Promise.all(Array.from({ length: 500 }, (_, i) => journal.append(rec(i))));
    expect(journal.commits).toBeLessThan(50);
    await journal.close();
  });

  it('makes a small batch durable on the event loop, without waiting for a thread of the pool', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(1)); // the first write also writes the zeros ahead, through the pool
    const release = await blockThreadPool(dir);
    try {
      expect(await settlesWithin(journal.append(rec(2)), 2000)).toBe(true);
      expect(await settlesWithin(Promise.all([journal.append(rec(3)), journal.append(rec(4))]), 2000)).toBe(true);
    } finally {
      await release();
    }
    await journal.close();
    expect(await recover()).toEqual([1, 2, 3, 4]);
  });

  it('writes through the thread pool for a while after a slow inline write, and a large batch always', async () => {
    /** Appends `r` while the pool is busy: it must not be durable before the pool is free. */
    async function waitsForThePool(journal: Journal, r: MetaRecord): Promise<void> {
      const release = await blockThreadPool(dir);
      let pending: Promise<void> | undefined;
      try {
        pending = journal.append(r);
        expect(await settlesWithin(pending, 300)).toBe(false);
      } finally {
        await release();
      }
      await pending;
    }
    // Every inline write counts as slow: the one after it must wait for the pool.
    const slow = await Journal.open(dir, 0, log, { slowInlineWriteMs: 0 });
    await slow.journal.append(rec(1));
    await slow.journal.append(rec(2));
    await waitsForThePool(slow.journal, rec(3));
    await slow.journal.close();

    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(4));
    await waitsForThePool(journal, { op: 'link', ino: 2, parent: 1, name: 'x'.repeat(INLINE_WRITE_BYTES), now: 1 });
    await journal.close();
    expect(await recover()).toEqual([1, 2, 3, 4, 5]);
  });

  it('drops a torn last record (crash mid-write), truncates it, and keeps appending after it', async () => {
    const file = await writeRecords(10);
    fs.truncateSync(file, recordsEnd(file) - 3);
    expect(await recover()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(10));
    await journal.close();
    expect(await recover()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('drops a record whose checksum does not match, and everything after it', async () => {
    const file = await writeRecords(9);
    const buf = fs.readFileSync(file);
    const recordBytes = recordsEnd(file) / 9; // single-digit sequence numbers and values: equal-sized records
    buf[Math.floor(recordBytes * 7 + recordBytes / 2)] ^= 0xff; // flip a byte inside record 8
    fs.writeFileSync(file, buf);
    expect(await recover()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(fs.statSync(file).size).toBe(recordBytes * 7);
  });

  it('survives garbage appended after the last record and a journal of pure garbage', async () => {
    const file = await writeRecords(3);
    fs.truncateSync(file, recordsEnd(file));
    fs.appendFileSync(file, Buffer.from('garbage that is not a frame at all, with a huge length'));
    expect(await recover()).toEqual([1, 2, 3]);
    fs.writeFileSync(file, Buffer.alloc(4096, 0xab));
    expect(await recover()).toEqual([]);
  });

  it('skips records a checkpoint already holds and continues numbering after them', async () => {
    await writeRecords(5);
    const { journal, entries } = await Journal.open(dir, 3, log);
    expect(entries.map((e) => e.seq)).toEqual([4, 5]);
    expect(journal.seq).toBe(5);
    await journal.close();
  });

  it('rolls to a new segment and prunes the old one once a checkpoint covers it', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(1));
    await journal.append(rec(2));
    journal.roll();
    await journal.append(rec(3));
    await journal.prune(2);
    await journal.close();
    expect(fs.readdirSync(dir)).toEqual(['0000000000000003.log']);
    const again = await Journal.open(dir, 2, log);
    expect(again.entries.map((e) => e.seq)).toEqual([3]);
    await again.journal.close();
  });

  it('keeps appending when a nearly full disk has no room for the zeros ahead, until the records themselves do not fit', async () => {
    // A 1.5 MiB file system: the first 1 MiB of zeros fits, the second step does not.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1536k', 'tmpfs', dir]);
    try {
      const { log: warnLog, messages } = recordingLog();
      const { journal } = await Journal.open(dir, 0, warnLog);
      const big: MetaRecord = { op: 'link', ino: 2, parent: 1, name: 'x'.repeat(400), now: 1 };
      let acknowledged = 0;
      let failure: unknown;
      while (failure === undefined && acknowledged < 10_000) {
        await journal.append(big).then(
          () => acknowledged++,
          (err: unknown) => (failure = err),
        );
      }
      expect(failure).toMatchObject({ errno: 'EIO' });
      expect(messages.filter((m) => m.includes('zeros ahead'))).toHaveLength(1);
      // Past the first step of zeros: the records went on without a second one.
      const recordBytes = 8 + Buffer.byteLength(JSON.stringify({ s: 1, r: big }));
      expect(acknowledged * recordBytes).toBeGreaterThan(1.25 * PREALLOCATE_BYTES);
      await journal.close();
      const again = await Journal.open(dir, 0, log);
      expect(again.entries).toHaveLength(acknowledged);
      await again.journal.close();
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });
});
