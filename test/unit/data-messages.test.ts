import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blockCrcs } from '../../src/rpc/checksum';
import {
  allocReadBuffer,
  encodeReadReply,
  encodeWriteData,
  groupParts,
  READ_REPLY_RESERVE,
} from '../../src/rpc/data-messages';
import { allocWithHeadroom, FRAME_HEADER_BYTES, markHeadroom } from '../../src/rpc/headroom';
import { dataNodeService } from '../../src/rpc/load';

/**
 * The hand-encoded data path messages (src/rpc/data-messages.ts) must decode
 * with the generated protobuf code exactly as protobufjs's own encoding would,
 * and must leave the room in front that grpc-js frames them in.
 */

const svc = dataNodeService().DataNode.service;
const decodeWrite = (b: Buffer) => svc.WriteChunk.requestDeserialize(b);
const decodeRead = (b: Buffer) => svc.ReadChunk.responseDeserialize(b);
const HEADROOM = Symbol.for('dfs.grpc.headroom');

describe('data path messages', () => {
  it('encodes WriteChunk data from pieces, with and without an offset, as protobuf does', () => {
    const parts = [randomBytes(300), randomBytes(70_000), randomBytes(5)];
    const joined = Buffer.concat(parts);
    const plain = encodeWriteData({ parts, length: joined.length });
    expect(decodeWrite(plain).data.equals(joined)).toBe(true);
    expect(decodeWrite(plain).offset).toBeUndefined();
    for (const offset of [0, 1, 127, 128, 16_383, 2 ** 32 + 5, 4 * 1024 ** 3]) {
      const m = decodeWrite(encodeWriteData({ parts, length: joined.length, offset }));
      expect(m.data.equals(joined)).toBe(true);
      expect(m.offset).toBe(String(offset));
    }
    // Byte for byte what the generated encoder makes.
    const ref = svc.WriteChunk.requestSerialize({ data: joined, offset: '12345' });
    expect(encodeWriteData({ parts, length: joined.length, offset: 12345 }).equals(ref)).toBe(true);
  });

  it('leaves 5 spare bytes in front of every encoded message for the frame header', () => {
    const m = encodeWriteData({ parts: [Buffer.from('abc')], length: 3 });
    expect((m as unknown as Record<symbol, boolean>)[HEADROOM]).toBe(true);
    expect(m.byteOffset).toBeGreaterThanOrEqual(FRAME_HEADER_BYTES);
    expect(allocWithHeadroom(10).byteOffset).toBeGreaterThanOrEqual(FRAME_HEADER_BYTES);
    // A buffer at the start of its memory has no room: never marked.
    const own = Buffer.from(new ArrayBuffer(8));
    expect((markHeadroom(own) as unknown as Record<symbol, boolean>)[HEADROOM]).toBeUndefined();
  });

  it('encodes a read reply around data read into a reserved buffer without copying it', () => {
    const len = 256 * 1024;
    const data = allocReadBuffer(len);
    randomBytes(len).copy(data);
    const crcs = blockCrcs(data);
    const wire = encodeReadReply({ offset: 3 * 1024 * 1024, data, crcs, chunkSize: 64 * 1024 * 1024 });
    expect(wire.buffer).toBe(data.buffer); // the same memory: nothing copied
    expect(wire.byteOffset).toBeGreaterThanOrEqual(FRAME_HEADER_BYTES);
    expect(wire.byteOffset).toBeLessThan(READ_REPLY_RESERVE);
    const m = decodeRead(wire);
    expect(m.data.equals(data)).toBe(true);
    expect(m.crcs).toEqual(crcs);
    expect(m.offset).toBe(String(3 * 1024 * 1024));
    expect(m.chunkSize).toBe(String(64 * 1024 * 1024));
  });

  it('encodes a read reply for any other buffer by copying (short reads, pooled buffers)', () => {
    const data = Buffer.from('short tail');
    const m = decodeRead(encodeReadReply({ offset: 0, data, crcs: blockCrcs(data), chunkSize: 10 }));
    expect(m.data.toString()).toBe('short tail');
    expect(m.crcs).toEqual(blockCrcs(data));
  });

  it('groups pieces into messages of at most the limit, slicing big ones, copying none', () => {
    const a = randomBytes(300);
    const b = randomBytes(300);
    const c = randomBytes(1000);
    const groups = groupParts([a, b, c], 512);
    expect(groups.map((g) => g.length)).toEqual([512, 512, 512, 64]);
    expect(Buffer.concat(groups.flatMap((g) => g.parts)).equals(Buffer.concat([a, b, c]))).toBe(true);
    for (const g of groups) expect(g.parts.reduce((n, p) => n + p.length, 0)).toBe(g.length);
    expect(groups[0].parts[0]).toBe(a);
    expect(groupParts([], 512)).toEqual([]);
  });
});
