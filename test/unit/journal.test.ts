import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/namenode/journal';
import type { MetaRecord } from '../../src/namenode/records';

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

  it("resolves an append only once its record is written and fsync'd", async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(1));
    expect(journal.fsyncs).toBe(1);
    const [segment] = fs.readdirSync(dir);
    expect(fs.statSync(path.join(dir, segment)).size).toBeGreaterThan(8);
    await journal.close();
  });

  it('writes the records of one turn of the event loop with one fsync, and drain waits for them', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    // A create that also prepares its first chunk appends two records back to back.
    const both = Promise.all([journal.append(rec(1)), journal.append(rec(2))]);
    await journal.drain();
    expect(journal.fsyncs).toBe(1);
    await both;
    // Appended, not awaited: drain still waits for it (a checkpoint relies on that).
    void journal.append(rec(3));
    await journal.drain();
    expect(journal.fsyncs).toBe(2);
    await journal.close();
    expect(await recover()).toEqual([1, 2, 3]);
  });

  it('shares one fsync between records that arrive while another fsync runs (group commit)', async () => {
    const { journal } = await Journal.open(dir, 0, log);
    await Promise.all(Array.from({ length: 500 }, (_, i) => journal.append(rec(i))));
    expect(journal.fsyncs).toBeLessThan(50);
    await journal.close();
  });

  it('drops a torn last record (crash mid-write), truncates it, and keeps appending after it', async () => {
    const file = await writeRecords(10);
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 3);
    expect(await recover()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { journal } = await Journal.open(dir, 0, log);
    await journal.append(rec(10));
    await journal.close();
    expect(await recover()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('drops a record whose checksum does not match, and everything after it', async () => {
    const file = await writeRecords(9);
    const buf = fs.readFileSync(file);
    const recordBytes = buf.length / 9; // single-digit sequence numbers and values: equal-sized records
    buf[Math.floor(recordBytes * 7 + recordBytes / 2)] ^= 0xff; // flip a byte inside record 8
    fs.writeFileSync(file, buf);
    expect(await recover()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(fs.statSync(file).size).toBe(recordBytes * 7);
  });

  it('survives garbage appended after the last record and a journal of pure garbage', async () => {
    const file = await writeRecords(3);
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
});
