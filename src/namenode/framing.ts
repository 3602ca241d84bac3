import { crc32c } from '@node-rs/crc32';

/** Record framing shared by the journal and the checkpoint: `u32 length | u32 crc32c(payload) | payload`. */
export const FRAME_HEADER_BYTES = 8;

export function encodeFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32c(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface DecodedFrames {
  payloads: Buffer[];
  /** Bytes from the start that hold whole, intact frames. */
  validBytes: number;
  /** Why decoding stopped before the end, if it did. */
  problem?: string;
}

/**
 * Decodes frames until the end or the first torn (short) or corrupt (bad
 * checksum / absurd length) one. With `zerosEnd`, an all-zero header (which
 * no real frame has: payloads are never empty), or a shorter all-zero rest,
 * ends the frames without a problem: the space after them was written with
 * zeros ahead of use.
 */
export function decodeFrames(buf: Buffer, maxPayloadBytes: number, zerosEnd = false): DecodedFrames {
  const payloads: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (zerosEnd && isZero(buf.subarray(pos, pos + FRAME_HEADER_BYTES))) return { payloads, validBytes: pos };
    if (buf.length - pos < FRAME_HEADER_BYTES) return { payloads, validBytes: pos, problem: 'torn frame header' };
    const len = buf.readUInt32LE(pos);
    const crc = buf.readUInt32LE(pos + 4);
    if (len > maxPayloadBytes) return { payloads, validBytes: pos, problem: `implausible frame length ${len}` };
    const end = pos + FRAME_HEADER_BYTES + len;
    if (end > buf.length) return { payloads, validBytes: pos, problem: 'torn frame payload' };
    const payload = buf.subarray(pos + FRAME_HEADER_BYTES, end);
    if (crc32c(payload) !== crc) return { payloads, validBytes: pos, problem: 'checksum mismatch' };
    payloads.push(payload);
    pos = end;
  }
  return { payloads, validBytes: pos };
}

/** True when every byte of `buf` is zero. */
export function isZero(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}
