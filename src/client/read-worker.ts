import { parentPort, workerData } from 'node:worker_threads';
import { asDfsError } from '../rpc/errors';
import { channelCredentials, type TlsConfig } from '../rpc/tls';
import { DataNodePool } from './data-nodes';
import type { ReadRequestMessage, ReadReplyMessage } from './read-offload';
import { readVerified } from './verified-read';

/**
 * The worker side of read-offload.ts: its own channels to the data nodes,
 * verified reads, and the bytes handed back without a copy when they own
 * their memory.
 */
const port = parentPort;
if (!port) throw new Error('read-worker.js runs as a worker thread (see read-offload.ts)');
const pool = new DataNodePool(channelCredentials((workerData as { tls?: TlsConfig }).tls));

port.on('message', (m: ReadRequestMessage) => {
  readVerified(pool, m.address, m.request, m.deadlineMs).then(
    (pieces) => {
      const transfer: ArrayBuffer[] = [];
      const out = pieces.map((p) => {
        // A message buffer of its own (large reads) moves; a slice of a shared pool is copied.
        const ab = p.data.buffer as ArrayBuffer;
        const owned = ab.byteLength >= 64 * 1024 && ab.byteLength - p.data.length <= 4096;
        const data = owned ? p.data : Buffer.from(p.data);
        if (!transfer.includes(data.buffer as ArrayBuffer)) transfer.push(data.buffer as ArrayBuffer);
        return {
          offset: p.offset,
          badBlock: p.badBlock,
          buffer: data.buffer,
          byteOffset: data.byteOffset,
          length: data.length,
        };
      });
      const reply: ReadReplyMessage = { id: m.id, pieces: out };
      port.postMessage(reply, transfer);
    },
    (err: unknown) => {
      const e = asDfsError(err);
      const reply: ReadReplyMessage = { id: m.id, error: { errno: e.errno, message: e.detail } };
      port.postMessage(reply);
    },
  );
});
