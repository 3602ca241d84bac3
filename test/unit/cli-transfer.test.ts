import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PIECE_BYTES, pump } from '../../src/cli/transfer';

function memorySource(data: Buffer) {
  return async (pos: number, len: number): Promise<Buffer> => data.subarray(pos, Math.min(pos + len, data.length));
}

describe('pump (streaming copy used by file_write, file_read and file_copy)', () => {
  it('copies every byte, in place, for sizes around piece boundaries', async () => {
    for (const size of [0, 1, PIECE_BYTES - 1, PIECE_BYTES, PIECE_BYTES + 1, 3 * PIECE_BYTES + 17]) {
      const data = randomBytes(size);
      const out = Buffer.alloc(size);
      let progressed = 0;
      const n = await pump(memorySource(data), async (pos, piece) => void piece.copy(out, pos), size, {
        add: (b) => (progressed += b),
        stop: () => undefined,
      });
      expect(n).toBe(size);
      expect(progressed).toBe(size);
      expect(createHash('sha256').update(out).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('keeps only a bounded number of pieces in flight (constant memory)', async () => {
    const size = 20 * PIECE_BYTES;
    let reading = 0;
    let writing = 0;
    let maxInFlight = 0;
    await pump(
      async (pos, len) => {
        reading++;
        maxInFlight = Math.max(maxInFlight, reading + writing);
        await new Promise((r) => setTimeout(r, 1));
        reading--;
        return Buffer.alloc(Math.min(len, size - pos));
      },
      async () => {
        writing++;
        maxInFlight = Math.max(maxInFlight, reading + writing);
        await new Promise((r) => setTimeout(r, 2));
        writing--;
      },
      size,
    );
    expect(maxInFlight).toBeLessThanOrEqual(4);
  });

  it('reads past the size hint until the source ends (a file that grew meanwhile)', async () => {
    const data = randomBytes(2 * PIECE_BYTES + 5);
    const chunks: number[] = [];
    const n = await pump(memorySource(data), async (_pos, piece) => void chunks.push(piece.length), 10);
    expect(n).toBe(data.length);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(data.length);
  });

  it('rejects with the first failure and leaves nothing running', async () => {
    let writesAfterFailure = 0;
    let failed = false;
    await expect(
      pump(
        async (pos, len) => {
          if (pos >= 2 * PIECE_BYTES) {
            failed = true;
            throw new Error('disk gone');
          }
          return Buffer.alloc(len);
        },
        async () => {
          if (failed) writesAfterFailure++;
        },
        10 * PIECE_BYTES,
      ),
    ).rejects.toThrow('disk gone');
    expect(writesAfterFailure).toBeLessThanOrEqual(1);
  });
});
