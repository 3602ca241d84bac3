/**
 * grpc-js frames every message (1 flag byte + 4 length bytes) by copying it
 * into a new buffer. Our grpc-js patch (patches/@grpc+grpc-js+*.patch) frames
 * in place instead when a serializer leaves 5 spare bytes in front of the
 * message and marks it: on the data path that is one copy and one megabyte
 * allocation less per message, on every hop.
 */
const HEADROOM = Symbol.for('dfs.grpc.headroom');
export const FRAME_HEADER_BYTES = 5;

type Marked = Buffer & { [HEADROOM]?: true };

/** `buf`, marked as having FRAME_HEADER_BYTES of its own memory free in front of it. */
export function markHeadroom(buf: Buffer): Buffer {
  if (buf.byteOffset >= FRAME_HEADER_BYTES) (buf as Marked)[HEADROOM] = true;
  return buf;
}

/** An uninitialized buffer of `length` bytes with room for the frame header in front. */
export function allocWithHeadroom(length: number): Buffer {
  return markHeadroom(Buffer.allocUnsafe(length + FRAME_HEADER_BYTES).subarray(FRAME_HEADER_BYTES));
}
