import { allocWithHeadroom, FRAME_HEADER_BYTES, markHeadroom } from './headroom';

/**
 * Hand-encoded data messages for the data path. protobufjs would first need
 * the pieces concatenated into one buffer, then copy that buffer into its
 * output, then grpc-js would copy the output into a framed buffer: three
 * copies of every byte. Here the pieces go straight into one buffer that
 * grpc-js frames in place (headroom.ts): one copy.
 *
 * The encodings are plain protobuf (field numbers from datanode.proto), so
 * the receiver decodes them with the generated code as usual.
 */

/** A data message of WriteChunk: its bytes in pieces, and optionally where in the chunk they go. */
export interface DataParts {
  parts: Buffer[];
  /** Total bytes in `parts`. */
  length: number;
  /** WriteChunkRequest.offset, when the message names its own chunk offset. */
  offset?: number;
}

export function isDataParts(m: unknown): m is DataParts {
  return typeof m === 'object' && m !== null && Array.isArray((m as DataParts).parts);
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 128) {
    buf[at++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[at++] = n;
  return at;
}

const WRITE_DATA_TAG = (2 << 3) | 2; // WriteChunkRequest.data: field 2, length-delimited
const WRITE_OFFSET_TAG = (4 << 3) | 0; // WriteChunkRequest.offset: field 4, varint

/** Encodes a WriteChunkRequest carrying only `data` (and `offset`). */
export function encodeWriteData(m: DataParts): Buffer {
  const size = 1 + varintSize(m.length) + m.length + (m.offset === undefined ? 0 : 1 + varintSize(m.offset));
  const out = allocWithHeadroom(size);
  let at = 0;
  out[at++] = WRITE_DATA_TAG;
  at = writeVarint(out, at, m.length);
  for (const p of m.parts) {
    p.copy(out, at);
    at += p.length;
  }
  if (m.offset !== undefined) {
    out[at++] = WRITE_OFFSET_TAG;
    at = writeVarint(out, at, m.offset);
  }
  return out;
}

/** Splits `parts` into groups of at most `max` bytes (each group one message), slicing, never copying. */
export function groupParts(parts: readonly Buffer[], max: number): DataParts[] {
  const out: DataParts[] = [];
  let group: Buffer[] = [];
  let length = 0;
  const flush = () => {
    if (length > 0) out.push({ parts: group, length });
    group = [];
    length = 0;
  };
  for (const part of parts) {
    let p = part;
    while (p.length > 0) {
      const take = Math.min(max - length, p.length);
      group.push(take === p.length ? p : p.subarray(0, take));
      length += take;
      p = p.subarray(take);
      if (length === max) flush();
    }
  }
  flush();
  return out;
}

/**
 * Room a read buffer keeps in front of its data for the ReadChunkReply fields
 * that precede it on the wire (offset, crcs, chunk size, the data tag and
 * length) plus the frame header: the data node reads from disk straight into
 * the buffer it sends.
 */
export const READ_REPLY_RESERVE = 160;

/**
 * The largest read sent as one ReadSmall message on a data node session; larger
 * ones are ReadChunk streams, so they never queue behind each other on one stream.
 */
export const SMALL_READ_BYTES = 256 * 1024;
/** The largest write sent as one WriteSmall message on a data node session (a small file's whole content). */
export const SMALL_WRITE_BYTES = 256 * 1024;

/** A buffer to read `length` bytes of chunk data into, leaving READ_REPLY_RESERVE in front. */
export function allocReadBuffer(length: number): Buffer {
  return Buffer.allocUnsafe(READ_REPLY_RESERVE + length).subarray(READ_REPLY_RESERVE);
}

function writeField(out: Buffer, at: number, tag: number, n: number): number {
  out[at++] = tag;
  return writeVarint(out, at, n);
}

const READ_OFFSET_TAG = (1 << 3) | 0; // ReadChunkReply.offset: field 1, varint
const READ_DATA_TAG = (2 << 3) | 2; // ReadChunkReply.data: field 2, bytes
const READ_CRCS_TAG = (3 << 3) | 2; // ReadChunkReply.crcs: field 3, packed uint32
const READ_SIZE_TAG = (4 << 3) | 0; // ReadChunkReply.chunk_size: field 4, varint

/**
 * Encodes a ReadChunkReply around `data`: when `data` came from
 * allocReadBuffer the other fields are written into the room in front of it
 * and nothing is copied; otherwise into a new buffer.
 */
export function encodeReadReply(r: {
  offset: number;
  data: Buffer;
  crcs: readonly number[];
  chunkSize: number;
}): Buffer {
  const head = Buffer.allocUnsafe(READ_REPLY_RESERVE);
  let at = writeField(head, 0, READ_OFFSET_TAG, r.offset);
  if (r.crcs.length > 0) {
    let packed = 0;
    for (const c of r.crcs) packed += varintSize(c >>> 0);
    at = writeField(head, at, READ_CRCS_TAG, packed);
    for (const c of r.crcs) at = writeVarint(head, at, c >>> 0);
  }
  at = writeField(head, at, READ_SIZE_TAG, r.chunkSize);
  at = writeField(head, at, READ_DATA_TAG, r.data.length);
  if (at + FRAME_HEADER_BYTES > READ_REPLY_RESERVE) throw new Error('read reply header larger than its reserve');
  const room = r.data.byteOffset;
  const ownsRoom = room >= READ_REPLY_RESERVE && r.data.buffer.byteLength === room + r.data.length;
  if (ownsRoom) {
    const start = room - at;
    head.copy(Buffer.from(r.data.buffer, start, at), 0, 0, at);
    return markHeadroom(Buffer.from(r.data.buffer, start, at + r.data.length));
  }
  const out = allocWithHeadroom(at + r.data.length);
  head.copy(out, 0, 0, at);
  r.data.copy(out, at);
  return out;
}
