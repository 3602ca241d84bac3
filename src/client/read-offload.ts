import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DfsError, errorFromWire } from '../rpc/errors';
import type { ReadChunkRequest } from '../rpc/gen/dfs/ReadChunkRequest';
import type { TlsConfig } from '../rpc/tls';
import type { VerifiedPiece } from './verified-read';

export interface ReadRequestMessage {
  id: number;
  address: string;
  request: ReadChunkRequest;
  deadlineMs: number;
}

export interface ReadReplyMessage {
  id: number;
  pieces?: { offset: number; badBlock: number; buffer: ArrayBufferLike; byteOffset: number; length: number }[];
  error?: { errno: string; message: string };
}

/**
 * Verified chunk reads larger than one session message on a worker thread
 * (smaller ones stay on the main thread, see DataNodePool.readVerified).
 * The mount serves FUSE on its main
 * thread; receiving gRPC messages, checking CRCs and collecting the garbage
 * they leave is most of a read's CPU, and on the main thread it delays every
 * other FUSE request. The worker does that work and hands the bytes over
 * without copying them (their ArrayBuffers are transferred).
 */
export class ReadOffload {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (p: VerifiedPiece[]) => void; reject: (e: DfsError) => void }
  >();
  private nextId = 1;
  private broken: DfsError | undefined;
  /** Reads answered by the worker (observability and tests). */
  served = 0;

  constructor(tls: TlsConfig | undefined) {
    this.worker = new Worker(path.join(__dirname, 'read-worker.js'), { workerData: { tls } });
    // The worker never keeps a process alive by itself (the mount's own handles do).
    this.worker.unref();
    this.worker.on('message', (m: ReadReplyMessage) => this.settle(m));
    this.worker.on('error', (err) => this.fail(new DfsError('EIO', `read worker failed: ${err.message}`)));
    this.worker.on('exit', (code) => this.fail(new DfsError('EIO', `read worker exited (${code})`)));
  }

  /** False once the worker died: callers read in-process from then on. */
  get usable(): boolean {
    return this.broken === undefined;
  }

  read(address: string, request: ReadChunkRequest, deadlineMs: number): Promise<VerifiedPiece[]> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const msg: ReadRequestMessage = { id, address, request, deadlineMs };
      this.worker.postMessage(msg);
    });
  }

  close(): void {
    this.fail(new DfsError('EIO', 'client closed'));
    void this.worker.terminate();
  }

  private settle(m: ReadReplyMessage): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error) {
      p.reject(errorFromWire(m.error.errno, m.error.message));
      return;
    }
    this.served++;
    p.resolve(
      (m.pieces ?? []).map((x) => ({
        offset: x.offset,
        badBlock: x.badBlock,
        data: Buffer.from(x.buffer, x.byteOffset, x.length),
      })),
    );
  }

  private fail(err: DfsError): void {
    this.broken ??= err;
    const open = [...this.pending.values()];
    this.pending.clear();
    for (const p of open) p.reject(err);
  }
}
